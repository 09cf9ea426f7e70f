/** Every path the server answers, with its methods: the `route` label and log field (a bounded set, never the raw path). */
const ROUTES: Record<string, readonly string[]> = {
  '/get_image': ['GET', 'HEAD'],
  '/get_thumbnail': ['GET', 'HEAD'],
  '/image_info': ['GET', 'HEAD'],
  '/delete_image': ['DELETE'],
  '/alternative_clouds': ['GET', 'HEAD'],
  '/fire_and_forget': ['POST'],
  '/fire_and_forget/:batch': ['GET', 'HEAD'],
  '/healthz': ['GET', 'HEAD'],
  '/readyz': ['GET', 'HEAD'],
  '/metrics': ['GET', 'HEAD'],
  '/status': ['GET', 'HEAD'],
};

/** The route template of a request path (`/fire_and_forget/<id>` → `/fire_and_forget/:batch`), or `other`. */
export function routeLabel(path: string): string {
  if (Object.prototype.hasOwnProperty.call(ROUTES, path)) return path;
  if (/^\/fire_and_forget\/[^/]+$/.test(path)) return '/fire_and_forget/:batch';
  return 'other';
}
