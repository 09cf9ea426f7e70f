import { randomBytes } from 'node:crypto';
import { closeSync, fstatSync, link, open, rename, statSync, unlink, unlinkSync, writeFile } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { writeSmallOrAsync } from './small-io';

/** What a path holds compared with a published {@link TempFile}. */
export type PathIdentity = 'same' | 'replaced' | 'gone';

/** Prefix of in-flight files; nothing else in the store starts with it. */
export const TEMP_PREFIX = '.tmp-';

const writeToFd = promisify(writeFile);
const openFile = promisify(open);
const renamePath = promisify(rename);
const linkPath = promisify(link);
const unlinkPath = promisify(unlink);

/**
 * A uniquely named file written next to its destination and then renamed over it, so readers see
 * the old file or the new one, never a partial write.
 *
 * The descriptor stays open until {@link dispose}: while it is open the file's inode cannot be freed
 * and reused, which is what makes {@link identityAt} a reliable "is this still my file?" test.
 * Calls that change the directory (create, rename, link, unlink) go through the thread pool: they
 * cost the kernel hundreds of µs each on the ext4 volumes measured (see small-io.ts), time in
 * which a synchronous call would hold every download and request of the process. Small writes,
 * stats and closes stay synchronous.
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
    const file = new TempFile(path, await openFile(path, 'wx'));
    try {
      await writeSmallOrAsync(file.fd, typeof data === 'string' ? Buffer.from(data) : data, (fd, bytes) => writeToFd(fd, bytes));
    } catch (error) {
      file.dispose();
      throw error;
    }
    return file;
  }

  /** Renames the file to `target`, atomically replacing whatever is there. */
  async publishAs(target: string): Promise<void> {
    await renamePath(this.path, target);
    this.published = true;
  }

  /**
   * Publishes the file as `target` and says whether `target` was new: a hard link is atomic and
   * create-only, so "nothing was there" is known for certain even with writers in other processes.
   * When something was there (or the filesystem has no hard links) it replaces it as publishAs does
   * and answers false.
   */
  async publishAsNew(target: string): Promise<boolean> {
    try {
      await linkPath(this.path, target);
    } catch {
      await this.publishAs(target);
      return false;
    }
    this.published = true;
    // The temp name only; a disk budget run removes stale temp files.
    await unlinkPath(this.path).catch(() => undefined);
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
