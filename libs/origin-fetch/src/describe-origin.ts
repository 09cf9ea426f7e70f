const MAX_PATH_CHARS = 120;

/**
 * How an origin URL appears in error messages: host (with port) and path, never the query string,
 * fragment or credentials, which may carry secrets. Long paths are shortened.
 */
export function describeOrigin(url: URL): string {
  const path = url.pathname.length > MAX_PATH_CHARS ? `${url.pathname.slice(0, MAX_PATH_CHARS)}…` : url.pathname;
  return `${url.host}${path}`;
}
