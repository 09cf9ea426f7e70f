const STORAGE_KEY = /^[0-9a-f]{64}$/;

/**
 * Throws unless `key` is a storage key (64 lowercase hex characters, a sha256).
 *
 * Keys become path segments and object names, so anything else — `..`, slashes, uppercase that
 * would alias on case-insensitive filesystems — is refused outright. A bad key is a caller bug,
 * hence a plain Error rather than an ImageCloudError.
 */
export function assertStorageKey(key: string, what: string): void {
  if (typeof key !== 'string' || !STORAGE_KEY.test(key)) {
    throw new Error(`${what} must be 64 lowercase hex characters, got ${JSON.stringify(String(key).slice(0, 80))}`);
  }
}
