import { closeSync, fstatSync, mkdirSync, openSync, readFileSync, readSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { isNotFound } from './fs-errors';

/**
 * Why the store mixes synchronous and asynchronous file calls: an asynchronous call goes through
 * libuv's thread pool, and the hand-off to a pool thread and back costs far more CPU than the
 * system call itself (measured on the 2-core VMs this cloud is benchmarked on: about 40 µs per
 * call and 180 µs for a small `readFile`, against 5–10 µs synchronously). A miss or a hit makes
 * a dozen such calls, so the hand-offs cost more than the HTTP request. Calls that move no bulk
 * data (open, stat, rename, close) and reads or writes up to this size are therefore made
 * synchronously; they hit the page cache and block the event loop for microseconds, as nginx's
 * own file serving does. Bigger transfers (originals of megabytes) stay asynchronous.
 *
 * Calls that change a directory are the exception on the write path. Creating a file or a
 * directory can cost the kernel far more than a read: on an ext4 without a journal (the root of the
 * VMs this cloud is benchmarked on) each new inode is found by scanning past inodes deleted in the
 * last minutes, 120–580 µs per creation depending on how many files were deleted recently, against
 * 25–30 µs on a journaled ext4. There a worker storing a hundred originals a second spent a fifth
 * of its time blocked in them, while the downloads it held slots for waited to be read. Creating,
 * renaming, linking and unlinking therefore go through the thread pool.
 */
export const SMALL_IO_BYTES = 256 * 1024;

/** Writes all of `bytes` at the descriptor's position: synchronously when small, else with `writeAsync`. */
export async function writeSmallOrAsync(fd: number, bytes: Buffer, writeAsync: (fd: number, bytes: Buffer) => Promise<void>): Promise<void> {
  if (bytes.length > SMALL_IO_BYTES) return writeAsync(fd, bytes);
  for (let offset = 0; offset < bytes.length; ) offset += writeSync(fd, bytes, offset, bytes.length - offset);
}

/** A small file's text, or null when it does not exist. */
export function readSmallText(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    if (isNotFound(error)) return null;
    throw error;
  }
}

/** Whether a path exists (as anything). */
export function pathExists(path: string): boolean {
  return statSync(path, { throwIfNoEntry: false }) !== undefined;
}

/** An open descriptor on `path` with its size, or null when the path does not exist. */
export function openForReading(path: string): { fd: number; size: number } | null {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (error) {
    if (isNotFound(error)) return null;
    throw error;
  }
  try {
    return { fd, size: fstatSync(fd).size };
  } catch (error) {
    closeSync(fd);
    throw error;
  }
}

/** Reads exactly `size` bytes from the start of `fd` (a file of at most SMALL_IO_BYTES); fewer means the file shrank. */
export function readSmall(fd: number, size: number): Buffer | null {
  const bytes = Buffer.allocUnsafe(size);
  let offset = 0;
  while (offset < size) {
    const read = readSync(fd, bytes, offset, size - offset, offset);
    if (read === 0) return null;
    offset += read;
  }
  return bytes;
}

/**
 * `mkdir -p`. Node's recursive mkdir goes first: it answers "there already" (every variant after an
 * original's first) and "levels missing" (every new original) without a JS exception each, which
 * cost more than the system calls. It reports ENOENT on a read-only filesystem, though, which would
 * read as "deleted meanwhile": when it fails, a plain mkdir one level at a time names the cause
 * (EROFS).
 */
export function makeDirectory(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true });
    return;
  } catch {
    makeDirectoryLevelByLevel(dir);
  }
}

/**
 * `mkdir -p` that keeps the event loop free while directories are created: a directory that exists
 * already (every variant after an original's first) is known from one cheap stat.
 */
export async function makeDirectoryOffLoop(dir: string): Promise<void> {
  if (statSync(dir, { throwIfNoEntry: false })?.isDirectory()) return;
  try {
    await mkdir(dir, { recursive: true });
  } catch {
    makeDirectoryLevelByLevel(dir);
  }
}

function makeDirectoryLevelByLevel(dir: string): void {
  try {
    mkdirSync(dir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return;
    if (code !== 'ENOENT' || dirname(dir) === dir) throw error;
    makeDirectoryLevelByLevel(dirname(dir));
    try {
      mkdirSync(dir);
    } catch (again) {
      if ((again as NodeJS.ErrnoException).code !== 'EEXIST') throw again;
    }
  }
}

/** Creates a small file (it must not exist) holding `bytes`. */
export function writeSmallFile(path: string, bytes: Buffer): void {
  writeFileSync(path, bytes, { flag: 'wx' });
}
