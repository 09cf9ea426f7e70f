import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import {
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import {
  type ImageStorage,
  type NewOriginalMeta,
  type NewVariantMeta,
  type OriginalMeta,
  type StoredObject,
  type VariantMeta,
  assertStorageKey,
} from '@image-cloud/storage';
import { ByteLruDirectory } from '@image-cloud/storage-cache';
import { ObjectNotFound, isNoSuchKey, storeUnavailable } from './s3-errors';

/** Where and how to reach the bucket; credentials come from the SDK's usual chain (AWS_* env, profile, instance role). */
export interface S3ImageStorageOptions {
  bucket: string;
  /** A non-AWS endpoint (MinIO, Ceph RGW, R2 …), e.g. `http://127.0.0.1:9000`. @defaultValue AWS for the region */
  endpoint?: string;
  /** @defaultValue AWS_REGION, else us-east-1 (what MinIO and s3rver expect) */
  region?: string;
  /** `http://endpoint/bucket/key` instead of `http://bucket.endpoint/key`; most self-hosted servers need it. @defaultValue false */
  forcePathStyle?: boolean;
  /** Prepended to every object name, so several clouds can share one bucket. @defaultValue none */
  prefix?: string;
  /** Only tests pass these; production uses the SDK's provider chain. */
  credentials?: S3ClientConfig['credentials'];
  /** Local directory for originals handed to renderers as files (see {@link ImageStorage.originalFile}); wiped at start. */
  downloadDir: string;
  /** Most bytes kept in `downloadDir`; at least the largest original accepted. */
  downloadCacheBytes: number;
  /** One S3 request's limit, connect to last header; a stalled store then fails as 503 instead of hanging. @defaultValue 10 000 */
  requestTimeoutMs?: number;
}

/** Objects up to this size are read whole, so a server can answer with the bytes at once. */
const READ_WHOLE_BYTES = 256 * 1024;

/** The SigV4 header carrying the payload's sha256 (hex); the signer uses it instead of hashing the body when present. */
const PAYLOAD_HASH_HEADER = 'x-amz-content-sha256';

/** DeleteObjects takes at most this many keys per call. */
const DELETE_BATCH = 1000;

type StoredMeta = OriginalMeta | VariantMeta;

/**
 * {@link ImageStorage} on any S3-compatible object store, using only the standard S3 API
 * (GetObject, HeadObject, PutObject, ListObjectsV2, DeleteObject(s)):
 *
 * ```
 * <prefix><originalKey>/original.json            record: the OriginalMeta (etag = sha256 of the data)
 * <prefix><originalKey>/variants/<variantKey>.json  record: a VariantMeta
 * <prefix><originalKey>/data/<sha256 hex>        the bytes, named by their hash, written once
 * ```
 *
 * A put uploads the data object first and the record last. S3 replaces an object whole in one
 * PUT, so a reader finds either no record, the old one or the new one, and every record names a
 * data object that was complete before the record existed: no reader ever sees half an object or
 * a record with another writer's bytes. A record whose data a concurrent delete removed reads as
 * missing. Records are small JSON objects rather than S3 user metadata because an original's URL
 * alone may exceed the 2 KB S3 allows for metadata.
 */
export class S3ImageStorage implements ImageStorage {
  private readonly client: S3Client;
  private readonly bucket: string;
  private readonly prefix: string;
  private readonly downloads: ByteLruDirectory<OriginalMeta>;

  constructor(options: S3ImageStorageOptions) {
    this.bucket = options.bucket;
    this.prefix = normalizePrefix(options.prefix);
    this.client = new S3Client({
      region: options.region ?? process.env['AWS_REGION'] ?? 'us-east-1',
      ...(options.endpoint ? { endpoint: options.endpoint } : {}),
      forcePathStyle: options.forcePathStyle ?? false,
      ...(options.credentials ? { credentials: options.credentials } : {}),
      // Checksums only where the API demands them: not every S3-compatible server knows the newer
      // CRC headers, and the sha256 in every record already checks the bytes end to end.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      maxAttempts: 2,
      requestHandler: { connectionTimeout: 2_000, requestTimeout: options.requestTimeoutMs ?? 10_000 },
    });
    // Every miss asks for objects that are not there. A 404 means "not there" whatever its body
    // says (GET's NoSuchKey, HEAD's bare NotFound; a missing bucket is a 404 too, and read as
    // missing already), so it is answered here, inside the SDK's deserializer: parsing the XML
    // error into a modeled exception added a fifth to a half of a request's client CPU.
    this.client.middlewareStack.add(
      (next) => async (args) => {
        const result = await next(args);
        const response = result.response as { statusCode?: number; body?: Readable };
        if (response.statusCode !== 404) return result;
        // Drained to its end, not destroyed, before answering: the keep-alive connection is then
        // free for the caller's next request.
        if (response.body) await finished(response.body.resume()).catch(() => undefined);
        throw new ObjectNotFound();
      },
      { step: 'deserialize', priority: 'low', name: 'imageCloudNotFound' },
    );
    this.downloads = ByteLruDirectory.open<OriginalMeta>(options.downloadDir, options.downloadCacheBytes, { maxShare: 1 });
  }

  /** The bucket and prefix, e.g. to name an invalidation channel shared by every host of this store. */
  get location(): string {
    return `${this.bucket}/${this.prefix}`;
  }

  close(): void {
    this.client.destroy();
  }

  async getOriginalMeta(originalKey: string): Promise<OriginalMeta | null> {
    return this.metaOfExisting<OriginalMeta>(originalKey, this.originalRecordKey(originalKey));
  }

  async readOriginal(originalKey: string): Promise<{ meta: OriginalMeta; bytes: Buffer } | null> {
    const opened = await this.openObject<OriginalMeta>(originalKey, this.originalRecordKey(originalKey));
    if (opened === null) return null;
    const bytes = opened.bytes ?? (await readAll(opened.body));
    // In memory anyway, so checked fully: a truncated transfer must not become a rendered image.
    return bytes.length === opened.meta.bytes && etagOf(bytes) === opened.meta.etag ? { meta: opened.meta, bytes } : null;
  }

  async originalFile(originalKey: string): Promise<{ meta: OriginalMeta; path: string } | null> {
    const meta = await this.getOriginalMeta(originalKey);
    if (meta === null) return null;
    const leaf = hashOf(meta.etag);
    const cached = this.downloads.get(originalKey, leaf);
    if (cached) return { meta, path: cached.path };
    const generation = this.downloads.generationOf(originalKey);
    const read = await this.readOriginal(originalKey);
    if (read === null) return null;
    const stored = await this.downloads.put(originalKey, hashOf(read.meta.etag), read.bytes, read.meta, generation);
    if (stored) return { meta: read.meta, path: stored.path };
    // Only when the download cache is configured smaller than an original may be (or it was invalidated meanwhile).
    if (this.downloads.generationOf(originalKey) !== generation) return null;
    throw new Error(`original of ${read.meta.bytes} bytes does not fit the S3 download cache of ${this.downloads.maxBytes} bytes`);
  }

  async openOriginal(originalKey: string): Promise<StoredObject<OriginalMeta> | null> {
    return this.openObject<OriginalMeta>(originalKey, this.originalRecordKey(originalKey));
  }

  async putOriginal(originalKey: string, bytes: Buffer, meta: NewOriginalMeta): Promise<OriginalMeta> {
    const stored: OriginalMeta = { ...meta, bytes: bytes.length, etag: etagOf(bytes) };
    // An original is often written again with the same bytes (its record gains placeholders): asking first saves the upload.
    await this.publish(originalKey, this.originalRecordKey(originalKey), bytes, stored, { dataMayExist: true });
    return stored;
  }

  async getVariantMeta(originalKey: string, variantKey: string): Promise<VariantMeta | null> {
    return this.metaOfExisting<VariantMeta>(originalKey, this.variantRecordKey(originalKey, variantKey));
  }

  async openVariant(originalKey: string, variantKey: string): Promise<StoredObject<VariantMeta> | null> {
    return this.openObject<VariantMeta>(originalKey, this.variantRecordKey(originalKey, variantKey));
  }

  async putVariant(originalKey: string, variantKey: string, bytes: Buffer, meta: NewVariantMeta): Promise<VariantMeta> {
    const stored: VariantMeta = { ...meta, bytes: bytes.length, etag: etagOf(bytes) };
    // A variant is rendered because it was missing, so its data is almost never there: no HEAD first.
    await this.publish(originalKey, this.variantRecordKey(originalKey, variantKey), bytes, stored, { dataMayExist: false });
    return stored;
  }

  /**
   * Lists everything under the original (paged ListObjectsV2) and removes it with DeleteObjects.
   * Counts records, i.e. whole objects. Not atomic across objects as S3 has no transactions, but
   * each reader still sees whole objects or none: a record whose data went first reads as missing.
   */
  async deleteImage(originalKey: string): Promise<number> {
    const keys = await this.listKeys(`${this.imagePrefix(originalKey)}`);
    this.downloads.invalidateOriginal(originalKey);
    for (let start = 0; start < keys.length; start += DELETE_BATCH) {
      const batch = keys.slice(start, start + DELETE_BATCH);
      const result = await this.send('deleting an image', () =>
        this.client.send(new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true } })),
      );
      const failed = result.Errors?.filter((error) => error.Code !== 'NoSuchKey') ?? [];
      if (failed.length > 0) throw storeUnavailable('deleting an image', { name: failed[0]!.Code ?? 'DeleteError' });
    }
    return keys.filter((key) => key.endsWith('.json')).length;
  }

  async checkWritable(): Promise<void> {
    const Key = `${this.prefix}.write-probe/${randomBytes(8).toString('hex')}`;
    await this.send('probing writability', () => this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key, Body: 'probe' })));
    await this.send('probing writability', () => this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key })));
  }

  /**
   * Data first, record last. `dataMayExist`: look for the data object first and upload it only when
   * not there yet. Either way is safe: same name means same bytes, and S3 replaces an object
   * whole, so rewriting it never shows a reader anything else. Real S3 would also allow a
   * conditional PUT (If-None-Match: *), but not every S3-compatible server does.
   */
  private async publish(originalKey: string, recordKey: string, bytes: Buffer, meta: StoredMeta, options: { dataMayExist: boolean }): Promise<void> {
    const dataKey = this.dataKey(originalKey, meta.etag);
    if (!options.dataMayExist || !(await this.exists(dataKey))) {
      const upload = new PutObjectCommand({ Bucket: this.bucket, Key: dataKey, Body: bytes, ContentLength: bytes.length, ContentType: meta.contentType });
      // The bytes' sha256 is known already (it names them): handed to SigV4 as the signed payload
      // hash, which it would otherwise compute again over the whole body. S3 checks it on arrival.
      upload.middlewareStack.add(
        (next) => async (args) => {
          (args.request as { headers: Record<string, string> }).headers[PAYLOAD_HASH_HEADER] = hashOf(meta.etag);
          return next(args);
        },
        { step: 'build', name: 'imageCloudPayloadHash' },
      );
      await this.send('storing an image', () => this.client.send(upload));
    }
    const record = Buffer.from(JSON.stringify(meta));
    await this.send('storing an image', () =>
      this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: recordKey, Body: record, ContentLength: record.length, ContentType: 'application/json' })),
    );
  }

  /** The record, checked to name data that is there (a delete may have removed it under the record). */
  private async metaOfExisting<M extends StoredMeta>(originalKey: string, recordKey: string): Promise<M | null> {
    const meta = await this.readRecord<M>(recordKey);
    return meta !== null && (await this.exists(this.dataKey(originalKey, meta.etag))) ? meta : null;
  }

  private async openObject<M extends StoredMeta>(originalKey: string, recordKey: string): Promise<StoredObject<M> | null> {
    const meta = await this.readRecord<M>(recordKey);
    if (meta === null) return null;
    const response = await this.send('reading an image', () =>
      this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.dataKey(originalKey, meta.etag) })),
    ).catch(nullIfNoSuchKey);
    if (response === null) return null;
    const body = response.Body as Readable | undefined;
    if (body === undefined || response.ContentLength !== meta.bytes) {
      body?.destroy();
      return null;
    }
    if (meta.bytes > READ_WHOLE_BYTES) return { meta, body };
    const bytes = await readAll(body).catch((error: unknown) => {
      throw storeUnavailable('reading an image', error);
    });
    if (bytes.length !== meta.bytes) return null;
    return { meta, body: readableOf(bytes), bytes };
  }

  private async readRecord<M extends StoredMeta>(recordKey: string): Promise<M | null> {
    const response = await this.send('reading image metadata', () =>
      this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: recordKey })),
    ).catch(nullIfNoSuchKey);
    if (response?.Body === undefined) return null;
    const text = await this.send('reading image metadata', () => response.Body!.transformToString('utf8'));
    return parseRecord<M>(text);
  }

  private async exists(key: string): Promise<boolean> {
    const head = await this.send('looking up an image', () => this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }))).catch(
      nullIfNoSuchKey,
    );
    return head !== null;
  }

  private async listKeys(prefix: string): Promise<string[]> {
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const page = await this.send('listing an image', () =>
        this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token })),
      );
      for (const object of page.Contents ?? []) if (object.Key) keys.push(object.Key);
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return keys;
  }

  /** Runs one S3 call; "not found" passes through for the caller to turn into null, anything else is 503. */
  private async send<T>(doing: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      if (isNoSuchKey(error)) throw error;
      throw storeUnavailable(doing, error);
    }
  }

  private imagePrefix(originalKey: string): string {
    assertStorageKey(originalKey, 'originalKey');
    return `${this.prefix}${originalKey}/`;
  }

  private originalRecordKey(originalKey: string): string {
    return `${this.imagePrefix(originalKey)}original.json`;
  }

  private variantRecordKey(originalKey: string, variantKey: string): string {
    assertStorageKey(variantKey, 'variantKey');
    return `${this.imagePrefix(originalKey)}variants/${variantKey}.json`;
  }

  private dataKey(originalKey: string, etag: string): string {
    return `${this.imagePrefix(originalKey)}data/${hashOf(etag)}`;
  }
}

function normalizePrefix(prefix: string | undefined): string {
  if (!prefix) return '';
  return prefix.endsWith('/') ? prefix : `${prefix}/`;
}

/** Parses a record; null when unreadable, so the object is treated as missing and made again. */
function parseRecord<M extends StoredMeta>(text: string): M | null {
  try {
    const meta: unknown = JSON.parse(text);
    if (typeof meta !== 'object' || meta === null) return null;
    const { bytes, etag } = meta as Partial<StoredMeta>;
    return typeof bytes === 'number' && typeof etag === 'string' && /^"[0-9a-f]{64}"$/.test(etag) ? (meta as M) : null;
  } catch {
    return null;
  }
}

function nullIfNoSuchKey(error: unknown): null {
  if (isNoSuchKey(error)) return null;
  throw error;
}

async function readAll(body: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function readableOf(bytes: Buffer): Readable {
  return Readable.from([bytes], { objectMode: false });
}

function etagOf(bytes: Buffer): string {
  return `"${createHash('sha256').update(bytes).digest('hex')}"`;
}

/** The hex inside a quoted strong ETag. */
function hashOf(etag: string): string {
  return etag.slice(1, -1);
}
