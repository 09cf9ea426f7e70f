import { TenantDirectory } from './tenant-directory';

describe('TenantDirectory', () => {
  const directory = new TenantDirectory({
    search: { token: 'search-token-0123456789', requestsPerSecond: 50, burst: 100 },
    crawler: { token: 'crawler-token-0123456789', requestsPerSecond: 5, burst: 10 },
  });

  it('finds a tenant by its exact token only', () => {
    expect(directory.byToken('crawler-token-0123456789')).toEqual({ name: 'crawler', requestsPerSecond: 5, burst: 10 });
    expect(directory.byToken('crawler-token-012345678')).toBeNull();
    expect(directory.byToken('')).toBeNull();
  });

  it('is open only without tenants', () => {
    expect(directory.isOpen).toBe(false);
    expect(new TenantDirectory({}).isOpen).toBe(true);
  });

  it('finds every tenant by its token and only by it, admins apart', () => {
    const tenants = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`t${i}`, { token: `token-${i}-0123456789`, requestsPerSecond: i + 1, burst: 2 * i + 1 }]));
    const many = new TenantDirectory(tenants, ['admin-token-0123456789']);
    for (let i = 0; i < 50; i++) {
      expect(many.byToken(`token-${i}-0123456789`)).toEqual({ name: `t${i}`, requestsPerSecond: i + 1, burst: 2 * i + 1 });
      expect(many.byName(`t${i}`)).toEqual({ name: `t${i}`, requestsPerSecond: i + 1, burst: 2 * i + 1 });
      expect(many.isAdmin(`token-${i}-0123456789`)).toBe(false);
    }
    expect(many.byToken('admin-token-0123456789')).toBeNull();
    expect(many.isAdmin('admin-token-0123456789')).toBe(true);
    expect(many.byToken('token-1-0123456789 ')).toBeNull();
    expect(many.byToken('TOKEN-1-0123456789')).toBeNull();
    expect(many.byName('t50')).toBeNull();
    expect(many.byName('toString')).toBeNull();
  });

  it('answers the tenant configured first when two tenants share a token', () => {
    const shared = new TenantDirectory({
      first: { token: 'shared-token-0123456789', requestsPerSecond: 1, burst: 1 },
      second: { token: 'shared-token-0123456789', requestsPerSecond: 2, burst: 2 },
    });
    expect(shared.byToken('shared-token-0123456789')).toEqual({ name: 'first', requestsPerSecond: 1, burst: 1 });
    expect(shared.byName('second')).toEqual({ name: 'second', requestsPerSecond: 2, burst: 2 });
  });
});

