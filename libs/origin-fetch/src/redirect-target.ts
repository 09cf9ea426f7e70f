import type { IncomingMessage } from 'node:http';

/** The user info of the URL first asked for, as it is carried along a redirect chain. */
export interface Credentials {
  username: string;
  password: string;
}

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

/** The Location of a redirect that is to be followed, or undefined for any other answer. */
export function redirectLocation(response: IncomingMessage): string | undefined {
  const location = response.headers.location;
  return location && REDIRECT_STATUSES.has(response.statusCode ?? 0) ? location : undefined;
}

/**
 * The URL a Location leads to, resolved against the URL that answered it. Node reads header bytes
 * as latin1; re-reading them as UTF-8 recovers a non-ASCII Location an origin sent unescaped.
 * Credentials of the first URL stay with its host: they go along to the same host and port and are
 * never sent to another one. Throws (TypeError/URIError) on a Location that is not a valid URL.
 */
export function resolveRedirect(location: string, current: URL, credentials: Credentials): { url: URL; credentials: Credentials } {
  const url = new URL(Buffer.from(location, 'latin1').toString(), current);
  decodeURI(url.href);
  if (url.hostname !== current.hostname || url.port !== current.port) return { url, credentials: { username: '', password: '' } };
  url.username = credentials.username;
  url.password = credentials.password;
  return { url, credentials };
}
