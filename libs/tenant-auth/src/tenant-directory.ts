import * as crypto from 'node:crypto';

export interface Tenant {
  name: string;
  requestsPerSecond: number;
  burst: number;
}

function digest(text: string): Buffer {
  return crypto.createHash('sha256').update(text, 'utf8').digest();
}

/**
 * The digest as a Map key. crypto.hash (Node 20.12+) is the one-shot form, without a Hash object:
 * about a third of createHash's time for a token; the engines field still allows Node 20.9.
 */
const digestKey: (text: string) => string =
  typeof crypto.hash === 'function' ? (text) => crypto.hash('sha256', text, 'base64') : (text) => digest(text).toString('base64');

/**
 * The tenants of CONFIG, looked up by token. Tokens themselves are not kept, only their sha256
 * digests, and a token is found by its digest in a Map: one hash per lookup however many tenants.
 *
 * Timing: the Map compares the candidate's digest with stored ones, and the time that takes may
 * tell how many leading digest bytes matched. That tells nothing about the token: the digest of a
 * guess is unrelated to how much of the guess was right, and even a fully learnt digest does not
 * give back a token (sha256 preimage resistance). So no constant-time comparison is needed here,
 * unlike comparing tokens themselves, where a matching prefix would leak the secret byte by byte.
 */
export class TenantDirectory {
  private readonly byDigest = new Map<string, Tenant>();
  private readonly byTenantName = new Map<string, Tenant>();
  private readonly adminDigests: Buffer[];

  /** `adminTokens`: tokens of operators, the only ones that may delete_image (shared cache, every tenant's images). */
  constructor(
    tenants: Readonly<Record<string, { token: string; requestsPerSecond: number; burst: number }>>,
    adminTokens: readonly string[] = [],
  ) {
    this.adminDigests = adminTokens.map(digest);
    for (const [name, { token, requestsPerSecond, burst }] of Object.entries(tenants)) {
      // Frozen: one object per tenant answers every lookup, and no caller can change a tenant's limits.
      const tenant: Tenant = Object.freeze({ name, requestsPerSecond, burst });
      const key = digestKey(token);
      // Two tenants with one token: the first one configured wins, as it always has.
      if (!this.byDigest.has(key)) this.byDigest.set(key, tenant);
      this.byTenantName.set(name, tenant);
    }
  }

  /** True when no tenants are configured: the cloud runs open. */
  get isOpen(): boolean {
    return this.byTenantName.size === 0;
  }

  byToken(token: string): Tenant | null {
    return this.byDigest.get(digestKey(token)) ?? null;
  }

  get hasAdmins(): boolean {
    return this.adminDigests.length > 0;
  }

  /** True for an admin token; compared as digests in constant time, against every admin token. */
  isAdmin(token: string): boolean {
    const candidate = digest(token);
    let found = false;
    for (const adminDigest of this.adminDigests) if (crypto.timingSafeEqual(candidate, adminDigest)) found = true;
    return found;
  }

  byName(name: string): Tenant | null {
    return this.byTenantName.get(name) ?? null;
  }
}
