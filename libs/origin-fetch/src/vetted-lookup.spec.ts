import type { LookupAddress } from 'node:dns';
import { BlockedAddressError } from './blocked-address-error';
import { createVettedLookup, type ResolveAll } from './vetted-lookup';

/** A resolver answering from a table (async, like dns.lookup), recording the options it was given. */
function tableResolver(table: Record<string, LookupAddress[]>, seen: unknown[] = []): ResolveAll {
  return (hostname, options, callback) => {
    seen.push(options);
    setImmediate(() => {
      const entries = table[hostname];
      if (!entries) {
        callback(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' }), []);
        return;
      }
      callback(null, entries.filter((e) => !options.family || e.family === options.family));
    });
  };
}

const table: Record<string, LookupAddress[]> = {
  'public.test': [
    { address: '93.184.215.14', family: 4 },
    { address: '2606:2800:21f:cb07:6820:80da:af6b:8b2c', family: 6 },
  ],
  'mixed.test': [
    { address: '127.0.0.1', family: 4 },
    { address: '8.8.8.8', family: 4 },
    { address: '::1', family: 6 },
  ],
  'private.test': [
    { address: '10.0.0.5', family: 4 },
    { address: 'fd00::5', family: 6 },
  ],
  'metadata.test': [{ address: '169.254.169.254', family: 4 }],
  'mapped.test': [{ address: '::ffff:127.0.0.1', family: 6 }],
};

function call(
  lookup: ReturnType<typeof createVettedLookup>,
  hostname: string,
  options?: Parameters<ReturnType<typeof createVettedLookup>>[1],
): Promise<{ error: NodeJS.ErrnoException | null; address: unknown; family?: number }> {
  return new Promise((resolve) => {
    const callback = (error: NodeJS.ErrnoException | null, address: unknown, family?: number) => resolve({ error, address, family });
    if (options === undefined) lookup(hostname, callback);
    else lookup(hostname, options, callback);
  });
}

describe('createVettedLookup', () => {
  const lookup = createVettedLookup([], tableResolver(table));

  it('returns the first vetted address when all is not set', async () => {
    expect(await call(lookup, 'public.test', {})).toEqual({ error: null, address: '93.184.215.14', family: 4 });
    expect(await call(lookup, 'public.test')).toEqual({ error: null, address: '93.184.215.14', family: 4 });
  });

  it('honours all: true and returns every vetted address', async () => {
    const result = await call(lookup, 'public.test', { all: true });
    expect(result.error).toBeNull();
    expect(result.address).toEqual(table['public.test']);
  });

  it('honours family given as a number or an option', async () => {
    expect((await call(lookup, 'public.test', 6)).address).toBe('2606:2800:21f:cb07:6820:80da:af6b:8b2c');
    expect((await call(lookup, 'public.test', { family: 6 })).family).toBe(6);
    expect(await call(lookup, 'public.test', { family: 4, all: true })).toMatchObject({
      address: [{ address: '93.184.215.14', family: 4 }],
    });
  });

  it('asks the resolver for every address, passing the caller options through', async () => {
    const seen: unknown[] = [];
    const spyLookup = createVettedLookup([], tableResolver(table, seen));
    await call(spyLookup, 'public.test', { family: 4, hints: 0 });
    expect(seen).toEqual([{ family: 4, hints: 0, all: true }]);
  });

  it('drops blocked addresses from a mixed answer', async () => {
    expect((await call(lookup, 'mixed.test', { all: true })).address).toEqual([{ address: '8.8.8.8', family: 4 }]);
    expect((await call(lookup, 'mixed.test', {})).address).toBe('8.8.8.8');
  });

  it.each(['private.test', 'metadata.test', 'mapped.test'])('fails with BlockedAddressError when nothing is left (%s)', async (host) => {
    for (const options of [{}, { all: true }]) {
      const { error } = await call(lookup, host, options);
      expect(error).toBeInstanceOf(BlockedAddressError);
      expect(error?.code).toBe(BlockedAddressError.CODE);
      expect(error?.message).not.toMatch(/\d+\.\d+|::/);
    }
  });

  it('lets allow-listed private addresses through', async () => {
    const internal = createVettedLookup(['10.0.0.0/8'], tableResolver(table));
    expect(await call(internal, 'private.test', { all: true })).toMatchObject({
      error: null,
      address: [{ address: '10.0.0.5', family: 4 }],
    });
  });

  it('passes resolver errors through', async () => {
    const { error } = await call(lookup, 'missing.test', { all: true });
    expect(error?.code).toBe('ENOTFOUND');
  });

  it('uses the system resolver by default (localhost is loopback, so blocked)', async () => {
    const { error } = await call(createVettedLookup([]), 'localhost', { all: true });
    expect(error?.code).toBe(BlockedAddressError.CODE);
    const allowed = await call(createVettedLookup(['127.0.0.0/8', '::1/128']), 'localhost', { all: true });
    expect(allowed.error).toBeNull();
    expect((allowed.address as LookupAddress[]).length).toBeGreaterThan(0);
  });
});
