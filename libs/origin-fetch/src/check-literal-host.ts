import { isIP } from 'node:net';
import { ImageCloudError } from '@image-cloud/errors';
import { isAllowedBy, type ParsedCidr } from './address-policy';

/**
 * IP-literal hosts (`http://127.0.0.1/`, `http://[::1]/`) never reach the DNS lookup, so they are
 * checked here, before the first request and on every redirect hop. WHATWG URL parsing has already
 * canonicalised odd forms (`http://2130706433/`, `http://0x7f.1/` → 127.0.0.1). Host names are left
 * to the vetted lookup.
 */
export function isBlockedLiteral(url: URL, allowList: readonly ParsedCidr[]): boolean {
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  return isIP(host) !== 0 && !isAllowedBy(host, allowList);
}

/**
 * The one `origin_forbidden` error, whether a literal or the vetted lookup refused the address.
 * After a redirect the target is not named: the origin chose it, and it may be an internal address.
 */
export function blockedAddress(where: string, options: { viaRedirect?: boolean; cause?: unknown } = {}): ImageCloudError {
  const what = options.viaRedirect ? 'redirected to a host that resolves' : 'resolves';
  return new ImageCloudError('origin_forbidden', `The origin ${where} ${what} to a blocked (private/loopback/link-local) address.`, {
    ...(options.cause === undefined ? {} : { cause: options.cause }),
  });
}
