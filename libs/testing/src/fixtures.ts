import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

/** The repository root: the nearest folder above this file (source or bundle) holding nx.json. */
function repositoryRoot(): string {
  let dir = __dirname;
  while (!existsSync(join(dir, 'nx.json')) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
}

/** `../shared/fixtures` beside the repository; CI always has it, a plain clone does not. */
export const SHARED_FIXTURES_DIR = resolve(repositoryRoot(), '..', 'shared', 'fixtures');
export const CORPUS_DIR = join(SHARED_FIXTURES_DIR, 'images');
export const BENCH_PHOTOS_DIR = join(SHARED_FIXTURES_DIR, 'bench-photos');

export function hasCorpus(): boolean {
  return existsSync(join(CORPUS_DIR, 'MANIFEST.tsv'));
}

export interface ManifestRow {
  file: string;
  /** sharp's format name, or `error: <message>` when sharp cannot read the header. */
  format: string;
  width: number;
  height: number;
  frames: number;
  bytes: number;
  note: string;
}

/** Rows of a fixtures MANIFEST.tsv (`file format width height frames bytes note`). */
export function readManifest(dir: string = CORPUS_DIR): ManifestRow[] {
  const [, ...lines] = readFileSync(join(dir, 'MANIFEST.tsv'), 'utf8').trim().split('\n');
  return lines.map((line) => {
    const [file, format, width, height, frames, bytes, note] = line.split('\t');
    return { file, format, width: Number(width), height: Number(height), frames: Number(frames), bytes: Number(bytes), note: note ?? '' };
  });
}
