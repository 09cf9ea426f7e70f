import { Router } from 'express';
import { type ImageCloudApiOptions, imageCloudOpenApiDocument } from '@image-cloud/openapi';

/** How long clients and caches may keep the document: it changes only with a deploy or a new thumbnailSizes. */
const DOCUMENT_MAX_AGE_SECONDS = 300;

/** GET /openapi.json: the OpenAPI 3.1 document of this server's HTTP API. Public, like the API's shape. */
export function openApiRoutes(options: ImageCloudApiOptions): Router {
  const router = Router();
  const body = JSON.stringify(imageCloudOpenApiDocument(options));
  router.get('/openapi.json', (_req, res) => {
    res.setHeader('Cache-Control', `public, max-age=${DOCUMENT_MAX_AGE_SECONDS}`);
    res.type('json').send(body);
  });
  return router;
}
