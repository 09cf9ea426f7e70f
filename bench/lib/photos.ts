import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BENCH_PHOTOS_DIR } from '@image-cloud/testing';

/** The 20 bench photographs (1.3–4.9 MP JPEGs) of the fixture corpus beside the repository. */
export function benchPhotos(): Array<{ name: string; bytes: Buffer }> {
  if (!existsSync(BENCH_PHOTOS_DIR)) {
    throw new Error(`this benchmark renders the 20 bench photographs, expected in ${BENCH_PHOTOS_DIR}; that folder is not here`);
  }
  const names = readdirSync(BENCH_PHOTOS_DIR).filter((name) => name.endsWith('.jpg')).sort();
  if (names.length === 0) throw new Error(`no bench photos in ${BENCH_PHOTOS_DIR}`);
  return names.map((name) => ({ name, bytes: readFileSync(join(BENCH_PHOTOS_DIR, name)) }));
}
