import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { targetSize } from '@image-cloud/contracts';
import { decodeImage } from '@image-cloud/imaging/testing';
import { CORPUS_DIR, type ManifestRow, hasCorpus, readManifest } from '@image-cloud/testing';
import { type SystemUnderTest, bodyOf, startSystem } from './system-under-test';

/**
 * Every file of ../shared/fixtures/images through get_image with a 200×200 box: the documented
 * status for each, a valid image of the promised size for the decodable ones, never a 500.
 */

/** Files whose answer is an error, with the status and code the error table gives for the case. */
const EXPECTED_ERRORS: Record<string, [number, string]> = {
  'relax.jp2': [415, 'unsupported_format'],
  'giant-image.jpg': [422, 'image_too_large'],
  'bad/323-nested-use.svg': [422, 'image_corrupt'],
  'bad/corrupt-header.jpg': [422, 'image_corrupt'],
  'bad/empty-file.tga': [415, 'unsupported_format'],
  'bad/hang_114.gif': [422, 'image_corrupt'],
  'bad/invalid.1.png': [422, 'image_corrupt'],
  'bad/skimage-truncated.jpg': [422, 'image_corrupt'],
  'bad/truncated.jpg': [422, 'image_corrupt'],
  'bad/truncated.png': [422, 'image_corrupt'],
};

/** Display size: EXIF orientations 5–8 swap width and height. */
function displaySize(row: ManifestRow): { width: number; height: number } {
  return /exif orientation [5-8]/.test(row.note) ? { width: row.height, height: row.width } : { width: row.width, height: row.height };
}

if (!hasCorpus() && process.env['CI']) {
  // CI always has the corpus beside the repository; missing there, it must not pass silently.
  test('the shared corpus is present in CI', () => {
    throw new Error(`${CORPUS_DIR} is missing; CI runs the corpus tests over every MANIFEST row.`);
  });
} else if (!hasCorpus()) {
  process.stdout.write(`corpus tests not run: ${CORPUS_DIR} is missing (it sits beside the repository in CI)\n`);
  test.todo('get_image over every file of ../shared/fixtures/images');
} else {
  const rows = readManifest();
  let system: SystemUnderTest;

  beforeAll(async () => {
    // The production wait (room for 5 s in the normal lane and 60 s in the big one): some hostile files burn both.
    system = await startSystem({ name: 'corpus', fixturesDir: CORPUS_DIR, config: { server: { waitTimeoutMs: 70_000 } } });
  });

  afterAll(async () => {
    await system?.stop();
  });

  describe('get_image 200×200 over the corpus', () => {
    it.each(rows.map((row) => [row.file, row] as const))('%s', async (_file, row) => {
      const response = await system.getImage(`/fixtures/${row.file}`, { resize_width: '200', resize_height: '200' });
      const expectedError = EXPECTED_ERRORS[row.file];
      if (expectedError) {
        const body = (await response.json()) as { error: string; message: string };
        expect({ status: response.status, error: body.error }).toEqual({ status: expectedError[0], error: expectedError[1] });
        expect(body.message.length).toBeGreaterThan(10);
        return;
      }
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toBe('image/jpeg');
      const decoded = await decodeImage(await bodyOf(response));
      const expected = targetSize(displaySize(row), { width: 200, height: 200, fit: 'inside', format: 'jpeg' });
      expect({ format: decoded.format, width: decoded.width, height: decoded.height }).toEqual({
        format: 'jpeg',
        width: expected.width,
        height: expected.height,
      });
    }, 30_000);
  });

  describe('originals and image_info over the corpus', () => {
    const decodable = rows.filter((row) => !row.format.startsWith('error') && !row.file.startsWith('bad/'));

    it.each(decodable.map((row) => [row.file, row] as const))('%s', async (_file, row) => {
      const original = await system.getImage(`/fixtures/${row.file}`);
      expect(original.status).toBe(200);
      expect((await bodyOf(original)).equals(readFileSync(join(CORPUS_DIR, row.file)))).toBe(true);

      const info = await system.request(`/image_info?url=${encodeURIComponent(system.origin.url(`/fixtures/${row.file}`))}`);
      expect(info.status).toBe(200);
      expect(await info.json()).toMatchObject({ ...displaySize(row), format: row.format, bytes: row.bytes, frames: row.frames });
    }, 30_000);
  });

  it('keeps serving after the whole corpus', async () => {
    expect((await system.request('/readyz')).status).toBe(200);
  });
}
