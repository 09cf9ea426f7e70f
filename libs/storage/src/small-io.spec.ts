import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeDirectory, makeDirectoryOffLoop } from './small-io';

/** makeDirectory and makeDirectoryOffLoop on a real filesystem: missing levels, a directory there already, a cause named. */

let root: string;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'small-io-'));
});

afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

describe.each([
  ['makeDirectory', (dir: string) => Promise.resolve().then(() => makeDirectory(dir))],
  ['makeDirectoryOffLoop', makeDirectoryOffLoop],
])('%s', (_name, make) => {
  it('creates every missing level, and leaves a directory that is there already as it is', async () => {
    const dir = join(root, 'ab', 'cd', 'original');
    await make(dir);
    expect(statSync(dir).isDirectory()).toBe(true);
    writeFileSync(join(dir, 'kept'), 'x');
    await make(dir);
    expect(statSync(join(dir, 'kept')).isFile()).toBe(true);
  });

  it('names the cause when a level cannot be a directory', async () => {
    writeFileSync(join(root, 'ab'), 'a file where a directory belongs');
    await expect(make(join(root, 'ab', 'cd'))).rejects.toMatchObject({ code: 'ENOTDIR' });
  });
});
