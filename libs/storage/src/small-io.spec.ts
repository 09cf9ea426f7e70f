import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeDirectory } from './small-io';

/** makeDirectory on a real filesystem: missing levels, a directory there already, a cause named. */

let root: string;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'small-io-'));
});

afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

it('creates every missing level, and leaves a directory that is there already as it is', () => {
  const dir = join(root, 'ab', 'cd', 'original');
  makeDirectory(dir);
  expect(statSync(dir).isDirectory()).toBe(true);
  writeFileSync(join(dir, 'kept'), 'x');
  makeDirectory(dir);
  expect(statSync(join(dir, 'kept')).isFile()).toBe(true);
});

it('names the cause when a level cannot be a directory', () => {
  writeFileSync(join(root, 'ab'), 'a file where a directory belongs');
  expect(() => makeDirectory(join(root, 'ab', 'cd'))).toThrow(expect.objectContaining({ code: 'ENOTDIR' }));
});
