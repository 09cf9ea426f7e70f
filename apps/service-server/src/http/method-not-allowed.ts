import type { Express, RequestHandler } from 'express';
import { ImageCloudError } from '@image-cloud/errors';

/** What this module reads of express's router: its layers, nested routers, and routes with their methods. */
interface RouterLayer {
  match(path: string): boolean;
  route?: { methods: Record<string, boolean> };
  handle?: { stack?: RouterLayer[] };
}

function allowedMethods(stack: readonly RouterLayer[], path: string, found: Set<string>): void {
  for (const layer of stack) {
    if (layer.route) {
      if (layer.match(path)) for (const [method, on] of Object.entries(layer.route.methods)) if (on) found.add(method.toUpperCase());
    } else if (layer.handle?.stack) {
      allowedMethods(layer.handle.stack, path, found);
    }
  }
}

/**
 * A known path asked with a method it does not serve is 405 `method_not_allowed` with an `Allow`
 * header, not 404. The methods are read from the app's own routes, so a new route is covered
 * without a list kept by hand. Goes after every route, before the 404.
 */
export function methodNotAllowed(app: Express): RequestHandler {
  return (req, res, next) => {
    const found = new Set<string>();
    allowedMethods((app as unknown as { router: { stack: RouterLayer[] } }).router.stack, req.path, found);
    if (found.size === 0) return next();
    if (found.has('GET')) found.add('HEAD');
    const allow = [...found].sort().join(', ');
    res.setHeader('Allow', allow);
    next(new ImageCloudError('method_not_allowed', `${req.method} is not allowed on ${req.path}; use ${allow}.`));
  };
}
