/** Every path the server answers, as the `route` label and log field: a bounded set, never the raw path. */
const ROUTES = [
  '/get_image',
  '/get_thumbnail',
  '/image_info',
  '/delete_image',
  '/alternative_clouds',
  '/fire_and_forget',
  '/healthz',
  '/readyz',
  '/metrics',
  '/status',
  '/openapi.json',
];
const BATCH_ROUTE = '/fire_and_forget/:batch';

/** The route template of a request path (`/fire_and_forget/<id>` → `/fire_and_forget/:batch`), or `other`. */
export function routeLabel(path: string): string {
  if (ROUTES.includes(path)) return path;
  if (/^\/fire_and_forget\/[^/]+$/.test(path)) return BATCH_ROUTE;
  return 'other';
}
