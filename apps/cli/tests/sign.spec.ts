import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { verifySignedRequest } from '@image-cloud/tenant-auth';

const CLI = resolve(__dirname, '../../../dist/cli/main.js');
const KEY = 'cli-signing-key-0123456789';

function run(args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, ...env } });
}

describe('image-cloud sign', () => {
  it('prints a signed URL the server accepts, with no token in it', () => {
    const result = run(['sign', '--base', 'https://img.example.com/', '--tenant', 'shop', '--expires-in', '600', 'url=https://shop.example/p.jpg', 'resize_width=200'], {
      IMAGE_CLOUD_SIGNING_KEY: KEY,
    });
    expect(result.status).toBe(0);
    const url = new URL(result.stdout.trim());
    expect(url.origin + url.pathname).toBe('https://img.example.com/get_image');
    expect(url.searchParams.get('url')).toBe('https://shop.example/p.jpg');
    expect(url.searchParams.has('token')).toBe(false);
    const now = Math.floor(Date.now() / 1000);
    expect(verifySignedRequest(url.pathname, [...url.searchParams], [KEY], now)).toEqual({ ok: true, tenant: 'shop' });
    expect(Number(url.searchParams.get('expires'))).toBeGreaterThan(now + 590);
  });

  it('says what is missing', () => {
    const noKey = run(['sign', '--base', 'https://img.example.com', '--tenant', 'shop', 'url=https://x/y.jpg'], { IMAGE_CLOUD_SIGNING_KEY: '' });
    expect(noKey.status).toBe(2);
    expect(noKey.stderr).toMatch(/IMAGE_CLOUD_SIGNING_KEY is not set/);
    const noUrl = run(['sign', '--base', 'https://img.example.com', '--tenant', 'shop'], { IMAGE_CLOUD_SIGNING_KEY: KEY });
    expect(noUrl.stderr).toMatch(/url=… parameter is required/);
    const badBase = run(['sign', '--base', 'img.example.com', '--tenant', 'shop', 'url=https://x/y.jpg'], { IMAGE_CLOUD_SIGNING_KEY: KEY });
    expect(badBase.status).toBe(2);
    expect(badBase.stderr).toMatch(/--base must be an absolute http\(s\) URL, but received "img.example.com"/);
    expect(run([]).stderr).toMatch(/usage: image-cloud sign/);
  });
});
