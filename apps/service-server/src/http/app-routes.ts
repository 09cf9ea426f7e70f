import type { Express } from 'express';

/** What this module reads of express's router: its layers, nested routers, and routes with their path and methods. */
export interface RouterLayer {
  match(path: string): boolean;
  route?: { path: string; methods: Record<string, boolean> };
  handle?: { stack?: RouterLayer[] };
}

export function routerStackOf(app: Express): RouterLayer[] {
  return (app as unknown as { router: { stack: RouterLayer[] } }).router.stack;
}

/** Every route layer of the app, nested routers included (they are mounted at the root, so their paths are whole). */
export function routeLayersOf(stack: readonly RouterLayer[]): RouterLayer[] {
  return stack.flatMap((layer) => (layer.route ? [layer] : layer.handle?.stack ? routeLayersOf(layer.handle.stack) : []));
}

function methodsOf(layer: RouterLayer): string[] {
  return Object.entries(layer.route?.methods ?? {})
    .filter(([, on]) => on)
    .map(([method]) => method.toUpperCase());
}

/**
 * The methods the app serves on a path, read from its own routes. Express answers HEAD with a GET
 * route (without the body), so a GET brings HEAD along.
 */
export function methodsServedAt(app: Express, path: string): Set<string> {
  const found = new Set(routeLayersOf(routerStackOf(app)).filter((layer) => layer.match(path)).flatMap(methodsOf));
  if (found.has('GET')) found.add('HEAD');
  return found;
}

/** Every `METHOD /path` the app serves (paths in express's form, `/fire_and_forget/:batch`). */
export function servedRoutes(app: Express): string[] {
  const routes = new Set<string>();
  for (const layer of routeLayersOf(routerStackOf(app))) {
    for (const method of methodsOf(layer)) {
      routes.add(`${method} ${layer.route!.path}`);
      if (method === 'GET') routes.add(`HEAD ${layer.route!.path}`);
    }
  }
  return [...routes].sort();
}
