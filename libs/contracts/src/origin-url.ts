import { z } from 'zod';

/** Longest origin URL accepted. */
export const MAX_URL_LENGTH = 4096;

export type OriginUrlCheck = { ok: true; url: string } | { ok: false; reason: string };

/** Shows a client-supplied value in a reason, shortened so messages stay readable. */
function quote(value: string): string {
  return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value);
}

export function isHttpUrl(url: URL): boolean {
  return url.protocol === 'http:' || url.protocol === 'https:';
}

/** RFC 3986 unreserved characters: percent-encoding them changes nothing, so they are decoded. */
const UNRESERVED = /[A-Za-z0-9\-._~]/;

/** Path percent-escapes: unreserved characters decoded, every other escape with upper-case hex. */
function normalisePercentEncoding(path: string): string {
  return path.replace(/%([0-9A-Fa-f]{2})/g, (_escape, hex: string) => {
    const character = String.fromCharCode(parseInt(hex, 16));
    return UNRESERVED.test(character) ? character : `%${hex.toUpperCase()}`;
  });
}

/**
 * The one spelling of an http(s) URL that originals are keyed by, so `HTTP://Host:80/a` and
 * `http://host/a` are one original, downloaded once. The WHATWG parser lower-cases scheme and host,
 * drops default ports, removes dot segments and repairs `http:/host/a` and `http:host/a` to
 * `http://host/a` (as browsers do); path escapes are then normalised. The query is kept as written
 * (an origin may give meaning to its order and encoding); the fragment is dropped: it never reaches
 * the origin. A value that does not parse is returned unchanged (validateOriginUrl refuses it).
 */
export function canonicalOriginUrl(value: string): string {
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    return value;
  }
  if (!isHttpUrl(parsed)) return value;
  parsed.hash = '';
  // `search` hides an empty query; `http://h/a?` is kept as written, like any other query.
  const query = parsed.search === '' && parsed.href.endsWith('?') ? '?' : parsed.search;
  const auth = parsed.username || parsed.password ? `${parsed.username}${parsed.password ? `:${parsed.password}` : ''}@` : '';
  return `${parsed.protocol}//${auth}${parsed.host}${normalisePercentEncoding(parsed.pathname)}${query}`;
}

/**
 * Checks an origin URL: absolute, http or https, with a host, not too long. The reason completes a
 * sentence about the value (`Parameter "url" <reason>.`). `maxLength` is for URLs that carry an
 * origin URL inside them (a peer's get_image URL), which may be longer.
 */
export function validateOriginUrl(value: string, options: { maxLength?: number } = {}): OriginUrlCheck {
  const maxLength = options.maxLength ?? MAX_URL_LENGTH;
  if (value.trim() === '') return { ok: false, reason: 'is empty' };
  if (value.length > maxLength) return { ok: false, reason: `is longer than ${maxLength} characters` };
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    return { ok: false, reason: `must be an absolute http(s) URL, but received ${quote(value)}` };
  }
  if (!isHttpUrl(parsed)) {
    return { ok: false, reason: `must use http or https, but uses ${quote(parsed.protocol.replace(/:$/, ''))}` };
  }
  if (!parsed.hostname) return { ok: false, reason: 'has no host name' };
  return { ok: true, url: value };
}

/** A string validateOriginUrl accepts: render job URLs, and CONFIG's `peers` (other image clouds). */
export const originUrlSchema = z.string().superRefine((value, context) => {
  const checked = validateOriginUrl(value);
  if (!checked.ok) context.addIssue({ code: 'custom', message: `expected an http(s) URL: the URL ${checked.reason}` });
});

/** The base URL of an image cloud (a peer, or the cloud the CLI talks to) without a trailing slash, so paths append cleanly. */
export function cloudBaseUrl(url: string): string {
  return url.replace(/\/$/, '');
}

/** What a worker asks a peer cloud for: the original, only if the peer has it cached (it never downloads for us). */
export function peerImageUrl(peer: string, originUrl: string): string {
  return `${cloudBaseUrl(peer)}/get_image?url=${encodeURIComponent(originUrl)}&only_send_if_local=true`;
}
