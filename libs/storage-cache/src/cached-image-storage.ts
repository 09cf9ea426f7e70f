import { createHash } from 'node:crypto';
import { closeSync, createReadStream, createWriteStream, fstatSync, openSync, readSync, unlinkSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { Readable, Transform } from 'node:stream';
import type { ImageStorage, NewOriginalMeta, NewVariantMeta, OriginalMeta, StoredObject, VariantMeta } from '@image-cloud/storage';
import type { ByteLruDirectory, CachedFile } from './byte-lru-directory';

type StoredMeta = OriginalMeta | VariantMeta;

/** Leaf name of an original in the cache; variants use their variant key (64 hex, never this). */
const ORIGINAL_LEAF = 'original';

/** Cached objects up to this size are read whole and handed over as bytes, as the local store does. */
const READ_WHOLE_BYTES = 256 * 1024;

/** Originals whose meta a host remembers without their bytes (a few hundred bytes each); least recently used first out. */
const REMEMBERED_METAS = 10_000;

/** How a cache tells the other hosts' caches about a change; see CacheInvalidation. */
export interface InvalidationPublisher {
  publish(originalKey: string): Promise<void>;
}

export interface CachedImageStorageOptions {
  /** The shared store every host writes through to (S3). */
  backend: ImageStorage;
  /** This host's disk cache. */
  cache: ByteLruDirectory<StoredMeta>;
  /** Tells other hosts to drop what a put or delete changed. @defaultValue nobody is told */
  invalidation?: InvalidationPublisher;
}

/**
 * A host's cache tier in front of a shared store: hot variants and originals are served from a
 * local directory bounded by bytes (LRU), so a hot hit never leaves the host, and an original this
 * host just downloaded or read is on disk when its render asks for {@link originalFile}. Writes go
 * through to the backend first and are then cached; deletes go to the backend, drop the local
 * copies, and are announced so every other host drops its copies too.
 *
 * A miss streams from the backend to the caller and into the cache at once (no second download);
 * the copy is kept only when the whole object arrived, its sha256 matches, and no invalidation of
 * its original happened meanwhile.
 *
 * Originals' metas are also remembered without their bytes (a bounded map in memory), so the
 * lookups of every miss — is the original stored, how big, has it alpha — cost no request to the
 * backend once this host has seen it. They are dropped exactly when cached bytes are: on this
 * host's puts and deletes, on another host's notice, and all at once when notices may have been
 * missed. Absence is never remembered: a miss always asks the backend, so nothing another host
 * wrote is hidden.
 */
export class CachedImageStorage implements ImageStorage {
  private readonly backend: ImageStorage;
  private readonly cache: ByteLruDirectory<StoredMeta>;
  private readonly invalidation?: InvalidationPublisher;
  /** Map order is recency order, as in ByteLruDirectory. */
  private readonly metas = new Map<string, OriginalMeta>();
  /** Bumped by {@link invalidateAll}: a fill that started before must not remember what it read. */
  private epoch = 0;

  constructor(options: CachedImageStorageOptions) {
    this.backend = options.backend;
    this.cache = options.cache;
    this.invalidation = options.invalidation;
  }

  /** Drops the local copies of an original's objects, e.g. on another host's notice. */
  invalidateOriginal(originalKey: string): void {
    this.cache.invalidateOriginal(originalKey);
    this.metas.delete(originalKey);
  }

  /** Drops every local copy, e.g. after notices may have been missed. */
  invalidateAll(): void {
    this.epoch++;
    this.cache.clear();
    this.metas.clear();
  }

  async getOriginalMeta(originalKey: string): Promise<OriginalMeta | null> {
    const known = this.knownMeta(originalKey);
    if (known) return known;
    const fill = this.fillOf(originalKey);
    const meta = await this.backend.getOriginalMeta(originalKey);
    if (meta) this.rememberMeta(originalKey, meta, fill);
    return meta;
  }

  async readOriginal(originalKey: string): Promise<{ meta: OriginalMeta; bytes: Buffer } | null> {
    const cached = this.cached<OriginalMeta>(originalKey, ORIGINAL_LEAF);
    // Asynchronous, as LocalDirectoryStorage reads originals: they run to megabytes.
    const local = cached && (await readFile(cached.path).catch(() => null));
    if (cached && local?.length === cached.bytes) return { meta: cached.meta, bytes: local };
    const generation = this.cache.generationOf(originalKey);
    const read = await this.backend.readOriginal(originalKey);
    if (read) await this.keep(originalKey, ORIGINAL_LEAF, read.bytes, read.meta, generation);
    return read;
  }

  async originalFile(originalKey: string): Promise<{ meta: OriginalMeta; path: string } | null> {
    const cached = this.cached<OriginalMeta>(originalKey, ORIGINAL_LEAF);
    if (cached) return { meta: cached.meta, path: cached.path };
    // A remembered meta tells the size before any download; otherwise the read itself does (the
    // backend reads an original whole either way), which saves asking for the meta first.
    const known = this.metas.get(originalKey);
    if (known && !this.cache.accepts(known.bytes)) return this.backend.originalFile(originalKey);
    const fill = this.fillOf(originalKey);
    const read = await this.backend.readOriginal(originalKey);
    if (read === null) return null;
    this.rememberMeta(originalKey, read.meta, fill);
    const stored = await this.keep(originalKey, ORIGINAL_LEAF, read.bytes, read.meta, fill.generation);
    return stored ? { meta: read.meta, path: stored.path } : this.backend.originalFile(originalKey);
  }

  async openOriginal(originalKey: string): Promise<StoredObject<OriginalMeta> | null> {
    return this.open(originalKey, ORIGINAL_LEAF, () => this.backend.openOriginal(originalKey));
  }

  async putOriginal(originalKey: string, bytes: Buffer, meta: NewOriginalMeta): Promise<OriginalMeta> {
    const stored = await this.backend.putOriginal(originalKey, bytes, meta);
    // Other hosts may hold the previous bytes; the notice makes them read the new ones.
    this.invalidateOriginal(originalKey);
    await this.invalidation?.publish(originalKey);
    const fill = this.fillOf(originalKey);
    this.rememberMeta(originalKey, stored, fill);
    await this.keep(originalKey, ORIGINAL_LEAF, bytes, stored, fill.generation);
    return stored;
  }

  async getVariantMeta(originalKey: string, variantKey: string): Promise<VariantMeta | null> {
    return this.cached<VariantMeta>(originalKey, variantKey)?.meta ?? this.backend.getVariantMeta(originalKey, variantKey);
  }

  async openVariant(originalKey: string, variantKey: string): Promise<StoredObject<VariantMeta> | null> {
    return this.open(originalKey, variantKey, () => this.backend.openVariant(originalKey, variantKey));
  }

  async putVariant(originalKey: string, variantKey: string, bytes: Buffer, meta: NewVariantMeta): Promise<VariantMeta> {
    const generation = this.cache.generationOf(originalKey);
    const stored = await this.backend.putVariant(originalKey, variantKey, bytes, meta);
    // A variant is rendered again only when it was missing (or its original changed, which
    // announced itself): no other host can hold a copy to drop, so no notice.
    await this.keep(originalKey, variantKey, bytes, stored, generation);
    return stored;
  }

  async deleteImage(originalKey: string): Promise<number> {
    this.invalidateOriginal(originalKey);
    const removed = await this.backend.deleteImage(originalKey);
    // Again after the backend: a fill that raced the delete must not survive it either.
    this.invalidateOriginal(originalKey);
    await this.invalidation?.publish(originalKey);
    return removed;
  }

  async checkWritable(): Promise<void> {
    await this.backend.checkWritable?.();
  }

  /** The meta of a cached original, or a remembered one (marked as just used); null when this host knows none. */
  private knownMeta(originalKey: string): OriginalMeta | null {
    const cached = this.cached<OriginalMeta>(originalKey, ORIGINAL_LEAF);
    if (cached) return cached.meta;
    const remembered = this.metas.get(originalKey);
    if (!remembered) return null;
    this.metas.delete(originalKey);
    this.metas.set(originalKey, remembered);
    return remembered;
  }

  /** What a fill must still match when it ends, for what it read to be kept: no invalidation happened meanwhile. */
  private fillOf(originalKey: string): { generation: number; epoch: number } {
    return { generation: this.cache.generationOf(originalKey), epoch: this.epoch };
  }

  private rememberMeta(originalKey: string, meta: OriginalMeta, fill: { generation: number; epoch: number }): void {
    if (fill.epoch !== this.epoch || fill.generation !== this.cache.generationOf(originalKey)) return;
    this.metas.delete(originalKey);
    this.metas.set(originalKey, meta);
    if (this.metas.size > REMEMBERED_METAS) this.metas.delete(this.metas.keys().next().value!);
  }

  private cached<M extends StoredMeta>(originalKey: string, leaf: string): CachedFile<M> | null {
    return this.cache.get(originalKey, leaf) as CachedFile<M> | null;
  }

  private async keep<M extends StoredMeta>(originalKey: string, leaf: string, bytes: Buffer, meta: M, generation: number): Promise<CachedFile<M> | null> {
    // A full or broken cache disk must not fail a request the backend served.
    return (await this.cache.put(originalKey, leaf, bytes, meta, generation).catch(() => null)) as CachedFile<M> | null;
  }

  private async open<M extends StoredMeta>(
    originalKey: string,
    leaf: string,
    openFromBackend: () => Promise<StoredObject<M> | null>,
  ): Promise<StoredObject<M> | null> {
    const cached = this.cached<M>(originalKey, leaf);
    const local = cached && openCached(cached);
    if (local) return local;
    if (cached) this.cache.remove(originalKey, leaf);
    const generation = this.cache.generationOf(originalKey);
    const opened = await openFromBackend();
    if (opened === null || !this.cache.accepts(opened.meta.bytes)) return opened;
    if (opened.bytes) {
      await this.keep(originalKey, leaf, opened.bytes, opened.meta, generation);
      return opened;
    }
    return { meta: opened.meta, body: this.fillWhileStreaming(originalKey, leaf, opened, generation) };
  }

  /** The backend's stream, passed on unchanged while a copy is written to a temp file and adopted when complete. */
  private fillWhileStreaming<M extends StoredMeta>(originalKey: string, leaf: string, opened: StoredObject<M>, generation: number): Readable {
    const tempPath = this.cache.tempPath();
    const file = createWriteStream(tempPath);
    const hash = createHash('sha256');
    let received = 0;
    let fileFailed = false;
    file.on('error', () => {
      fileFailed = true;
    });
    const abandon = () => {
      file.destroy();
      removeQuietly(tempPath);
    };
    const tee = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        hash.update(chunk);
        received += chunk.length;
        if (!fileFailed) file.write(chunk);
        callback(null, chunk);
      },
      // The reader's end waits for the copy's adoption, so the request after it is a host hit.
      flush: (callback) => {
        file.end(() => {
          const complete = !fileFailed && received === opened.meta.bytes && `"${hash.digest('hex')}"` === opened.meta.etag;
          if (complete) this.cache.adopt(originalKey, leaf, tempPath, received, opened.meta, generation);
          else removeQuietly(tempPath);
          callback();
        });
      },
    });
    opened.body.on('error', (error) => tee.destroy(error));
    // A reader that stops early (a Range, a 304, a dropped client) leaves no partial copy behind.
    tee.on('close', () => {
      if (!tee.writableFinished) {
        opened.body.destroy();
        abandon();
      }
    });
    return opened.body.pipe(tee);
  }
}

/** A cached object opened by descriptor, so an eviction or invalidation meanwhile cannot cut it short; null when its file is gone. */
function openCached<M>(cached: CachedFile<M>): StoredObject<M> | null {
  let fd: number;
  try {
    fd = openSync(cached.path, 'r');
  } catch {
    return null;
  }
  if (cached.bytes > READ_WHOLE_BYTES) return { meta: cached.meta, body: createReadStream(cached.path, { fd, autoClose: true }) };
  try {
    const bytes = readFd(fd, cached.bytes);
    return bytes && { meta: cached.meta, body: Readable.from([bytes], { objectMode: false }), bytes };
  } finally {
    closeSync(fd);
  }
}

function readFd(fd: number, size: number): Buffer | null {
  if (fstatSync(fd).size !== size) return null;
  const bytes = Buffer.allocUnsafe(size);
  for (let offset = 0; offset < size; ) {
    const read = readSync(fd, bytes, offset, size - offset, offset);
    if (read === 0) return null;
    offset += read;
  }
  return bytes;
}

function removeQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // never created, or already adopted
  }
}
