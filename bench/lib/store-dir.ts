import { accessSync, constants, statfsSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** statfs(2) magic numbers of the filesystems a store is likely to sit on. */
const FILESYSTEMS: Record<number, string> = {
  0xef53: 'ext2/3/4',
  0x01021994: 'tmpfs',
  0x58465342: 'xfs',
  0x9123683e: 'btrfs',
  0x794c7630: 'overlayfs',
};

const RAM_DIR = '/dev/shm';

function writableTmpfs(dir: string): boolean {
  try {
    accessSync(dir, constants.W_OK);
    return filesystemOf(dir) === 'tmpfs';
  } catch {
    return false;
  }
}

/** The kind of filesystem `dir` is on, or its statfs magic number in hex when it is none of the usual ones. */
function filesystemOf(dir: string): string {
  const type = statfsSync(dir).type;
  return FILESYSTEMS[type] ?? `0x${type.toString(16)}`;
}

/**
 * Where the clusters of the throughput benchmarks keep their stores: BENCH_DATA_DIR when set, else
 * /dev/shm when it is a writable tmpfs, else the OS temp dir. A store on disk measures the disk's
 * filesystem as much as the cloud: on an ext4 without a journal (these VMs' root), each new file or
 * directory scans past recently deleted inodes, 120–580 µs of kernel time per creation depending on
 * how many files runs of the last minutes deleted, against 25–30 µs on a journaled ext4 and 10–15
 * µs on tmpfs (README, "The store's filesystem"). The stores here hold a few thousand small files.
 */
function benchStoreRoot(): string {
  const chosen = process.env['BENCH_DATA_DIR'];
  if (chosen) return chosen;
  return writableTmpfs(RAM_DIR) ? RAM_DIR : tmpdir();
}

let announced = false;

/** A fresh store directory under benchStoreRoot(); says once per process where stores live. */
export async function makeBenchStoreDir(name: string): Promise<string> {
  const root = benchStoreRoot();
  if (!announced) {
    announced = true;
    console.log(`Cluster stores under ${root} (${filesystemOf(root)}); BENCH_DATA_DIR=<dir> puts them elsewhere.`);
  }
  return mkdtemp(join(root, `bench-${name}-`));
}
