import { createHash, timingSafeEqual } from 'node:crypto';

export interface Tenant {
  name: string;
  requestsPerSecond: number;
  burst: number;
}

interface TenantEntry extends Tenant {
  tokenDigest: Buffer;
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/**
 * The tenants of CONFIG, looked up by token. Tokens are compared as sha256 digests with
 * timingSafeEqual, against every tenant without stopping early, so the time taken tells nothing
 * about how much of a token was right. Tokens themselves are not kept.
 */
export class TenantDirectory {
  private readonly entries: TenantEntry[];
  private readonly adminDigests: Buffer[];

  /** `adminTokens`: tokens of operators, the only ones that may delete_image (shared cache, every tenant's images). */
  constructor(
    tenants: Readonly<Record<string, { token: string; requestsPerSecond: number; burst: number }>>,
    adminTokens: readonly string[] = [],
  ) {
    this.adminDigests = adminTokens.map(digest);
    this.entries = Object.entries(tenants).map(([name, tenant]) => ({
      name,
      requestsPerSecond: tenant.requestsPerSecond,
      burst: tenant.burst,
      tokenDigest: digest(tenant.token),
    }));
  }

  /** True when no tenants are configured: the cloud runs open. */
  get isOpen(): boolean {
    return this.entries.length === 0;
  }

  byToken(token: string): Tenant | null {
    const candidate = digest(token);
    let found: TenantEntry | null = null;
    for (const entry of this.entries) {
      if (timingSafeEqual(candidate, entry.tokenDigest) && !found) found = entry;
    }
    return found ? { name: found.name, requestsPerSecond: found.requestsPerSecond, burst: found.burst } : null;
  }

  get hasAdmins(): boolean {
    return this.adminDigests.length > 0;
  }

  /** True for an admin token; compared like tenant tokens, against every admin token. */
  isAdmin(token: string): boolean {
    const candidate = digest(token);
    let found = false;
    for (const adminDigest of this.adminDigests) if (timingSafeEqual(candidate, adminDigest)) found = true;
    return found;
  }

  byName(name: string): Tenant | null {
    const entry = this.entries.find((candidate) => candidate.name === name);
    return entry ? { name: entry.name, requestsPerSecond: entry.requestsPerSecond, burst: entry.burst } : null;
  }
}
