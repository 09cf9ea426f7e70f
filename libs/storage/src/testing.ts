import { createHash, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import type { ImageStorage, NewOriginalMeta, NewVariantMeta } from './image-storage';

/** What a conformance run needs: a fresh, empty storage and a way to throw it away. */
export interface StorageUnderTest {
  storage: ImageStorage;
  cleanup: () => Promise<void>;
}

/** A storage key derived from a label, so tests read well and keys never collide by accident. */
export function testKey(label: string): string {
  return createHash('sha256').update(label).digest('hex');
}

/** The strong ETag every backend must compute: the quoted sha256 hex of the bytes. */
export function expectedEtag(bytes: Buffer): string {
  return `"${createHash('sha256').update(bytes).digest('hex')}"`;
}

/** Reads a stream to its end. */
export async function readAll(body: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string));
  return Buffer.concat(chunks);
}

/** Caller-side meta of an original; `width` doubles as a marker telling concurrent writers apart. */
export function sampleOriginalMeta(overrides: Partial<NewOriginalMeta> = {}): NewOriginalMeta {
  return {
    url: 'https://origin.example/cat.jpg',
    contentType: 'image/jpeg',
    originContentType: 'image/jpeg; charset=binary',
    width: 640,
    height: 480,
    format: 'jpeg',
    frames: 1,
    orientation: 6,
    fetchedAt: '2024-05-01T12:00:00.000Z',
    originEtag: 'W/"origin-1"',
    originLastModified: 'Wed, 01 May 2024 11:00:00 GMT',
    ...overrides,
  };
}

/** Caller-side meta of a variant; `width` doubles as a marker telling concurrent writers apart. */
export function sampleVariantMeta(overrides: Partial<NewVariantMeta> = {}): NewVariantMeta {
  return {
    contentType: 'image/webp',
    width: 320,
    height: 240,
    format: 'webp',
    frames: 1,
    createdAt: '2024-05-01T12:00:01.000Z',
    lane: 'normal',
    ...overrides,
  };
}

/** Keys no backend may accept: traversal, wrong case, wrong length, wrong alphabet. */
const INVALID_KEYS: ReadonlyArray<[string, string]> = [
  ['path traversal', '../etc/passwd'],
  ['traversal padded to 64 chars', `../../${'a'.repeat(58)}`],
  ['uppercase hex', testKey('upper').toUpperCase()],
  ['too short', testKey('short').slice(0, 63)],
  ['too long', `${testKey('long')}0`],
  ['empty', ''],
  ['non-hex', 'g'.repeat(64)],
  ['embedded slash', `${testKey('slash').slice(0, 32)}/${testKey('slash').slice(33)}`],
];

/**
 * Defines the behaviour every {@link ImageStorage} backend must have, as a jest `describe` block.
 * `makeStorage` is called before each test and must return an empty storage; `cleanup` after it.
 */
/** Asserts that storage has neither the original nor the variant, through every read it offers. */
export async function expectNoObject(storage: ImageStorage, originalKey: string, variantKey: string): Promise<void> {
  expect(await storage.getOriginalMeta(originalKey)).toBeNull();
  expect(await storage.readOriginal(originalKey)).toBeNull();
  expect(await storage.originalFile(originalKey)).toBeNull();
  expect(await storage.openOriginal(originalKey)).toBeNull();
  expect(await storage.getVariantMeta(originalKey, variantKey)).toBeNull();
  expect(await storage.openVariant(originalKey, variantKey)).toBeNull();
}

