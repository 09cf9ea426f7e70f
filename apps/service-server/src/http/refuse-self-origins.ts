import { networkInterfaces } from 'node:os';
import type { RequestHandler } from 'express';
import { ImageCloudError } from '@image-cloud/errors';

/** This machine's interface addresses, as URL host names spell them. */
function localAddresses(): Set<string> {
  const addresses = new Set(['localhost', '0.0.0.0', '::']);
  for (const list of Object.values(networkInterfaces())) for (const entry of list ?? []) addresses.add(entry.address.toLowerCase());
  return addresses;
}

function unmapped(address: string | undefined): string {
  return (address ?? '').replace(/^::ffff:/, '').toLowerCase();
}

/** The connection a request came in on, as far as "is this origin us?" goes. */
export interface LocalEnd {
  localPort?: number;
  localAddress?: string;
}

/**
 * An origin URL that points back at this cloud (its own get_image, nested) would make workers wait
 * for themselves: refused with 403 origin_forbidden, unless it is a configured peer. "This cloud"
 * is `selfHosts` (host or host:port) and every address this server listens on (the request's own
 * port on a local address). A DNS name of this machine is caught only when listed in `selfHosts`.
 */
export class SelfOrigins {
  private readonly selfHosts: Set<string>;
  private readonly local = localAddresses();
  private readonly peerHosts: Set<string>;

  constructor(options: { selfHosts: readonly string[]; peers: readonly string[] }) {
    this.selfHosts = new Set(options.selfHosts.map((host) => host.toLowerCase()));
    this.peerHosts = new Set(options.peers.map((peer) => new URL(peer).host.toLowerCase()));
  }

  /** Whether an origin URL asked for on this connection is this cloud itself (and no peer). */
  refuses(origin: URL, connection: LocalEnd): boolean {
    if (this.peerHosts.has(origin.host.toLowerCase())) return false;
    const host = origin.hostname.replace(/^\[|\]$/g, '').toLowerCase();
    if (this.selfHosts.has(host) || this.selfHosts.has(origin.host.toLowerCase())) return true;
    const port = Number(origin.port || (origin.protocol === 'https:' ? 443 : 80));
    return port === connection.localPort && (this.local.has(host) || host === unmapped(connection.localAddress));
  }
}

/** Refuses (403 origin_forbidden) a request whose `url` parameter is this cloud itself; see SelfOrigins. */
export function refuseSelfOrigins(selfOrigins: SelfOrigins): RequestHandler {
  return (req, _res, next) => {
    const value = req.query['url'];
    if (typeof value !== 'string') return next();
    let origin: URL;
    try {
      origin = new URL(value);
    } catch {
      return next(); // the route's own validation names the problem
    }
    if (selfOrigins.refuses(origin, req.socket)) throw new ImageCloudError('origin_forbidden', 'The origin URL points back at this image cloud; ask for the original URL instead.');
    next();
  };
}
