import type { Readable } from 'node:stream';

/** What we know about a stored original. Width and height are as displayed (EXIF orientation applied). */
export interface OriginalMeta {
  url: string;
  /** MIME type sniffed from the bytes (never trusted from the origin alone). */
  contentType: string;
  /** Content type the origin declared, kept for diagnostics. */
  originContentType?: string;
  bytes: number;
  width: number;
  height: number;
  /** sharp's format name: jpeg, png, webp, gif, heif, tiff, svg … */
  format: string;
  frames: number;
  /** EXIF orientation 1–8 when present. */
  orientation?: number;
  /** Whether the image has an alpha channel (so rendering needs no second look at the header). */
  hasAlpha?: boolean;
  /**
   * What a page shows before the image loads, computed once per original when asked for
   * (image_info, a prefetch with placeholders); `null` when the image could not be decoded for them.
   */
  placeholders?: { dominantColor: string; thumbHash: string } | null;
  fetchedAt: string;
  originEtag?: string;
  originLastModified?: string;
  /** Strong HTTP ETag of the stored bytes, quoted: `"<sha256 hex>"`. */
  etag: string;
}

export interface VariantMeta {
  contentType: string;
  bytes: number;
  width: number;
  height: number;
  format: string;
  frames: number;
  createdAt: string;
  /** Which lane rendered it (normal or big). */
  lane?: string;
  etag: string;
}

/** Metadata the caller supplies; the storage computes `bytes` and `etag` from the bytes it writes. */
export type NewOriginalMeta = Omit<OriginalMeta, 'bytes' | 'etag'>;
export type NewVariantMeta = Omit<VariantMeta, 'bytes' | 'etag'>;

export interface StoredObject<M> {
  meta: M;
  /** The stored bytes as a stream; it stays readable even if the object is deleted meanwhile. */
  body: Readable;
  /**
   * The same bytes, when the storage read a small object whole anyway: a server can answer with
   * them at once instead of piping the stream.
   */
  bytes?: Buffer;
}

/**
 * Where originals and their variants live. Keys are sha256 hex strings (see @image-cloud/contracts).
 * Writes are atomic: a reader sees a whole object with its metadata, or nothing.
 */
export interface ImageStorage {
  getOriginalMeta(originalKey: string): Promise<OriginalMeta | null>;
  readOriginal(originalKey: string): Promise<{ meta: OriginalMeta; bytes: Buffer } | null>;
  /**
   * A local file holding the original's bytes (`meta.bytes` of them), for a renderer that reads it
   * itself. The file is replaced atomically, never rewritten in place; it may vanish when the
   * image is deleted, which its reader must treat as "removed".
   */
  originalFile(originalKey: string): Promise<{ meta: OriginalMeta; path: string } | null>;
  openOriginal(originalKey: string): Promise<StoredObject<OriginalMeta> | null>;
  putOriginal(originalKey: string, bytes: Buffer, meta: NewOriginalMeta): Promise<OriginalMeta>;

  getVariantMeta(originalKey: string, variantKey: string): Promise<VariantMeta | null>;
  openVariant(originalKey: string, variantKey: string): Promise<StoredObject<VariantMeta> | null>;
  putVariant(originalKey: string, variantKey: string, bytes: Buffer, meta: NewVariantMeta): Promise<VariantMeta>;

  /** Removes the original and every variant of it. Resolves to the number of objects removed. */
  deleteImage(originalKey: string): Promise<number>;

  /**
   * Writes and removes a small probe object; rejects with the cause (an fs error such as ENOSPC or
   * EROFS, or the backend's own) when the store cannot take writes. Readiness checks call it.
   */
  checkWritable?(): Promise<void>;
}
