import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { DIST_DIR } from '@image-cloud/testing';

const CLI = join(DIST_DIR, 'cli/main.js');

function run(args: string[]) {
  // No signing key and no token: help must not need them.
  const env = { ...process.env, IMAGE_CLOUD_SIGNING_KEY: '', IMAGE_CLOUD_TOKEN: '' };
  return spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env });
}

describe('image-cloud --help', () => {
  it.each([['--help'], ['-h'], ['help']])('%s prints the usage, the commands and the options on stdout and exits 0', (flag) => {
    const result = run([flag]);
    expect({ status: result.status, stderr: result.stderr }).toEqual({ status: 0, stderr: '' });
    expect(result.stdout).toMatch(/^usage: image-cloud sign/);
    expect(result.stdout).toMatch(/commands:\n\s+sign\s+.+\n\s+prefetch\s+/);
    expect(result.stdout).toMatch(/options:\n\s+-h, --help/);
  });

  it.each([
    ['sign', ['--base', '--tenant', '--path', '--expires-in', 'IMAGE_CLOUD_SIGNING_KEY', 'format_when_resize=auto', 'dpr=', 'quality=']],
    ['prefetch', ['--base', '--interval', '--placeholders', 'IMAGE_CLOUD_TOKEN']],
  ])('%s --help describes that command and its options, and runs nothing', (command, options) => {
    for (const args of [[command, '--help'], [command, '--base', 'https://img.example.com', '-h'], ['--help', command]]) {
      const result = run(args);
      expect({ args, status: result.status, stderr: result.stderr }).toEqual({ args, status: 0, stderr: '' });
      expect(result.stdout).toMatch(new RegExp(`^usage: image-cloud ${command} `));
      for (const option of options) expect(result.stdout).toContain(option);
    }
  });

  it('still answers an unknown command or a missing one with the usage on stderr and exit code 2', () => {
    for (const args of [['bogus'], []]) {
      const result = run(args);
      expect(result.status).toBe(2);
      expect(result.stdout).toBe('');
      expect(result.stderr).toMatch(/usage: image-cloud sign/);
    }
  });
});
