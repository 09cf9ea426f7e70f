import { cachedReading } from './cached-reading';

describe('cachedReading', () => {
  it('reads once per ttl, shares a read in flight, and reads again after a failure', async () => {
    let now = 0;
    let reads = 0;
    let fail = false;
    const read = cachedReading(
      async () => {
        reads++;
        if (fail) throw new Error('redis away');
        return reads;
      },
      1_000,
      () => now,
    );
    expect(await Promise.all([read(), read(), read()])).toEqual([1, 1, 1]);
    now = 999;
    expect(await read()).toBe(1);
    now = 1_000;
    fail = true;
    await expect(read()).rejects.toThrow('redis away');
    fail = false;
    expect(await read()).toBe(3);
    expect(reads).toBe(3);
  });
});
