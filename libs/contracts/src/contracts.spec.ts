import {
  canonicalTransform,
  defaultQualityOf,
  fetchJobFor,
  fetchJobIdOf,
  fetchJobSchema,
  originalKeyOf,
  renderJobFor,
  renderJobIdOf,
  renderJobSchema,
  variantKeyOf,
  withEffectiveQuality,
} from './index';

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

  it('keys a quality only when it changes the output, and keeps the keys of variants made before quality existed', () => {
    const plain = { width: 200, fit: 'inside', format: 'jpeg' } as const;
    expect(canonicalTransform(plain)).toBe('v1,w=200,h=,fit=inside,f=jpeg');
    expect(canonicalTransform({ ...plain, quality: 40 })).toBe('v1,w=200,h=,fit=inside,f=jpeg,q=40');
    expect(withEffectiveQuality({ ...plain, quality: 80 }, 80)).toEqual(plain);
    expect(withEffectiveQuality({ ...plain, quality: 40 }, 80)).toEqual({ ...plain, quality: 40 });
    expect(withEffectiveQuality({ ...plain, format: 'avif', quality: 50 }, 80)).toEqual({ ...plain, format: 'avif' });
    expect(withEffectiveQuality({ ...plain, format: 'png', quality: 40 }, 80)).toEqual({ ...plain, format: 'png' });
    expect(withEffectiveQuality({ ...plain, format: 'bmp', quality: 40 }, 80)).toEqual({ ...plain, format: 'bmp' });
    expect([defaultQualityOf('jpeg', 80), defaultQualityOf('webp', 80), defaultQualityOf('avif', 80), defaultQualityOf('avif', 20)]).toEqual([80, 80, 50, 1]);
  });

  it('gives a fetch job asking for placeholders its own id, so a finished plain fetch never stands in for it', () => {
    const plain = fetchJobFor(url, 'sync');
    const withPlaceholders = fetchJobFor(url, 'sync', { placeholders: true });
    expect(plain).not.toHaveProperty('placeholders');
    expect(fetchJobSchema.parse(withPlaceholders).placeholders).toBe(true);
    expect(fetchJobIdOf(withPlaceholders)).toBe(`${fetchJobIdOf(plain)}-placeholders`);
    expect(fetchJobIdOf(withPlaceholders)).not.toContain(':');
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
