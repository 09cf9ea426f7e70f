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
});
