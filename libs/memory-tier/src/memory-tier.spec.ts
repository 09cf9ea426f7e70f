import { MemoryTier } from './memory-tier';

function tierOf(maxBytes: number, options: { maxObjectBytes?: number; maxAgeMs?: number } = {}) {
  let clock = 1_000;
  const tier = new MemoryTier<string>({ maxBytes, ...options, now: () => clock });
  return { tier, advance: (ms: number) => (clock += ms) };
}

const bytes = (length: number) => Buffer.alloc(length, 7);

it('keeps objects and evicts the least recently used first when over its bytes', () => {
  const { tier } = tierOf(300);
  expect(tier.fill(tier.fillTicket(), 'a', 'v1', bytes(100), 'a1')).toBe(true);
  expect(tier.fill(tier.fillTicket(), 'a', 'v2', bytes(100), 'a2')).toBe(true);
  expect(tier.fill(tier.fillTicket(), 'b', 'v1', bytes(100), 'b1')).toBe(true);
  expect(tier.get('a', 'v1')?.meta).toBe('a1'); // now the most recently used
  tier.fill(tier.fillTicket(), 'c', 'v1', bytes(100), 'c1');
  expect(tier.get('a', 'v2')).toBeUndefined();
  expect([tier.get('a', 'v1')?.meta, tier.get('b', 'v1')?.meta, tier.get('c', 'v1')?.meta]).toEqual(['a1', 'b1', 'c1']);
  expect(tier.bytes).toBe(300);
  expect(tier.size).toBe(3);
});

it('refuses objects over the per-object cap, and everything when off', () => {
  expect(tierOf(1000, { maxObjectBytes: 10 }).tier.fill(0, 'a', 'v', bytes(11), 'x')).toBe(false);
  const off = tierOf(0).tier;
  expect(off.enabled).toBe(false);
  expect(off.fill(off.fillTicket(), 'a', 'v', bytes(1), 'x')).toBe(false);
});

it('replaces an object filled again, counting its bytes once', () => {
  const { tier } = tierOf(1000);
  tier.fill(tier.fillTicket(), 'a', 'v', bytes(100), 'old');
  tier.fill(tier.fillTicket(), 'a', 'v', bytes(50), 'new');
  expect(tier.get('a', 'v')?.meta).toBe('new');
  expect(tier.bytes).toBe(50);
});

it('drops every object of an invalidated original, and refuses fills read before any invalidation', () => {
  const { tier } = tierOf(1000);
  tier.fill(tier.fillTicket(), 'a', 'v1', bytes(10), 'a1');
  tier.fill(tier.fillTicket(), 'a', 'original', bytes(10), 'a0');
  tier.fill(tier.fillTicket(), 'b', 'v1', bytes(10), 'b1');
  const readBeforeDelete = tier.fillTicket();
  tier.invalidateOriginal('a');
  expect(tier.get('a', 'v1')).toBeUndefined();
  expect(tier.get('a', 'original')).toBeUndefined();
  expect(tier.get('b', 'v1')?.meta).toBe('b1');
  expect(tier.fill(readBeforeDelete, 'a', 'v1', bytes(10), 'stale')).toBe(false);
  expect(tier.get('a', 'v1')).toBeUndefined();
  expect(tier.bytes).toBe(10);
});

it('clears everything, refusing fills read before', () => {
  const { tier } = tierOf(1000);
  tier.fill(tier.fillTicket(), 'a', 'v1', bytes(10), 'a1');
  const ticket = tier.fillTicket();
  tier.clear();
  expect(tier.get('a', 'v1')).toBeUndefined();
  expect(tier.fill(ticket, 'b', 'v1', bytes(10), 'b1')).toBe(false);
  expect([tier.size, tier.bytes]).toEqual([0, 0]);
});

it('stops serving an entry past its maximum age', () => {
  const { tier, advance } = tierOf(1000, { maxAgeMs: 500 });
  tier.fill(tier.fillTicket(), 'a', 'v1', bytes(10), 'a1');
  advance(500);
  expect(tier.get('a', 'v1')?.meta).toBe('a1');
  advance(1);
  expect(tier.get('a', 'v1')).toBeUndefined();
  expect(tier.size).toBe(0);
});

it('keeps a slice of a larger memory as bytes of its own, so it holds no more than it counts', () => {
  const { tier } = tierOf(1000);
  const pooled = Buffer.from('small object'); // a slice of the shared pool
  expect(pooled.buffer.byteLength).toBeGreaterThan(pooled.length);
  tier.fill(tier.fillTicket(), 'a', 'v', pooled, 'meta');
  const kept = tier.get('a', 'v')!.bytes;
  expect(kept.equals(pooled)).toBe(true);
  expect(kept.buffer.byteLength).toBe(kept.length);
  const own = Buffer.allocUnsafeSlow(100);
  tier.fill(tier.fillTicket(), 'b', 'v', own, 'meta');
  expect(tier.get('b', 'v')!.bytes).toBe(own);
});
