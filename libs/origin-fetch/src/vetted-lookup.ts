import dns, { type LookupAddress, type LookupAllOptions, type LookupOptions } from 'node:dns';
import { isAllowedBy, parseAllowList } from './address-policy';
import { BlockedAddressError } from './blocked-address-error';

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/** The `lookup` signature net.connect / http.request call: `(hostname, options, callback)`. */
export type VettedLookup = (
  hostname: string,
  options: number | LookupOptions | LookupCallback,
  callback?: LookupCallback,
) => void;

/** Resolves every address of a host: dns.lookup with `{all: true}` semantics. Injectable for tests. */
export type ResolveAll = (
  hostname: string,
  options: LookupAllOptions,
  callback: (error: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void,
) => void;

const systemResolveAll: ResolveAll = (hostname, options, callback) => dns.lookup(hostname, options, callback);

/**
 * A DNS lookup for net/http that resolves the host, drops every address the policy refuses and
 * hands back only vetted ones, so the socket connects to exactly what was checked (no rebinding
 * window between check and connect). Honours `family` and `all` (Node ≥ 20 calls with
 * `{all: true}` for happy-eyeballs). When nothing is left it fails with `BlockedAddressError`.
 */
export function createVettedLookup(allowCidrs: readonly string[], resolveAll: ResolveAll = systemResolveAll): VettedLookup {
  const allowList = parseAllowList(allowCidrs);
  return (hostname, optionsOrCallback, maybeCallback) => {
    const callback = (typeof optionsOrCallback === 'function' ? optionsOrCallback : maybeCallback) as LookupCallback;
    const options =
      typeof optionsOrCallback === 'number'
        ? { family: optionsOrCallback }
        : typeof optionsOrCallback === 'function'
          ? {}
          : (optionsOrCallback ?? {});
    const { all, ...rest } = options as LookupOptions;

    resolveAll(hostname, { ...rest, all: true }, (error, addresses) => {
      if (error) {
        callback(error, all ? [] : '');
        return;
      }
      const vetted = addresses.filter((entry) => isAllowedBy(entry.address, allowList));
      const first = vetted[0];
      if (first === undefined) {
        callback(new BlockedAddressError(), all ? [] : '');
        return;
      }
      if (all) callback(null, vetted);
      else callback(null, first.address, first.family);
    });
  };
}
