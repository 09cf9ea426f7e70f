/** Objects over this size stay on disk: the tier is for the many small hot variants, not for a few big originals. */
export const DEFAULT_MAX_OBJECT_BYTES = 512 * 1024;

/**
 * How long an entry is served before it is read from storage again. Deletions reach the tier by
 * notice (see invalidateOriginal); this bounds what a lost notice can cost.
 */
export const DEFAULT_MAX_AGE_MS = 10_000;

export interface MemoryTierOptions {
  /** Total bytes of the objects kept; 0 turns the tier off. */
  maxBytes: number;
  /** @defaultValue DEFAULT_MAX_OBJECT_BYTES */
  maxObjectBytes?: number;
  /** @defaultValue DEFAULT_MAX_AGE_MS */
  maxAgeMs?: number;
  /** Milliseconds clock. @defaultValue Date.now */
  now?: () => number;
}

/** One kept object: its bytes and what its filler wanted kept with them (metadata, prepared headers). */
export interface TierEntry<M> {
  readonly originalKey: string;
  readonly leaf: string;
  readonly bytes: Buffer;
  readonly meta: M;
}

interface Node<M> extends TierEntry<M> {
  readonly keptAt: number;
  /** Neighbours in recency order: `older` towards the next eviction, `newer` towards the last use. */
  older: Node<M> | null;
  newer: Node<M> | null;
}

/**
 * The hottest stored objects (variants, originals) in this process's memory, bounded by bytes and
 * evicted least recently used first, so a hit can be answered without touching storage.
 *
 * It stays exact by being told: whoever learns that an original's objects changed or went away
 * (a delete here, a notice from another process) calls {@link invalidateOriginal}, and {@link clear}
 * when notices may have been missed. A fill races a deletion only if its bytes were read before
 * the deletion and kept after it: a fill carries the {@link fillTicket} taken before its read and
 * is refused when any invalidation happened since. Entries older than `maxAgeMs` are not served.
 */
export class MemoryTier<M> {
  readonly maxBytes: number;
  readonly maxObjectBytes: number;
  private readonly maxAgeMs: number;
  private readonly now: () => number;
  /** originalKey → leaf (variant key, or the original's own name) → entry. */
  private readonly byOriginal = new Map<string, Map<string, Node<M>>>();
  private oldest: Node<M> | null = null;
  private newest: Node<M> | null = null;
  private keptBytes = 0;
  private keptCount = 0;
  /** Counts invalidations; see fillTicket. */
  private invalidations = 0;

  constructor(options: MemoryTierOptions) {
    this.maxBytes = Math.max(0, options.maxBytes);
    this.maxObjectBytes = Math.min(options.maxObjectBytes ?? DEFAULT_MAX_OBJECT_BYTES, this.maxBytes);
    this.maxAgeMs = options.maxAgeMs ?? DEFAULT_MAX_AGE_MS;
    this.now = options.now ?? Date.now;
  }

  get enabled(): boolean {
    return this.maxBytes > 0;
  }

  /** Bytes of the objects kept now. */
  get bytes(): number {
    return this.keptBytes;
  }

  /** Objects kept now. */
  get size(): number {
    return this.keptCount;
  }

  /** Take before reading an object from storage, and pass to {@link fill} with what was read. */
  fillTicket(): number {
    return this.invalidations;
  }

  /** Whether an object of this size would be kept. */
  accepts(bytes: number): boolean {
    return bytes > 0 && bytes <= this.maxObjectBytes;
  }

  /** The kept object, marked as just used; undefined when not kept or too old to serve. */
  get(originalKey: string, leaf: string): TierEntry<M> | undefined {
    const node = this.byOriginal.get(originalKey)?.get(leaf);
    if (node === undefined) return undefined;
    if (this.now() - node.keptAt > this.maxAgeMs) {
      this.remove(node);
      return undefined;
    }
    if (node !== this.newest) {
      this.unlink(node);
      this.append(node);
    }
    return node;
  }

  /**
   * Keeps an object read from storage. Refused (false) when the tier is off, the object is too big,
   * or an invalidation happened since `ticket` was taken (the bytes may be of a deleted image).
   */
  fill(ticket: number, originalKey: string, leaf: string, bytes: Buffer, meta: M): boolean {
    if (ticket !== this.invalidations || !this.accepts(bytes.length)) return false;
    const existing = this.byOriginal.get(originalKey)?.get(leaf);
    if (existing) this.remove(existing);
    const node: Node<M> = { originalKey, leaf, bytes: ownCopyOf(bytes), meta, keptAt: this.now(), older: null, newer: null };
    let leaves = this.byOriginal.get(originalKey);
    if (leaves === undefined) {
      leaves = new Map();
      this.byOriginal.set(originalKey, leaves);
    }
    leaves.set(leaf, node);
    this.append(node);
    this.keptBytes += bytes.length;
    this.keptCount++;
    while (this.keptBytes > this.maxBytes && this.oldest) this.remove(this.oldest);
    return true;
  }

  /** Drops every object of an original (it was deleted or rewritten, here or elsewhere). */
  invalidateOriginal(originalKey: string): void {
    this.invalidations++;
    const leaves = this.byOriginal.get(originalKey);
    if (leaves) for (const node of [...leaves.values()]) this.remove(node);
  }

  /** Drops everything (notices may have been missed). */
  clear(): void {
    this.invalidations++;
    this.byOriginal.clear();
    this.oldest = null;
    this.newest = null;
    this.keptBytes = 0;
    this.keptCount = 0;
  }

  private remove(node: Node<M>): void {
    const leaves = this.byOriginal.get(node.originalKey);
    if (leaves?.get(node.leaf) !== node) return;
    leaves.delete(node.leaf);
    if (leaves.size === 0) this.byOriginal.delete(node.originalKey);
    this.unlink(node);
    this.keptBytes -= node.bytes.length;
    this.keptCount--;
  }

  private append(node: Node<M>): void {
    node.older = this.newest;
    node.newer = null;
    if (this.newest) this.newest.newer = node;
    else this.oldest = node;
    this.newest = node;
  }

  private unlink(node: Node<M>): void {
    if (node.older) node.older.newer = node.newer;
    else this.oldest = node.newer;
    if (node.newer) node.newer.older = node.older;
    else this.newest = node.older;
    node.older = null;
    node.newer = null;
  }
}

/**
 * The bytes in a memory of their own: a small Buffer may be a slice of Node's shared 8 KiB pool,
 * and keeping it would keep the whole pool slab, beyond what the tier counts.
 */
function ownCopyOf(bytes: Buffer): Buffer {
  if (bytes.byteOffset === 0 && bytes.buffer.byteLength === bytes.length) return bytes;
  const copy = Buffer.allocUnsafeSlow(bytes.length);
  bytes.copy(copy);
  return copy;
}
