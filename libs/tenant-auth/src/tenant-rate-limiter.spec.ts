import { largestLease } from './tenant-rate-limiter';

describe('largestLease', () => {
  it('is one token for tenants below 40 requests per second or with a burst below 20: a Redis call per request, as before', () => {
    expect(largestLease(1, 2)).toBe(1);
    expect(largestLease(39, 1000)).toBe(1);
    expect(largestLease(10_000, 19)).toBe(1);
    expect(largestLease(0.001, 5)).toBe(1);
  });

  it('is what the tenant earns in 50 ms, at most a tenth of its burst', () => {
    expect(largestLease(40, 1000)).toBe(2);
    expect(largestLease(1000, 1000)).toBe(50);
    expect(largestLease(1000, 100)).toBe(10);
    expect(largestLease(10_000, 10_000)).toBe(500);
  });
});
