import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, truncate, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { LocalDirectoryStorage } from './local-directory-storage';
import { SMALL_IO_BYTES } from './small-io';
import {
  describeStorageConformance,
  expectNoObject,
  expectedEtag,
  readAll,
  sampleOriginalMeta,
  sampleVariantMeta,
  testKey,
} from './testing';

async function makeDataDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'image-cloud-storage-'));
}

/** Every file under `dir`, relative to it. */
async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)))
    .sort();
}

describeStorageConformance('LocalDirectoryStorage', async () => {
  const dataDir = await makeDataDir();
  return {
    storage: new LocalDirectoryStorage({ dataDir }),
    cleanup: () => rm(dataDir, { recursive: true, force: true }),
  };
});

describe('LocalDirectoryStorage on disk', () => {
  const key = testKey('on disk');
  const variantKey = testKey('on disk variant');
  const objectDir = join('images', key.slice(0, 2), key.slice(2, 4), key);
  let dataDir: string;
  let storage: LocalDirectoryStorage;

  beforeEach(async () => {
    dataDir = await makeDataDir();
    storage = new LocalDirectoryStorage({ dataDir });
  });

  afterEach(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('reads a small object whole (bytes and body), and streams a big one from its descriptor only', async () => {
    const small = randomBytes(10_000);
    const big = randomBytes(SMALL_IO_BYTES + 1);
    await storage.putOriginal(key, big, sampleOriginalMeta());
    await storage.putVariant(key, variantKey, small, sampleVariantMeta());

    const variant = await storage.openVariant(key, variantKey);
    expect(variant?.bytes?.equals(small)).toBe(true);
    const original = await storage.openOriginal(key);
    expect(original?.bytes).toBeUndefined();
    expect((await readAll(original!.body)).equals(big)).toBe(true);
  });

  it('fans objects out by key prefix and keeps variants inside their original directory', async () => {
    const bytes = randomBytes(100);
    const variantBytes = randomBytes(50);
    const meta = await storage.putOriginal(key, bytes, sampleOriginalMeta());
    const variantMeta = await storage.putVariant(key, variantKey, variantBytes, sampleVariantMeta());

    expect(await listFiles(dataDir)).toEqual(
      [
        join(objectDir, 'original.bin'),
        join(objectDir, 'original.json'),
        join(objectDir, 'variants', `${variantKey}.bin`),
        join(objectDir, 'variants', `${variantKey}.json`),
      ].sort(),
    );
    expect((await readFile(join(dataDir, objectDir, 'original.bin'))).equals(bytes)).toBe(true);
    expect(JSON.parse(await readFile(join(dataDir, objectDir, 'original.json'), 'utf8'))).toEqual(meta);
    expect((await readFile(join(dataDir, objectDir, 'variants', `${variantKey}.bin`))).equals(variantBytes)).toBe(true);
    expect(JSON.parse(await readFile(join(dataDir, objectDir, 'variants', `${variantKey}.json`), 'utf8'))).toEqual(
      variantMeta,
    );
  });

  it('leaves no temp files or trash behind after writes, rewrites and deletes', async () => {
    const other = testKey('on disk other');
    await Promise.all(
      Array.from({ length: 10 }, (_, i) => storage.putOriginal(key, randomBytes(100 + i), sampleOriginalMeta())),
    );
    await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        storage.putVariant(key, testKey(`variant ${i % 3}`), randomBytes(10 + i), sampleVariantMeta()),
      ),
    );
    await storage.putOriginal(other, randomBytes(10), sampleOriginalMeta());
    expect(await storage.deleteImage(other)).toBe(1);

    const files = await listFiles(dataDir);
    expect(files.filter((file) => file.includes('.tmp-'))).toEqual([]);
    expect(files).toHaveLength(2 + 3 * 2);
    expect(await readdir(join(dataDir, 'trash'))).toEqual([]);
  });

  it('treats a meta file without its data file as missing', async () => {
    await storage.putOriginal(key, randomBytes(100), sampleOriginalMeta());
    await storage.putVariant(key, variantKey, randomBytes(100), sampleVariantMeta());
    await unlink(join(dataDir, objectDir, 'original.bin'));
    await unlink(join(dataDir, objectDir, 'variants', `${variantKey}.bin`));

    await expectNoObject(storage, key, variantKey);
  });

  it('treats a data file without its meta file (a write in flight) as missing', async () => {
    await storage.putOriginal(key, randomBytes(100), sampleOriginalMeta());
    await unlink(join(dataDir, objectDir, 'original.json'));

    expect(await storage.getOriginalMeta(key)).toBeNull();
    expect(await storage.readOriginal(key)).toBeNull();
    expect(await storage.openOriginal(key)).toBeNull();
    expect(await storage.deleteImage(key)).toBe(0);
  });

  it('treats data that does not match its meta (a torn or rewritten file) as missing', async () => {
    await storage.putOriginal(key, randomBytes(100), sampleOriginalMeta());
    await truncate(join(dataDir, objectDir, 'original.bin'), 40);

    expect(await storage.openOriginal(key)).toBeNull();
    expect(await storage.readOriginal(key)).toBeNull();

    // Same size, different content: only readOriginal, which hashes anyway, can notice.
    await storage.putOriginal(key, randomBytes(100), sampleOriginalMeta());
    await writeFile(join(dataDir, objectDir, 'original.bin'), randomBytes(100));
    expect(await storage.readOriginal(key)).toBeNull();
  });

  it('treats an unreadable meta file as missing so the object gets written again', async () => {
    await storage.putOriginal(key, randomBytes(100), sampleOriginalMeta());
    await writeFile(join(dataDir, objectDir, 'original.json'), '{"url": "https://origin.exa');

    expect(await storage.getOriginalMeta(key)).toBeNull();
    expect(await storage.openOriginal(key)).toBeNull();

    const bytes = randomBytes(10);
    await storage.putOriginal(key, bytes, sampleOriginalMeta());
    expect((await storage.readOriginal(key))?.bytes.equals(bytes)).toBe(true);
  });

  it('keeps data and meta matched when writers in separate instances (as in separate processes) race', async () => {
    // Instances do not share their in-process write lock, so this exercises the check-and-republish path.
    const instances = Array.from({ length: 4 }, () => new LocalDirectoryStorage({ dataDir }));
    const contents = Array.from({ length: 24 }, (_, i) => randomBytes(1000 + i));

    for (let round = 0; round < 5; round++) {
      await Promise.all(
        contents.map((bytes, i) =>
          instances[i % instances.length]!.putOriginal(key, bytes, sampleOriginalMeta({ width: i })),
        ),
      );
      const read = await storage.readOriginal(key);
      expect(read).not.toBeNull();
      expect(read!.meta.etag).toBe(expectedEtag(read!.bytes));
      expect(contents[read!.meta.width]!.equals(read!.bytes)).toBe(true);
      const opened = await storage.openOriginal(key);
      expect((await readAll(opened!.body)).equals(contents[opened!.meta.width]!)).toBe(true);
    }
    expect((await listFiles(dataDir)).filter((file) => file.includes('.tmp-'))).toEqual([]);
  });

  it('touches nothing on disk for a rejected key', async () => {
    await expect(storage.putOriginal('../../escape', Buffer.from('x'), sampleOriginalMeta())).rejects.toThrow(
      /originalKey/,
    );
    await expect(storage.putVariant(key, '../escape', Buffer.from('x'), sampleVariantMeta())).rejects.toThrow(
      /variantKey/,
    );
    await expect(storage.deleteImage('..')).rejects.toThrow(/originalKey/);

    expect(await readdir(dataDir)).toEqual([]);
  });
});

