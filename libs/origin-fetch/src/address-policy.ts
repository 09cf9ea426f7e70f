import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';

/**
 * Which addresses an origin may resolve to (SSRF guard: checked on every DNS answer and every redirect hop).
 *
 * Allowed: public unicast only — IPv4 whose ipaddr.js range is `unicast`; IPv6 whose range is
 * `unicast` *and* that lies in global unicast 2000::/3; NAT64 `64:ff9b::/96` only when the embedded
 * IPv4 is itself public. IPv4-mapped IPv6 (`::ffff:a.b.c.d`) is judged as the IPv4 it carries.
 * Everything else is refused: loopback, RFC1918, link-local (169.254/16 incl. cloud metadata,
 * fe80::/10), CGNAT 100.64/10, unspecified 0/8 and ::, broadcast, multicast, reserved and
 * documentation ranges, ULA fc00::/7, site-local, IPv4-compatible ::/96, 6to4, Teredo,
 * IPv4-translated, local-use NAT64 64:ff9b:1::/48, …
 *
 * An address inside one of `allowCidrs` is allowed whatever its class (internal origins that are
 * explicitly trusted, e.g. "10.1.0.0/16" or "127.0.0.1/32" in tests).
 *
 * Only canonical textual addresses are accepted (as returned by DNS or WHATWG URL parsing);
 * anything `net.isIP` rejects — "127.1", "0x7f.0.0.1" — is not allowed.
 */
export function isAddressAllowed(ip: string, allowCidrs: readonly string[]): boolean {
  return isAllowedBy(ip, parseAllowList(allowCidrs));
}

export type ParsedCidr = [ipaddr.IPv4 | ipaddr.IPv6, number];

/** Parses CIDRs ("10.0.0.0/8", "::1/128"; a bare address means a single host). Throws on a bad entry. */
export function parseAllowList(allowCidrs: readonly string[]): ParsedCidr[] {
  return allowCidrs.map((entry) => {
    const text = entry.trim();
    let cidr: ParsedCidr;
    try {
      if (text.includes('/')) cidr = ipaddr.parseCIDR(text);
      else {
        const address = ipaddr.parse(text);
        cidr = [address, address.kind() === 'ipv4' ? 32 : 128];
      }
    } catch {
      throw new Error(`allowPrivateOrigins entry "${entry}" is not a valid CIDR.`);
    }
    const [address, bits] = cidr;
    // "::ffff:10.0.0.0/104" is the same network as "10.0.0.0/8": compare it in IPv4 form.
    if (address.kind() === 'ipv6' && (address as ipaddr.IPv6).isIPv4MappedAddress() && bits >= 96) {
      return [(address as ipaddr.IPv6).toIPv4Address(), bits - 96];
    }
    return cidr;
  });
}

/** `isAddressAllowed` with an allow list parsed once by `parseAllowList`. */
export function isAllowedBy(ip: string, allowList: readonly ParsedCidr[]): boolean {
  const text = stripBrackets(ip);
  const version = isIP(text);
  if (version === 0) return false;
  let address: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    address = ipaddr.parse(version === 6 ? canonicalIPv6(text) : text);
  } catch {
    return false;
  }
  if (address.kind() === 'ipv6' && (address as ipaddr.IPv6).isIPv4MappedAddress()) {
    address = (address as ipaddr.IPv6).toIPv4Address();
  }
  if (allowList.some(([network, bits]) => network.kind() === address.kind() && address.match(network, bits))) {
    return true;
  }
  return isPublicUnicast(address);
}

const GLOBAL_UNICAST_V6 = ipaddr.parseCIDR('2000::/3');
const NAT64_WELL_KNOWN = ipaddr.parseCIDR('64:ff9b::/96');

function isPublicUnicast(address: ipaddr.IPv4 | ipaddr.IPv6): boolean {
  if (address.kind() === 'ipv4') return address.range() === 'unicast';
  const v6 = address as ipaddr.IPv6;
  if (v6.match(NAT64_WELL_KNOWN)) return isPublicUnicast(embeddedIPv4(v6));
  return v6.range() === 'unicast' && v6.match(GLOBAL_UNICAST_V6);
}

/** The IPv4 address in the low 32 bits (NAT64 /96 embedding). */
function embeddedIPv4(address: ipaddr.IPv6): ipaddr.IPv4 {
  const high = address.parts[6] ?? 0;
  const low = address.parts[7] ?? 0;
  return new ipaddr.IPv4([high >> 8, high & 0xff, low >> 8, low & 0xff]);
}

/**
 * All-hex form of an IPv6 address, zone id dropped. Needed because ipaddr.js reads any embedded
 * dotted quad as IPv4-*mapped* ("::127.0.0.1" → ::ffff:7f00:1), while the socket layer treats it as
 * IPv4-compatible ::7f00:1. WHATWG URL serialises IPv6 hosts in hex only.
 */
function canonicalIPv6(text: string): string {
  const withoutZone = text.split('%')[0] ?? text;
  return new URL(`http://[${withoutZone}]/`).hostname.slice(1, -1);
}

function stripBrackets(ip: string): string {
  return ip.startsWith('[') && ip.endsWith(']') ? ip.slice(1, -1) : ip;
}
