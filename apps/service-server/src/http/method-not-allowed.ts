import type { Express, RequestHandler } from 'express';
import { ImageCloudError } from '@image-cloud/errors';
import { methodsServedAt } from './app-routes';

/**
 * A known path asked with a method it does not serve is 405 `method_not_allowed` with an `Allow`
 * header, not 404. The methods are read from the app's own routes, so a new route is covered
 * without a list kept by hand. Goes after every route, before the 404.
 */
export function methodNotAllowed(app: Express): RequestHandler {
  return (req, res, next) => {
    const found = methodsServedAt(app, req.path);
    if (found.size === 0) return next();
    const allow = [...found].sort().join(', ');
    res.setHeader('Allow', allow);
    next(new ImageCloudError('method_not_allowed', `${req.method} is not allowed on ${req.path}; use ${allow}.`));
  };
}
