import { isIP } from 'node:net';
import { ImageCloudError } from '@image-cloud/errors';
import { isAllowedBy, type ParsedCidr } from './address-policy';
import { describeOrigin } from './describe-origin';

/**
 * IP-literal hosts (`http://127.0.0.1/`, `http://[::1]/`) never reach the DNS lookup, so they are
 * checked here, before the first request and on every redirect hop. WHATWG URL parsing has already
 * canonicalised odd forms (`http://2130706433/`, `http://0x7f.1/` → 127.0.0.1). Host names are left
 * to the vetted lookup. Throws `origin_forbidden`.
 */
export function checkLiteralHost(url: URL, allowList: readonly ParsedCidr[]): void {
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  if (isIP(host) !== 0 && !isAllowedBy(host, allowList)) throw blockedAddress(url);
}

export function blockedAddress(url: URL): ImageCloudError {
  return new ImageCloudError(
    'origin_forbidden',
    `The origin ${describeOrigin(url)} resolves to a blocked (private/loopback/link-local) address.`,
  );
}
