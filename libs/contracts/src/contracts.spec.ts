import { canonicalTransform, fetchJobFor, fetchJobIdOf, fetchJobSchema, originalKeyOf, renderJobFor, renderJobIdOf, renderJobSchema, variantKeyOf } from './index';

describe('keys and ids', () => {
  const url = 'https://images.example-shop.de/p/1.jpg';

  it('derives the original key from the URL alone', () => {
    expect(originalKeyOf(url)).toMatch(/^[0-9a-f]{64}$/);
    expect(originalKeyOf(url)).toBe(originalKeyOf(url));
    expect(originalKeyOf(`${url}?v=2`)).not.toBe(originalKeyOf(url));
  });

  it('gives equal transforms equal canonical forms whatever the key order', () => {
    expect(canonicalTransform({ format: 'jpeg', fit: 'inside', height: 200, width: 100 })).toBe(
      canonicalTransform({ width: 100, height: 200, fit: 'inside', format: 'jpeg' }),
    );
  });

  it('gives every different transform its own variant key', () => {
    const keys = new Set([
      variantKeyOf(url, { width: 200, fit: 'inside', format: 'jpeg' }),
      variantKeyOf(url, { height: 200, fit: 'inside', format: 'jpeg' }),
      variantKeyOf(url, { width: 200, height: 200, fit: 'inside', format: 'jpeg' }),
      variantKeyOf(url, { width: 200, height: 200, fit: 'pad', format: 'jpeg' }),
      variantKeyOf(url, { width: 200, height: 200, fit: 'inside', format: 'webp' }),
    ]);
    expect(keys.size).toBe(5);
  });

  it('makes BullMQ-safe render job ids: one per variant and urgency, the same in both lane sizes', () => {
    const job = renderJobFor(url, 'sync-normal', { width: 10, fit: 'inside', format: 'png' });
    expect(renderJobIdOf(job)).not.toContain(':');
    expect(renderJobIdOf(job)).not.toBe(renderJobIdOf({ ...job, lane: 'async-normal' }));
    expect(renderJobIdOf(job)).toBe(renderJobIdOf({ ...job, lane: 'sync-big' }));
    expect(renderJobIdOf(job)).not.toBe(renderJobIdOf(renderJobFor(url, 'sync-normal', { width: 11, fit: 'inside', format: 'png' })));
  });

  it('makes one fetch job id per original and urgency, whatever the other options', () => {
    const job = fetchJobFor(url, 'sync');
    expect(fetchJobIdOf(job)).not.toContain(':');
    expect(fetchJobIdOf(job)).toBe(fetchJobIdOf(fetchJobFor(url, 'sync', { useAlternativeClouds: true })));
    expect(fetchJobIdOf(job)).not.toBe(fetchJobIdOf(fetchJobFor(url, 'async')));
    expect(fetchJobIdOf(job)).not.toBe(fetchJobIdOf(fetchJobFor(`${url}?v=2`, 'sync')));
  });

  it('validates render job payloads', () => {
    const valid = renderJobFor(url, 'sync-normal', { width: 10, fit: 'inside', format: 'png' });
    expect(renderJobSchema.safeParse(valid).success).toBe(true);
    expect(renderJobSchema.safeParse({ ...valid, variantKey: null }).success).toBe(false);
    expect(renderJobSchema.safeParse({ ...valid, lane: 'fast' }).success).toBe(false);
    expect(renderJobSchema.safeParse({ ...valid, transform: { fit: 'inside', format: 'png' } }).success).toBe(false);
    expect(renderJobSchema.safeParse({ ...valid, extra: 1 }).success).toBe(false);
  });

  it('validates fetch job payloads', () => {
    const valid = fetchJobFor(url, 'async', { batchId: 'b-1' });
    expect(valid).toMatchObject({ originalKey: originalKeyOf(url), useAlternativeClouds: false, urgency: 'async', batchId: 'b-1' });
    expect(fetchJobSchema.safeParse(valid).success).toBe(true);
    expect(fetchJobSchema.safeParse({ ...valid, urgency: 'soon' }).success).toBe(false);
    expect(fetchJobSchema.safeParse({ ...valid, batchId: 'a:b' }).success).toBe(false);
  });
});
