import { randomBytes } from 'node:crypto';
import { type FileHandle, open, rename, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { isNotFound } from './fs-errors';

/** What a path holds compared with a published {@link TempFile}. */
export type PathIdentity = 'same' | 'replaced' | 'gone';

/** Prefix of in-flight files; nothing else in the store starts with it. */
const TEMP_PREFIX = '.tmp-';

/**
 * A uniquely named file written next to its destination and then renamed over it, so readers see
 * the old file or the new one, never a partial write.
 *
 * The handle stays open until {@link dispose}: while it is open the file's inode cannot be freed and
 * reused, which is what makes {@link identityAt} a reliable "is this still my file?" test.
 */
export class TempFile {
  private published = false;

  private constructor(
    private readonly path: string,
    private readonly handle: FileHandle,
  ) {}

  /** Creates a temp file in `dir` holding `data`. No fsync: this is a cache, a torn file after a power cut is refetched. */
  static async write(dir: string, data: Buffer | string): Promise<TempFile> {
    const path = join(dir, `${TEMP_PREFIX}${randomBytes(8).toString('hex')}`);
    const handle = await open(path, 'wx');
    const file = new TempFile(path, handle);
    try {
      await handle.writeFile(data);
    } catch (error) {
      await file.dispose();
      throw error;
    }
    return file;
  }

  /** Renames the file to `target`, atomically replacing whatever is there. */
  async publishAs(target: string): Promise<void> {
    await rename(this.path, target);
    this.published = true;
  }

  /** Whether `target` is still this file, was replaced by another one, or no longer exists. */
  async identityAt(target: string): Promise<PathIdentity> {
    const mine = await this.handle.stat({ bigint: true });
    try {
      const there = await stat(target, { bigint: true });
      return there.ino === mine.ino && there.dev === mine.dev ? 'same' : 'replaced';
    } catch (error) {
      if (isNotFound(error)) return 'gone';
      throw error;
    }
  }

  /** Closes the handle and removes the file if it was never published. Never throws. */
  async dispose(): Promise<void> {
    await this.handle.close().catch(() => undefined);
    // ENOENT is expected when a concurrent delete moved the directory (and this file) to the trash.
    if (!this.published) await unlink(this.path).catch(() => undefined);
  }
}
