import { createHash, randomBytes } from 'node:crypto';
import { closeSync, createReadStream, readdirSync, statSync, unlinkSync } from 'node:fs';
import { readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { isNotFound } from './fs-errors';
import type {
  ImageStorage,
  NewOriginalMeta,
  NewVariantMeta,
  OriginalMeta,
  StoredObject,
  VariantMeta,
} from './image-storage';
import { AccessRecorder } from './access-recorder';
import { evictVariant } from './disk-budget';
import { KeyedLock } from './keyed-lock';
import { SMALL_IO_BYTES, makeDirectory, makeDirectoryOffLoop, openForReading, pathExists, readSmall, readSmallText, writeSmallFile } from './small-io';
import { assertStorageKey } from './storage-key';
import { TempFile } from './temp-file';

/** Options of {@link LocalDirectoryStorage}. */
export interface LocalDirectoryStorageOptions {
  /** Root directory; `images/` and `trash/` are created inside it. */
  dataDir: string;
  /** Most variants kept per original: storing one more evicts that original's least recently used variant. @defaultValue no cap */
  maxVariantsPerOriginal?: number;
  /** How often the reads recorded in memory are written as the data files' mtimes (see AccessRecorder). @defaultValue 60 000 */
  accessFlushMs?: number;
  /**
   * Told after an original was rewritten or an image deleted (never after a variant was added):
   * what other processes keep of it in memory is stale. @defaultValue nobody is told
   */
  onOriginalChanged?: (originalKey: string) => Promise<void>;
}

/** Where one object's two files live. */
interface ObjectPaths {
  dir: string;
  bin: string;
  json: string;
}

/** The fields every stored meta has; enough to check the data file against it. */
interface StoredMeta {
  bytes: number;
  etag: string;
}

/** Reads are remembered in memory and written as mtimes at most this often per object. */
const DEFAULT_ACCESS_FLUSH_MS = 60_000;

/** What the writability probe writes: one page, so a full filesystem refuses it. */
const WRITE_PROBE = Buffer.alloc(4096, 0x2a);

/** How often a writer republishes after another process replaced its data file mid-put. */
const MAX_PUBLISH_ATTEMPTS = 10;

/**
 * {@link ImageStorage} on a local (or any POSIX) directory:
 *
 * ```
 * <dataDir>/images/<key[0..2]>/<key[2..4]>/<originalKey>/original.bin + original.json
 *                                                       /variants/<variantKey>.bin + .json
 * ```
 *
 * Each file is written to a temp file and renamed into place, data first and meta last, so a
 * present `.json` means a complete object. Several processes may share one `dataDir`.
 */
export class LocalDirectoryStorage implements ImageStorage {
  private readonly imagesDir: string;
  private readonly trashDir: string;
  private readonly writes = new KeyedLock();
  private readonly accesses: AccessRecorder;
  private readonly maxVariantsPerOriginal: number;
  private readonly onOriginalChanged: (originalKey: string) => Promise<void>;

  constructor(options: LocalDirectoryStorageOptions) {
    this.imagesDir = join(options.dataDir, 'images');
    this.trashDir = join(options.dataDir, 'trash');
    this.accesses = new AccessRecorder(options.accessFlushMs ?? DEFAULT_ACCESS_FLUSH_MS);
    this.maxVariantsPerOriginal = options.maxVariantsPerOriginal ?? Number.POSITIVE_INFINITY;
    this.onOriginalChanged = options.onOriginalChanged ?? (async () => undefined);
  }

  /** Writes the reads recorded so far as last-use times now (they are written every `accessFlushMs` anyway). */
  flushAccesses(): Promise<void> {
    return this.accesses.flush();
  }

  /** Stops the periodic flush after a last one. */
  close(): Promise<void> {
    return this.accesses.close();
  }

  async getOriginalMeta(originalKey: string): Promise<OriginalMeta | null> {
    return this.readMetaOfExisting<OriginalMeta>(this.originalPaths(originalKey));
  }

  async readOriginal(originalKey: string): Promise<{ meta: OriginalMeta; bytes: Buffer } | null> {
    const paths = this.originalPaths(originalKey);
    // A second try covers a concurrent rewrite landing between reading the meta and the data.
    for (let attempt = 0; attempt < 2; attempt++) {
      const meta = readMeta<OriginalMeta>(paths.json);
      if (meta === null) return null;
      const bytes = await readFile(paths.bin).catch(nullIfNotFound);
      if (bytes === null) return null;
      // The bytes are in memory anyway, so check them fully rather than by size alone.
      if (bytes.length === meta.bytes && etagOf(bytes) === meta.etag) {
        this.accesses.touch(paths.bin);
        return { meta, bytes };
      }
    }
    return null;
  }

  async originalFile(originalKey: string): Promise<{ meta: OriginalMeta; path: string } | null> {
    const paths = this.originalPaths(originalKey);
    const meta = await this.readMetaOfExisting<OriginalMeta>(paths);
    if (meta) this.accesses.touch(paths.bin);
    return meta && { meta, path: paths.bin };
  }

  async openOriginal(originalKey: string): Promise<StoredObject<OriginalMeta> | null> {
    return this.openObject<OriginalMeta>(this.originalPaths(originalKey));
  }

  async putOriginal(originalKey: string, bytes: Buffer, meta: NewOriginalMeta): Promise<OriginalMeta> {
    const paths = this.originalPaths(originalKey);
    const stored: OriginalMeta = { ...meta, bytes: bytes.length, etag: etagOf(bytes) };
    const { replaced } = await this.writes.run(paths.json, () => publishObject(paths, bytes, stored, { tellReplaced: true }));
    // An original stored for the first time was never complete before, so nobody keeps anything of
    // it: no notice (a prefetch stores one per URL, and each notice wakes every listening process).
    if (replaced) await this.onOriginalChanged(originalKey);
    return stored;
  }

  async getVariantMeta(originalKey: string, variantKey: string): Promise<VariantMeta | null> {
    return this.readMetaOfExisting<VariantMeta>(this.variantPaths(originalKey, variantKey));
  }

  async openVariant(originalKey: string, variantKey: string): Promise<StoredObject<VariantMeta> | null> {
    return this.openObject<VariantMeta>(this.variantPaths(originalKey, variantKey));
  }

  async putVariant(originalKey: string, variantKey: string, bytes: Buffer, meta: NewVariantMeta): Promise<VariantMeta> {
    const paths = this.variantPaths(originalKey, variantKey);
    const stored: VariantMeta = { ...meta, bytes: bytes.length, etag: etagOf(bytes) };
    await this.writes.run(paths.json, () => publishObject(paths, bytes, stored, { tellReplaced: false }));
    this.capVariants(paths.dir, variantKey);
    return stored;
  }

  async deleteImage(originalKey: string): Promise<number> {
    const dir = this.originalDir(originalKey);
    makeDirectory(this.trashDir);
    // One rename makes the original and all variants vanish together; the slow recursive delete
    // then happens out of sight. trash/ sits under dataDir so the rename stays on one filesystem.
    const doomed = join(this.trashDir, `${originalKey}-${randomBytes(8).toString('hex')}`);
    try {
      await rename(dir, doomed);
    } catch (error) {
      if (!isNotFound(error)) throw error;
      // Nothing here now, yet a copy in memory elsewhere may predate a notice that was missed.
      await this.onOriginalChanged(originalKey);
      return 0;
    }
    await this.onOriginalChanged(originalKey);
    const removed = await countObjects(doomed);
    // The image is gone for every reader already; a failed cleanup of trash/ must not say otherwise.
    await rm(doomed, { recursive: true, force: true }).catch(() => undefined);
    return removed;
  }

  async checkWritable(): Promise<void> {
    makeDirectory(this.imagesDir);
    // A few bytes, not an empty file: a full filesystem still creates empty files.
    const probe = join(this.imagesDir, `.tmp-write-probe-${randomBytes(8).toString('hex')}`);
    try {
      writeSmallFile(probe, WRITE_PROBE);
    } finally {
      try {
        unlinkSync(probe);
      } catch {
        // never created
      }
    }
  }

  /**
   * Keeps at most `maxVariantsPerOriginal` variants of one original, evicting its least recently
   * used others (never `justStored`). One readdir per stored variant; the stats only when over.
   */
  private capVariants(variantsDir: string, justStored: string): void {
    let metas: string[];
    try {
      metas = readdirSync(variantsDir).filter((name) => name.endsWith('.json'));
    } catch {
      return; // deleted meanwhile: nothing left to cap
    }
    const excess = metas.length - this.maxVariantsPerOriginal;
    if (excess <= 0) return;
    const candidates = metas
      .map((name) => name.slice(0, -'.json'.length))
      .filter((variantKey) => variantKey !== justStored)
      .map((variantKey) => {
        const binPath = join(variantsDir, `${variantKey}.bin`);
        const mtime = statSync(binPath, { throwIfNoEntry: false })?.mtimeMs ?? 0;
        return { binPath, jsonPath: join(variantsDir, `${variantKey}.json`), lastUsedMs: Math.max(mtime, this.accesses.lastUsedOf(binPath) ?? 0) };
      })
      .sort((a, b) => a.lastUsedMs - b.lastUsedMs);
    for (const variant of candidates.slice(0, excess)) evictVariant(variant);
  }

  private originalDir(originalKey: string): string {
    assertStorageKey(originalKey, 'originalKey');
    return join(this.imagesDir, originalKey.slice(0, 2), originalKey.slice(2, 4), originalKey);
  }

  private originalPaths(originalKey: string): ObjectPaths {
    const dir = this.originalDir(originalKey);
    return { dir, bin: join(dir, 'original.bin'), json: join(dir, 'original.json') };
  }

  private variantPaths(originalKey: string, variantKey: string): ObjectPaths {
    assertStorageKey(variantKey, 'variantKey');
    const dir = join(this.originalDir(originalKey), 'variants');
    return { dir, bin: join(dir, `${variantKey}.bin`), json: join(dir, `${variantKey}.json`) };
  }

  /** The meta, or null when the object is missing — including a meta whose data file is gone. */
  private async readMetaOfExisting<M extends StoredMeta>(paths: ObjectPaths): Promise<M | null> {
    const meta = readMeta<M>(paths.json);
    return meta !== null && pathExists(paths.bin) ? meta : null;
  }

  private async openObject<M extends StoredMeta>(paths: ObjectPaths): Promise<StoredObject<M> | null> {
    // A second try covers a concurrent rewrite landing between reading the meta and opening the data.
    for (let attempt = 0; attempt < 2; attempt++) {
      const meta = readMeta<M>(paths.json);
      if (meta === null) return null;
      const data = openForReading(paths.bin);
      if (data === null) return null;
      if (data.size !== meta.bytes) {
        closeSync(data.fd);
        continue;
      }
      this.accesses.touch(paths.bin);
      // Reading from the descriptor (not the path) keeps the bytes readable after a delete or rewrite.
      if (data.size > SMALL_IO_BYTES) return { meta, body: createReadStream(paths.bin, { fd: data.fd, autoClose: true }) };
      let bytes: Buffer | null;
      try {
        bytes = readSmall(data.fd, data.size);
      } finally {
        closeSync(data.fd);
      }
      if (bytes) return { meta, body: Readable.from([bytes], { objectMode: false }), bytes };
    }
    return null;
  }
}

/**
 * Writes data then meta. Two renames are not one atomic step, so concurrent writers in different
 * processes can interleave into "meta of A, data of B". Each writer therefore checks its work after
 * publishing its meta and publishes again when it is the one holding a mismatched pair: whichever
 * writer renames its meta last ends up with a matching pair. Writers sharing this process are
 * serialized by the caller and never get here concurrently.
 */
async function publishObject(paths: ObjectPaths, bytes: Buffer, meta: StoredMeta, options: { tellReplaced: boolean }): Promise<{ replaced: boolean }> {
  const json = JSON.stringify(meta);
  // With tellReplaced: a meta published where none was (create-only) means no complete object was there before.
  let replaced = false;
  for (let attempt = 1; ; attempt++) {
    try {
      await makeDirectoryOffLoop(paths.dir);
      const dataFile = await TempFile.write(paths.dir, bytes);
      try {
        await dataFile.publishAs(paths.bin);
        const metaFile = await TempFile.write(paths.dir, json);
        try {
          if (!options.tellReplaced) await metaFile.publishAs(paths.json);
          else if (!(await metaFile.publishAsNew(paths.json))) replaced = true;
          if (isSettled(dataFile, metaFile, paths)) return { replaced };
        } finally {
          metaFile.dispose();
        }
      } finally {
        dataFile.dispose();
      }
    } catch (error) {
      // A concurrent deleteImage moved the directory away mid-write: start over in a fresh one.
      if (!isNotFound(error) || attempt >= MAX_PUBLISH_ATTEMPTS) throw error;
    }
    if (attempt >= MAX_PUBLISH_ATTEMPTS) {
      throw new Error(`Gave up writing ${paths.bin} after ${attempt} attempts: other writers kept replacing it`);
    }
    // Random backoff so competing writers stop colliding in lockstep.
    await sleep(Math.random() * 5 * attempt);
  }
}

/**
 * Whether this writer is done: its data file is still in place under its meta, or its meta has
 * already been replaced — a later writer then owns the pair and runs this same check.
 * Only the writer whose meta is current must republish, which keeps contention from snowballing.
 */
function isSettled(dataFile: TempFile, metaFile: TempFile, paths: ObjectPaths): boolean {
  // 'gone' means a deleteImage ran after our meta was in place: the put did happen, before it.
  if (metaFile.identityAt(paths.json) !== 'same') return true;
  return dataFile.identityAt(paths.bin) !== 'replaced';
}

/** Parses a stored meta; null when missing or unreadable (e.g. torn by a crash), so the object gets refetched. */
function readMeta<M extends StoredMeta>(jsonPath: string): M | null {
  const text = readSmallText(jsonPath);
  if (text === null) return null;
  try {
    const meta: unknown = JSON.parse(text);
    if (typeof meta !== 'object' || meta === null) return null;
    const { bytes, etag } = meta as Partial<StoredMeta>;
    return typeof bytes === 'number' && typeof etag === 'string' ? (meta as M) : null;
  } catch {
    return null;
  }
}

/** Objects in an original's directory, counted by their meta files (a meta means a complete object). */
async function countObjects(originalDir: string): Promise<number> {
  const original = (await stat(join(originalDir, 'original.json')).catch(nullIfNotFound)) === null ? 0 : 1;
  const variants = (await readdir(join(originalDir, 'variants')).catch(nullIfNotFound)) ?? [];
  return original + variants.filter((name) => name.endsWith('.json')).length;
}

/** Strong HTTP ETag of the bytes: the quoted sha256 hex. */
function etagOf(bytes: Buffer): string {
  return `"${createHash('sha256').update(bytes).digest('hex')}"`;
}

function nullIfNotFound(error: unknown): null {
  if (isNotFound(error)) return null;
  throw error;
}
