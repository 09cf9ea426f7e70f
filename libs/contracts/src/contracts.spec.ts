import { canonicalTransform, originalKeyOf, renderJobFor, renderJobIdOf, renderJobSchema, variantKeyOf } from './index';

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

  it('makes BullMQ-safe job ids that differ for local-only jobs', () => {
    const job = { originalKey: originalKeyOf(url), variantKey: null, allowDownload: true, lane: 'sync-normal' as const };
    expect(renderJobIdOf(job)).not.toContain(':');
    expect(renderJobIdOf(job)).not.toBe(renderJobIdOf({ ...job, allowDownload: false }));
    expect(renderJobIdOf(job)).not.toBe(renderJobIdOf({ ...job, lane: 'async-normal' }));
    expect(renderJobIdOf(job)).toBe(renderJobIdOf({ ...job, lane: 'sync-big' }));
  });

  it('validates render job payloads', () => {
    const valid = {
      url,
      originalKey: originalKeyOf(url),
      transform: { width: 10, fit: 'inside', format: 'png' },
      variantKey: variantKeyOf(url, { width: 10, fit: 'inside', format: 'png' }),
      allowDownload: true,
      useAlternativeClouds: false,
      lane: 'sync-normal',
      enqueuedAt: 1,
    };
    expect(renderJobSchema.safeParse(valid).success).toBe(true);
    expect(renderJobSchema.safeParse({ ...valid, variantKey: null }).success).toBe(false);
    expect(renderJobSchema.safeParse({ ...valid, lane: 'fast' }).success).toBe(false);
    expect(renderJobSchema.safeParse({ ...valid, transform: { fit: 'inside', format: 'png' } }).success).toBe(false);
  });

  it('builds valid render jobs with their keys derived from the URL and the transform', () => {
    const transform = { width: 10, fit: 'inside' as const, format: 'png' as const };
    const render = renderJobFor(url, 'sync-normal', { transform, allowDownload: false });
    expect(render).toMatchObject({ originalKey: originalKeyOf(url), variantKey: variantKeyOf(url, transform), allowDownload: false, useAlternativeClouds: false });
    expect(renderJobSchema.safeParse(render).success).toBe(true);
    const prefetch = renderJobFor(url, 'async-normal', { batchId: 'b-1' });
    expect(prefetch).toMatchObject({ transform: null, variantKey: null, allowDownload: true, batchId: 'b-1' });
    expect(renderJobSchema.safeParse(prefetch).success).toBe(true);
  });
});
