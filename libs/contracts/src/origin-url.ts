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
