import { randomBytes } from 'node:crypto';
import { mkdirSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** One cached object: where its bytes are and what the caller said about them. */
export interface CachedFile<M> {
  path: string;
  bytes: number;
  meta: M;
}

/** Writes up to this size are made synchronously: a thread-pool hand-off costs more than the write (see libs/storage small-io.ts). */
const SYNC_WRITE_BYTES = 256 * 1024;

/** By default an object larger than a quarter of the cache is not cached: one huge original must not flush every hot variant. */
const DEFAULT_MAX_SHARE = 4;

/**
 * A directory of files bounded by their total size, least recently used first out. Objects are
 * addressed by (originalKey, leaf) so all of one original's objects can be dropped together.
 *
 * The index lives in memory only: the directory is wiped when opened, because after a restart
 * nothing tells whether a file still matches what the backend holds (a delete may have happened
 * while this host was down). Files are written beside their final name and renamed into place, so
 * a reader never sees a partial one; an evicted file stays readable through descriptors already
 * open on it.
 */
export class ByteLruDirectory<M> {
  /** Map order is recency order: the first entry is the least recently used. */
  private readonly entries = new Map<string, CachedFile<M> & { originalKey: string }>();
  private readonly idsByOriginal = new Map<string, Set<string>>();
  /** Bumped whenever an original is invalidated, so a fill that started before cannot store stale bytes after. */
  private readonly generations = new Map<string, number>();
  private totalBytes = 0;

  private constructor(
    readonly dir: string,
    readonly maxBytes: number,
    private readonly maxObjectBytes: number,
  ) {}

  /**
   * Creates (or empties) `dir` and returns a cache of at most `maxBytes` in it, keeping no object
   * larger than `maxBytes / maxShare`.
   */
  static open<M>(dir: string, maxBytes: number, options: { maxShare?: number } = {}): ByteLruDirectory<M> {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    return new ByteLruDirectory<M>(dir, maxBytes, Math.floor(maxBytes / (options.maxShare ?? DEFAULT_MAX_SHARE)));
  }

  /** Bytes held now. */
  get size(): number {
    return this.totalBytes;
  }

  /** Whether an object of `bytes` would be kept at all. */
  accepts(bytes: number): boolean {
    return bytes <= this.maxObjectBytes;
  }

  /** The cached object, marked as just used; null when absent. */
  get(originalKey: string, leaf: string): CachedFile<M> | null {
    const id = idOf(originalKey, leaf);
    const entry = this.entries.get(id);
    if (!entry) return null;
    this.entries.delete(id);
    this.entries.set(id, entry);
    return entry;
  }

  /** The generation of an original's objects: pass it back to {@link put}/{@link adopt} to drop a fill overtaken by an invalidation. */
  generationOf(originalKey: string): number {
    return this.generations.get(originalKey) ?? 0;
  }

  /** Stores `bytes` (when small enough and not invalidated since `generation`); resolves to the entry or null. */
  async put(originalKey: string, leaf: string, bytes: Buffer, meta: M, generation = this.generationOf(originalKey)): Promise<CachedFile<M> | null> {
    if (!this.accepts(bytes.length)) return null;
    const temp = this.tempPath();
    try {
      if (bytes.length <= SYNC_WRITE_BYTES) writeFileSync(temp, bytes);
      else await writeFile(temp, bytes);
    } catch (error) {
      removeQuietly(temp);
      throw error;
    }
    return this.adopt(originalKey, leaf, temp, bytes.length, meta, generation);
  }

  /** A fresh path in the cache directory for a file about to be {@link adopt}ed. */
  tempPath(): string {
    return join(this.dir, `.tmp-${randomBytes(8).toString('hex')}`);
  }

  /**
   * Renames a complete file written at {@link tempPath} into the cache; the temp file is removed
   * instead when the original was invalidated since `generation` or the object is too big.
   */
  adopt(originalKey: string, leaf: string, tempPath: string, bytes: number, meta: M, generation: number): CachedFile<M> | null {
    if (generation !== this.generationOf(originalKey) || !this.accepts(bytes)) {
      removeQuietly(tempPath);
      return null;
    }
    const id = idOf(originalKey, leaf);
    const path = join(this.dir, `${originalKey}-${leaf}`);
    renameSync(tempPath, path);
    this.forget(id);
    const entry = { path, bytes, meta, originalKey };
    this.entries.set(id, entry);
    let ids = this.idsByOriginal.get(originalKey);
    if (!ids) this.idsByOriginal.set(originalKey, (ids = new Set()));
    ids.add(id);
    this.totalBytes += bytes;
    this.evictOver(entry);
    return entry;
  }

  /** Drops one object (its file too). */
  remove(originalKey: string, leaf: string): void {
    const entry = this.entries.get(idOf(originalKey, leaf));
    if (entry) this.drop(idOf(originalKey, leaf), entry);
  }

  /** Drops every object of an original and turns away fills of it that started before. */
  invalidateOriginal(originalKey: string): void {
    this.generations.set(originalKey, this.generationOf(originalKey) + 1);
    for (const id of [...(this.idsByOriginal.get(originalKey) ?? [])]) {
      const entry = this.entries.get(id);
      if (entry) this.drop(id, entry);
    }
  }

  /** Drops everything, e.g. after invalidation notices may have been missed. */
  clear(): void {
    for (const [id, entry] of [...this.entries]) {
      this.generations.set(entry.originalKey, this.generationOf(entry.originalKey) + 1);
      this.drop(id, entry);
    }
  }

  private evictOver(justStored: CachedFile<M>): void {
    for (const [id, entry] of this.entries) {
      if (this.totalBytes <= this.maxBytes) return;
      if (entry !== justStored) this.drop(id, entry);
    }
  }

  /** Removes the entry from the index, keeping its file (a replacement was renamed over it). */
  private forget(id: string): void {
    const entry = this.entries.get(id);
    if (!entry) return;
    this.entries.delete(id);
    this.totalBytes -= entry.bytes;
    const ids = this.idsByOriginal.get(entry.originalKey);
    ids?.delete(id);
    if (ids?.size === 0) this.idsByOriginal.delete(entry.originalKey);
  }

  private drop(id: string, entry: CachedFile<M>): void {
    this.forget(id);
    removeQuietly(entry.path);
  }
}

function idOf(originalKey: string, leaf: string): string {
  return `${originalKey}/${leaf}`;
}

function removeQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already gone: the cache only ever removes its own files
  }
}
