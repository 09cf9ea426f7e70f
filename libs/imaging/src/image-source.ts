import { readFile } from 'node:fs/promises';
import { ImageCloudError } from '@image-cloud/errors';

/**
 * Where a renderer finds an original: its bytes, or a local file that holds exactly `size` bytes.
 * A file lets a render process read the original itself instead of receiving megabytes over IPC.
 */
export type ImageSource = { bytes: Buffer } | { path: string; size: number };

/** The original's bytes; a file that vanished or changed size meanwhile (delete_image raced the render) is a retryable failure. */
export async function readImageSource(source: ImageSource): Promise<Buffer> {
  if ('bytes' in source) return source.bytes;
  const bytes = await readFile(source.path).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return null;
    throw error;
  });
  if (bytes === null || bytes.length !== source.size) {
    throw new ImageCloudError('unavailable', 'The original was removed before it could be rendered; try again.', { retryAfterSeconds: 1 });
  }
  return bytes;
}