export function describeStorageConformance(
  backendName: string,
  makeStorage: () => Promise<StorageUnderTest>,
): void {
  describe(`ImageStorage conformance: ${backendName}`, () => {
    let storage: ImageStorage;
    let cleanup: (() => Promise<void>) | undefined;

    beforeEach(async () => {
      ({ storage, cleanup } = await makeStorage());
    });

    afterEach(async () => {
      await cleanup?.();
      cleanup = undefined;
    });

    const original = testKey('original');
    const otherOriginal = testKey('other original');
    const variant = testKey('variant');
    const otherVariant = testKey('other variant');

    describe('originals', () => {
      it('stores an original and returns the full meta with bytes and a strong etag computed', async () => {
        const bytes = randomBytes(1000);
        const meta = await storage.putOriginal(original, bytes, sampleOriginalMeta());

        expect(meta).toEqual({ ...sampleOriginalMeta(), bytes: 1000, etag: expectedEtag(bytes) });
        expect(meta.etag).toMatch(/^"[0-9a-f]{64}"$/);
        expect(await storage.getOriginalMeta(original)).toEqual(meta);
      });

      it('ignores bytes and etag smuggled into the caller meta', async () => {
        const bytes = randomBytes(10);
        const smuggled = { ...sampleOriginalMeta(), bytes: 999, etag: '"forged"' } as NewOriginalMeta;
        const meta = await storage.putOriginal(original, bytes, smuggled);

        expect(meta.bytes).toBe(10);
        expect(meta.etag).toBe(expectedEtag(bytes));
        expect(await storage.getOriginalMeta(original)).toMatchObject({ bytes: 10, etag: expectedEtag(bytes) });
      });

      it('keeps optional meta fields absent when they were not given', async () => {
        const required = sampleOriginalMeta();
        delete required.originContentType;
        delete required.orientation;
        delete required.originEtag;
        delete required.originLastModified;
        await storage.putOriginal(original, randomBytes(10), required);

        const meta = await storage.getOriginalMeta(original);
        expect(meta).not.toBeNull();
        expect(meta).not.toHaveProperty('orientation');
        expect(meta).not.toHaveProperty('originEtag');
      });

      it('reads back exactly the stored bytes with readOriginal', async () => {
        const bytes = randomBytes(3 * 1024 * 1024 + 17);
        const meta = await storage.putOriginal(original, bytes, sampleOriginalMeta());

        const read = await storage.readOriginal(original);
        expect(read).not.toBeNull();
        expect(read?.meta).toEqual(meta);
        expect(read?.bytes.equals(bytes)).toBe(true);
      });

      it('hands a renderer a local file holding exactly the stored bytes with originalFile', async () => {
        const bytes = randomBytes(1024 * 1024 + 5);
        const meta = await storage.putOriginal(original, bytes, sampleOriginalMeta());

        const file = await storage.originalFile(original);
        expect(file?.meta).toEqual(meta);
        expect((await readFile(file!.path)).equals(bytes)).toBe(true);
      });

      it('streams exactly the stored bytes with openOriginal', async () => {
        // Several MiB so the stream needs many chunks.
        const bytes = randomBytes(3 * 1024 * 1024 + 17);
        const meta = await storage.putOriginal(original, bytes, sampleOriginalMeta());

        const opened = await storage.openOriginal(original);
        expect(opened).not.toBeNull();
        expect(opened?.meta).toEqual(meta);
        const streamed = await readAll(opened!.body);
        expect(streamed.equals(bytes)).toBe(true);
      });

      it('stores an empty object', async () => {
        const empty = Buffer.alloc(0);
        const meta = await storage.putOriginal(original, empty, sampleOriginalMeta());

        expect(meta).toMatchObject({ bytes: 0, etag: expectedEtag(empty) });
        expect((await storage.readOriginal(original))?.bytes.length).toBe(0);
        const opened = await storage.openOriginal(original);
        expect(opened).not.toBeNull();
        expect((await readAll(opened!.body)).length).toBe(0);
      });

      it('gives the same etag to the same bytes and a different one to different bytes', async () => {
        const bytes = randomBytes(100);
        const first = await storage.putOriginal(original, bytes, sampleOriginalMeta());
        const same = await storage.putOriginal(otherOriginal, Buffer.from(bytes), sampleOriginalMeta());
        expect(same.etag).toBe(first.etag);

        const changed = Buffer.from(bytes);
        changed[0] = changed[0]! ^ 0xff;
        const rewritten = await storage.putOriginal(original, changed, sampleOriginalMeta());
        expect(rewritten.etag).not.toBe(first.etag);
        expect(rewritten.etag).toBe(expectedEtag(changed));
      });

      it('replaces bytes and meta when the same key is written again', async () => {
        await storage.putOriginal(original, randomBytes(500), sampleOriginalMeta({ width: 1 }));
        const bytes = randomBytes(200);
        const meta = await storage.putOriginal(original, bytes, sampleOriginalMeta({ width: 2 }));

        expect(await storage.getOriginalMeta(original)).toEqual(meta);
        const read = await storage.readOriginal(original);
        expect(read?.meta).toEqual(meta);
        expect(read?.bytes.equals(bytes)).toBe(true);
        expect((await readAll((await storage.openOriginal(original))!.body)).equals(bytes)).toBe(true);
      });

      it('keeps originals under different keys apart', async () => {
        const a = randomBytes(100);
        const b = randomBytes(200);
        await storage.putOriginal(original, a, sampleOriginalMeta({ url: 'https://origin.example/a' }));
        await storage.putOriginal(otherOriginal, b, sampleOriginalMeta({ url: 'https://origin.example/b' }));

        expect((await storage.readOriginal(original))?.bytes.equals(a)).toBe(true);
        expect((await storage.readOriginal(otherOriginal))?.bytes.equals(b)).toBe(true);
        expect((await storage.getOriginalMeta(otherOriginal))?.url).toBe('https://origin.example/b');
      });
    });

    describe('variants', () => {
      it('stores a variant and returns the full meta with bytes and a strong etag computed', async () => {
        await storage.putOriginal(original, randomBytes(100), sampleOriginalMeta());
        const bytes = randomBytes(2000);
        const meta = await storage.putVariant(original, variant, bytes, sampleVariantMeta());

        expect(meta).toEqual({ ...sampleVariantMeta(), bytes: 2000, etag: expectedEtag(bytes) });
        expect(await storage.getVariantMeta(original, variant)).toEqual(meta);
      });

      it('streams exactly the stored variant bytes', async () => {
        await storage.putOriginal(original, randomBytes(100), sampleOriginalMeta());
        const bytes = randomBytes(1024 * 1024 + 3);
        const meta = await storage.putVariant(original, variant, bytes, sampleVariantMeta());

        const opened = await storage.openVariant(original, variant);
        expect(opened?.meta).toEqual(meta);
        expect((await readAll(opened!.body)).equals(bytes)).toBe(true);
      });

      it('gives a small variant whole as bytes too, when it gives bytes at all, equal to the stream', async () => {
        await storage.putOriginal(original, randomBytes(100), sampleOriginalMeta());
        const bytes = randomBytes(20_000);
        await storage.putVariant(original, variant, bytes, sampleVariantMeta());

        const opened = await storage.openVariant(original, variant);
        if (opened?.bytes !== undefined) expect(opened.bytes.equals(bytes)).toBe(true);
        expect((await readAll(opened!.body)).equals(bytes)).toBe(true);
      });

      it('keeps variants of one original, and the original itself, apart', async () => {
        const originalBytes = randomBytes(100);
        const a = randomBytes(300);
        const b = randomBytes(400);
        await storage.putOriginal(original, originalBytes, sampleOriginalMeta());
        await storage.putVariant(original, variant, a, sampleVariantMeta({ width: 10 }));
        await storage.putVariant(original, otherVariant, b, sampleVariantMeta({ width: 20 }));

        expect((await readAll((await storage.openVariant(original, variant))!.body)).equals(a)).toBe(true);
        expect((await readAll((await storage.openVariant(original, otherVariant))!.body)).equals(b)).toBe(true);
        expect((await storage.getVariantMeta(original, otherVariant))?.width).toBe(20);
        expect((await storage.readOriginal(original))?.bytes.equals(originalBytes)).toBe(true);
        // A variant key belongs to its original: the same key under another original is a different object.
        expect(await storage.getVariantMeta(otherOriginal, variant)).toBeNull();
      });

      it('replaces a variant written again and computes a new etag', async () => {
        await storage.putOriginal(original, randomBytes(100), sampleOriginalMeta());
        const first = await storage.putVariant(original, variant, randomBytes(300), sampleVariantMeta());
        const bytes = randomBytes(301);
        const second = await storage.putVariant(original, variant, bytes, sampleVariantMeta({ lane: 'big' }));

        expect(second.etag).not.toBe(first.etag);
        expect(await storage.getVariantMeta(original, variant)).toEqual(second);
        expect((await readAll((await storage.openVariant(original, variant))!.body)).equals(bytes)).toBe(true);
      });
    });

    describe('missing objects', () => {
      it('resolves to null for everything on an empty storage', async () => {
        await expectNoObject(storage, original, variant);
      });

      it('resolves to null for a missing variant of an existing original', async () => {
        await storage.putOriginal(original, randomBytes(100), sampleOriginalMeta());
        await storage.putVariant(original, otherVariant, randomBytes(100), sampleVariantMeta());

        expect(await storage.getVariantMeta(original, variant)).toBeNull();
        expect(await storage.openVariant(original, variant)).toBeNull();
      });
    });

    describe('deleteImage', () => {
      it('removes the original and all its variants and counts them', async () => {
        await storage.putOriginal(original, randomBytes(100), sampleOriginalMeta());
        await storage.putVariant(original, variant, randomBytes(100), sampleVariantMeta());
        await storage.putVariant(original, otherVariant, randomBytes(100), sampleVariantMeta());

        expect(await storage.deleteImage(original)).toBe(3);

        await expectNoObject(storage, original, variant);
        expect(await storage.getVariantMeta(original, otherVariant)).toBeNull();
      });

      it('leaves other images alone', async () => {
        const bytes = randomBytes(100);
        await storage.putOriginal(original, randomBytes(100), sampleOriginalMeta());
        await storage.putOriginal(otherOriginal, bytes, sampleOriginalMeta());
        await storage.putVariant(otherOriginal, variant, randomBytes(100), sampleVariantMeta());

        expect(await storage.deleteImage(original)).toBe(1);

        expect((await storage.readOriginal(otherOriginal))?.bytes.equals(bytes)).toBe(true);
        expect(await storage.getVariantMeta(otherOriginal, variant)).not.toBeNull();
      });

      it('counts variants even when their original is absent', async () => {
        await storage.putVariant(original, variant, randomBytes(100), sampleVariantMeta());
        await storage.putVariant(original, otherVariant, randomBytes(100), sampleVariantMeta());

        expect(await storage.deleteImage(original)).toBe(2);
        expect(await storage.getVariantMeta(original, variant)).toBeNull();
      });

      it('resolves to 0 for a missing image, and for a second delete', async () => {
        expect(await storage.deleteImage(original)).toBe(0);
        await storage.putOriginal(original, randomBytes(100), sampleOriginalMeta());
        expect(await storage.deleteImage(original)).toBe(1);
        expect(await storage.deleteImage(original)).toBe(0);
      });

      it('accepts new writes after a delete, without resurrecting old variants', async () => {
        await storage.putOriginal(original, randomBytes(100), sampleOriginalMeta());
        await storage.putVariant(original, variant, randomBytes(100), sampleVariantMeta());
        await storage.deleteImage(original);

        const bytes = randomBytes(150);
        const meta = await storage.putOriginal(original, bytes, sampleOriginalMeta({ width: 3 }));
        expect(await storage.getOriginalMeta(original)).toEqual(meta);
        expect((await storage.readOriginal(original))?.bytes.equals(bytes)).toBe(true);
        expect(await storage.getVariantMeta(original, variant)).toBeNull();

        const variantBytes = randomBytes(50);
        await storage.putVariant(original, otherVariant, variantBytes, sampleVariantMeta());
        expect((await readAll((await storage.openVariant(original, otherVariant))!.body)).equals(variantBytes)).toBe(true);
        expect(await storage.deleteImage(original)).toBe(2);
      });

      it('lets a stream opened before the delete deliver all its bytes', async () => {
        // Large enough that nothing is buffered yet when the delete happens.
        const bytes = randomBytes(4 * 1024 * 1024 + 5);
        const variantBytes = randomBytes(2 * 1024 * 1024 + 1);
        await storage.putOriginal(original, bytes, sampleOriginalMeta());
        await storage.putVariant(original, variant, variantBytes, sampleVariantMeta());
        const openedOriginal = await storage.openOriginal(original);
        const openedVariant = await storage.openVariant(original, variant);
        expect(openedOriginal).not.toBeNull();
        expect(openedVariant).not.toBeNull();

        expect(await storage.deleteImage(original)).toBe(2);
        expect(await storage.openOriginal(original)).toBeNull();

        expect((await readAll(openedOriginal!.body)).equals(bytes)).toBe(true);
        expect((await readAll(openedVariant!.body)).equals(variantBytes)).toBe(true);
      });

      it('lets a stream opened before a rewrite deliver the old bytes', async () => {
        const before = randomBytes(2 * 1024 * 1024);
        const beforeMeta = await storage.putOriginal(original, before, sampleOriginalMeta({ width: 1 }));
        const opened = await storage.openOriginal(original);

        await storage.putOriginal(original, randomBytes(1000), sampleOriginalMeta({ width: 2 }));

        expect(opened?.meta).toEqual(beforeMeta);
        expect((await readAll(opened!.body)).equals(before)).toBe(true);
      });
    });

    describe('concurrency', () => {
      const WRITERS = 20;
      // Distinct sizes, so a size check alone can tell the writers' data apart.
      const contents = Array.from({ length: WRITERS }, (_, i) => randomBytes(64 * 1024 + i * 1031));

      async function expectConsistentOriginal(): Promise<void> {
        const read = await storage.readOriginal(original);
        expect(read).not.toBeNull();
        const { meta, bytes } = read!;
        expect(meta.etag).toBe(expectedEtag(bytes));
        expect(meta.bytes).toBe(bytes.length);
        // The meta must be the one written together with these bytes, not another writer's.
        expect(contents[meta.width]!.equals(bytes)).toBe(true);

        const opened = await storage.openOriginal(original);
        expect(opened?.meta).toEqual(meta);
        expect((await readAll(opened!.body)).equals(bytes)).toBe(true);
        expect(await storage.getOriginalMeta(original)).toEqual(meta);
      }

      it('leaves a consistent original after concurrent puts of the same key', async () => {
        const metas = await Promise.all(
          contents.map((bytes, i) => storage.putOriginal(original, bytes, sampleOriginalMeta({ width: i }))),
        );
        metas.forEach((meta, i) => expect(meta.etag).toBe(expectedEtag(contents[i]!)));

        await expectConsistentOriginal();
      });

      it('leaves a consistent variant after concurrent puts of the same key', async () => {
        await Promise.all(
          contents.map((bytes, i) => storage.putVariant(original, variant, bytes, sampleVariantMeta({ width: i }))),
        );

        const opened = await storage.openVariant(original, variant);
        expect(opened).not.toBeNull();
        const bytes = await readAll(opened!.body);
        expect(opened!.meta.etag).toBe(expectedEtag(bytes));
        expect(contents[opened!.meta.width]!.equals(bytes)).toBe(true);
      });

      it('never hands a reader bytes that do not match the meta while writers race', async () => {
        await storage.putOriginal(original, contents[0]!, sampleOriginalMeta({ width: 0 }));
        let writing = true;
        const readers = Array.from({ length: 4 }, async () => {
          let reads = 0;
          while (writing || reads === 0) {
            reads++;
            // Either may be null (a reader may lose the race), but never mismatched.
            const read = await storage.readOriginal(original);
            if (read !== null) expect(read.meta.etag).toBe(expectedEtag(read.bytes));
            const opened = await storage.openOriginal(original);
            if (opened !== null) expect((await readAll(opened.body)).equals(contents[opened.meta.width]!)).toBe(true);
          }
        });
        const writers = Promise.all(
          contents.map((bytes, i) => storage.putOriginal(original, bytes, sampleOriginalMeta({ width: i }))),
        );
        try {
          await writers;
        } finally {
          writing = false;
        }
        await Promise.all(readers);

        await expectConsistentOriginal();
      });

      it('leaves either nothing or a whole object when a put races a delete', async () => {
        await storage.putOriginal(original, contents[0]!, sampleOriginalMeta({ width: 0 }));
        await Promise.all([
          storage.putOriginal(original, contents[1]!, sampleOriginalMeta({ width: 1 })),
          storage.deleteImage(original),
          storage.putVariant(original, variant, contents[2]!, sampleVariantMeta({ width: 2 })),
        ]);

        const read = await storage.readOriginal(original);
        if (read !== null) {
          expect(read.meta.etag).toBe(expectedEtag(read.bytes));
          expect(contents[read.meta.width]!.equals(read.bytes)).toBe(true);
        }
        const opened = await storage.openVariant(original, variant);
        if (opened !== null) expect((await readAll(opened.body)).equals(contents[2]!)).toBe(true);
      });
    });

    describe('key validation', () => {
      const bytes = Buffer.from('x');

      it.each(INVALID_KEYS)('rejects an original key that is %s', async (_, bad) => {
        // Wrapped in async functions so a synchronous throw counts as a rejection too.
        await expect((async () => storage.getOriginalMeta(bad))()).rejects.toThrow();
        await expect((async () => storage.readOriginal(bad))()).rejects.toThrow();
        await expect((async () => storage.openOriginal(bad))()).rejects.toThrow();
        await expect((async () => storage.putOriginal(bad, bytes, sampleOriginalMeta()))()).rejects.toThrow();
        await expect((async () => storage.getVariantMeta(bad, variant))()).rejects.toThrow();
        await expect((async () => storage.openVariant(bad, variant))()).rejects.toThrow();
        await expect((async () => storage.putVariant(bad, variant, bytes, sampleVariantMeta()))()).rejects.toThrow();
        await expect((async () => storage.deleteImage(bad))()).rejects.toThrow();
      });

      it.each(INVALID_KEYS)('rejects a variant key that is %s', async (_, bad) => {
        await expect((async () => storage.getVariantMeta(original, bad))()).rejects.toThrow();
        await expect((async () => storage.openVariant(original, bad))()).rejects.toThrow();
        await expect((async () => storage.putVariant(original, bad, bytes, sampleVariantMeta()))()).rejects.toThrow();
      });

      it('stores nothing when a key is rejected', async () => {
        await expect((async () => storage.putOriginal('../etc/passwd', bytes, sampleOriginalMeta()))()).rejects.toThrow();
        await expect(
          (async () => storage.putVariant(original, '../../x', bytes, sampleVariantMeta()))(),
        ).rejects.toThrow();
        expect(await storage.getOriginalMeta(original)).toBeNull();
        expect(await storage.deleteImage(original)).toBe(0);
      });
    });
  });
}
