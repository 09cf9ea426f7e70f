import { randomBytes } from 'node:crypto';
import { closeSync, fstatSync, linkSync, openSync, renameSync, statSync, unlinkSync, writeFile } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { writeSmallOrAsync } from './small-io';

/** What a path holds compared with a published {@link TempFile}. */
export type PathIdentity = 'same' | 'replaced' | 'gone';

/** Prefix of in-flight files; nothing else in the store starts with it. */
export const TEMP_PREFIX = '.tmp-';

const writeToFd = promisify(writeFile);

/**
 * A uniquely named file written next to its destination and then renamed over it, so readers see
 * the old file or the new one, never a partial write.
 *
 * The descriptor stays open until {@link dispose}: while it is open the file's inode cannot be freed
 * and reused, which is what makes {@link identityAt} a reliable "is this still my file?" test.
 * Calls that move no bulk data (open, rename, stat, close) are synchronous: see small-io.ts.
 */
export class TempFile {
  private published = false;
  private closed = false;

  private constructor(
    private readonly path: string,
    private readonly fd: number,
  ) {}

  /** Creates a temp file in `dir` holding `data`. No fsync: this is a cache, a torn file after a power cut is refetched. */
  static async write(dir: string, data: Buffer | string): Promise<TempFile> {
    const path = join(dir, `${TEMP_PREFIX}${randomBytes(8).toString('hex')}`);
    const file = new TempFile(path, openSync(path, 'wx'));
    try {
      await writeSmallOrAsync(file.fd, typeof data === 'string' ? Buffer.from(data) : data, (fd, bytes) => writeToFd(fd, bytes));
    } catch (error) {
      file.dispose();
      throw error;
    }
    return file;
  }

  /** Renames the file to `target`, atomically replacing whatever is there. */
  publishAs(target: string): void {
    renameSync(this.path, target);
    this.published = true;
  }

  /**
   * Publishes the file as `target` and says whether `target` was new: a hard link is atomic and
   * create-only, so "nothing was there" is known for certain even with writers in other processes.
   * When something was there (or the filesystem has no hard links) it replaces it as publishAs does
   * and answers false.
   */
  publishAsNew(target: string): boolean {
    try {
      linkSync(this.path, target);
    } catch {
      this.publishAs(target);
      return false;
    }
    this.published = true;
    try {
      unlinkSync(this.path);
    } catch {
      // The temp name only; a disk budget run removes stale temp files.
    }
    return true;
  }

  /** Whether `target` is still this file, was replaced by another one, or no longer exists. */
  identityAt(target: string): PathIdentity {
    const mine = fstatSync(this.fd, { bigint: true });
    const there = statSync(target, { bigint: true, throwIfNoEntry: false });
    if (!there) return 'gone';
    return there.ino === mine.ino && there.dev === mine.dev ? 'same' : 'replaced';
  }

  /** Closes the descriptor and removes the file if it was never published. Never throws. */
  dispose(): void {
    if (!this.closed) {
      this.closed = true;
      try {
        closeSync(this.fd);
      } catch {
        // already closed or never usable: nothing left to release
      }
    }
    // ENOENT is expected when a concurrent delete moved the directory (and this file) to the trash.
    if (!this.published) {
      try {
        unlinkSync(this.path);
      } catch {
        // gone already
      }
    }
  }
}