describe('LocalDirectoryStorage change notices', () => {
  it('tells of an original rewritten or deleted, not of one stored for the first time, and leaves no temp file', async () => {
    const dataDir = await makeDataDir();
    const told: string[] = [];
    const storage = new LocalDirectoryStorage({ dataDir, onOriginalChanged: async (originalKey) => void told.push(originalKey) });
    const original = testKey('notices');
    try {
      await storage.putOriginal(original, randomBytes(50), sampleOriginalMeta());
      expect(told).toEqual([]);
      expect((await storage.readOriginal(original))?.bytes.length).toBe(50);

      const rewritten = randomBytes(60);
      await storage.putOriginal(original, rewritten, sampleOriginalMeta());
      expect(told).toEqual([original]);
      expect((await storage.readOriginal(original))?.bytes.equals(rewritten)).toBe(true);

      await storage.deleteImage(original);
      expect(told).toEqual([original, original]);
      // Deleted (and told), then stored afresh: nothing of it can be kept anywhere.
      await storage.putOriginal(original, randomBytes(70), sampleOriginalMeta());
      expect(told).toEqual([original, original]);
      expect((await listFiles(join(dataDir, 'images'))).filter((path) => path.includes('.tmp-'))).toEqual([]);
    } finally {
      await storage.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('tells of a rewrite by another process sharing the directory', async () => {
    const dataDir = await makeDataDir();
    const told: string[] = [];
    const first = new LocalDirectoryStorage({ dataDir });
    const second = new LocalDirectoryStorage({ dataDir, onOriginalChanged: async (originalKey) => void told.push(originalKey) });
    const original = testKey('notices across');
    try {
      await first.putOriginal(original, randomBytes(50), sampleOriginalMeta());
      await second.putOriginal(original, randomBytes(50), sampleOriginalMeta());
      expect(told).toEqual([original]);
    } finally {
      await first.close();
      await second.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
