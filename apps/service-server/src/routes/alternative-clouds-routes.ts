import { Router } from 'express';

/** The peer clouds this one asks before an origin when a request says use_alternative_clouds. */
export function alternativeCloudsRoutes(peers: readonly string[]): Router {
  const router = Router();
  router.get('/alternative_clouds', (_req, res) => {
    res.json({ alternative_clouds: peers });
  });
  return router;
}
