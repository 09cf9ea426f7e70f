import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makeImage } from '@image-cloud/imaging/testing';
import { signRequest } from '@image-cloud/tenant-auth';
import { freePort, spawnBuiltApp, stopProcesses, waitForHttp } from '@image-cloud/testing';
import { type SystemUnderTest, bodyOf, startSystem } from './system-under-test';

const SHOP_TOKEN = 'shop-token-0123456789abcdef';
const TINY_TOKEN = 'tiny-token-0123456789abcdef';
const PAIR_TOKEN = 'pair-token-0123456789abcdef';
const OLD_KEY = 'signing-key-old-0123456789';
const NEW_KEY = 'signing-key-new-0123456789';

const logLines: string[] = [];
let system: SystemUnderTest;
let imageUrl: string;

beforeAll(async () => {
  system = await startSystem({
    name: 'auth',
    logLines,
    config: {
      tenants: {
        shop: { token: SHOP_TOKEN, requestsPerSecond: 1000, burst: 1000 },
        tiny: { token: TINY_TOKEN, requestsPerSecond: 2, burst: 3 },
        pair: { token: PAIR_TOKEN, requestsPerSecond: 5, burst: 5 },
      },
      signingKeys: [NEW_KEY, OLD_KEY],
    },
  });
  system.origin.serveBytes('photo.jpg', await makeImage({ width: 400, height: 300 }), 'image/jpeg');
  imageUrl = system.origin.url('/bytes/photo.jpg');
}, 30_000);

afterAll(async () => {
  await system?.stop();
});

const getImage = (init?: RequestInit, extra = '') => system.request(`/get_image?url=${encodeURIComponent(imageUrl)}&resize_width=100${extra}`, init);

async function expectError(response: Response, status: number, code: string) {
  expect(response.status).toBe(status);
  expect(((await response.json()) as { error: string }).error).toBe(code);
}

describe('tokens', () => {
  it('answers 401 unauthorized without a token and 403 forbidden with a wrong one', async () => {
    await expectError(await getImage(), 401, 'unauthorized');
    await expectError(await getImage({ headers: { Authorization: 'Bearer not-the-token-0123456789' } }), 403, 'forbidden');
    await expectError(await getImage(undefined, '&token=not-the-token'), 403, 'forbidden');
  });

  it('accepts Authorization: Bearer and the legacy token parameter', async () => {
    const bearer = await getImage({ headers: { Authorization: `Bearer ${SHOP_TOKEN}` } });
    expect(bearer.status).toBe(200);
    await bodyOf(bearer);
    const legacy = await getImage(undefined, `&token=${SHOP_TOKEN}`);
    expect(legacy.status).toBe(200);
    await bodyOf(legacy);
  });

  it('needs a token for delete_image and alternative_clouds, not for health checks', async () => {
    await expectError(await system.request(`/delete_image?url=${encodeURIComponent(imageUrl)}`, { method: 'DELETE' }), 401, 'unauthorized');
    await expectError(await system.request('/alternative_clouds'), 401, 'unauthorized');
    expect((await system.request('/healthz')).status).toBe(200);
  });
});

describe('signed URLs', () => {
  const signed = (key: string, expiresAt: number, params: Record<string, string> = {}, path = '/get_image') =>
    signRequest({ path, params: { url: imageUrl, resize_width: '120', ...params }, tenant: 'shop', expiresAt, key });
  const inAnHour = () => Math.floor(Date.now() / 1000) + 3600;

  it('serves a signed URL without a token, with either current key', async () => {
    for (const key of [NEW_KEY, OLD_KEY]) {
      const response = await system.request(signed(key, inAnHour()));
      expect(response.status).toBe(200);
      await bodyOf(response);
    }
  });

  it('refuses tampered, expired and wrongly keyed URLs with 403 bad_signature', async () => {
    await expectError(await system.request(signed(NEW_KEY, inAnHour()).replace('resize_width=120', 'resize_width=121')), 403, 'bad_signature');
    await expectError(await system.request(`${signed(NEW_KEY, inAnHour())}&force_to_size=true`), 403, 'bad_signature');
    await expectError(await system.request(signed(NEW_KEY, Math.floor(Date.now() / 1000) - 1)), 403, 'bad_signature');
    await expectError(await system.request(signed('retired-key-0123456789', inAnHour())), 403, 'bad_signature');
  });

  it('serves signed get_thumbnail URLs too, and refuses them tampered', async () => {
    const thumbnail = signRequest({ path: '/get_thumbnail', params: { url: imageUrl, size: '200' }, tenant: 'shop', expiresAt: inAnHour(), key: NEW_KEY });
    const response = await system.request(thumbnail);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('image/jpeg');
    await bodyOf(response);
    await expectError(await system.request(thumbnail.replace('size=200', 'size=250')), 403, 'bad_signature');
  });

  it('does not accept a signature for anything but image GETs', async () => {
    const url = signRequest({ path: '/delete_image', params: { url: imageUrl }, tenant: 'shop', expiresAt: inAnHour(), key: NEW_KEY });
    await expectError(await system.request(url, { method: 'DELETE' }), 403, 'bad_signature');
  });
});

describe('rate limits', () => {
  it('answers 429 rate_limited with Retry-After past a tenant burst', async () => {
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    for (let i = 0; i < 8; i++) {
      const response = await getImage({ headers: { Authorization: `Bearer ${TINY_TOKEN}` } });
      statuses.push(response.status);
      if (response.status === 429) retryAfter = response.headers.get('retry-after');
      await bodyOf(response);
    }
    expect(statuses.filter((s) => s === 200).length).toBeGreaterThanOrEqual(3);
    expect(statuses.filter((s) => s === 200).length).toBeLessThanOrEqual(4);
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(4);
    expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
  });

  it('keeps the burst + rate × t boundary across two server processes', async () => {
    const port = await freePort();
    const configPath = join(system.config.dataDir, 'second-server.json');
    await writeFile(configPath, JSON.stringify({ tenants: { pair: { token: PAIR_TOKEN, requestsPerSecond: 5, burst: 5 } }, allowPrivateOrigins: ['127.0.0.0/8'] }));
    const second = spawnBuiltApp('service-server', {
      PORT: String(port),
      HOST: '127.0.0.1',
      REDIS_URL: system.config.redisUrl,
      DATA_DIR: system.config.dataDir,
      CONFIG: configPath,
      QUEUE_PREFIX: system.config.queuePrefix,
      LOG_LEVEL: 'silent',
    });
    try {
      await waitForHttp(`http://127.0.0.1:${port}/healthz`);
      // Warm the cache so every request below is a cheap hit: only the limiter decides.
      await bodyOf(await getImage({ headers: { Authorization: `Bearer ${SHOP_TOKEN}` } }));
      const bases = [system.server.url, `http://127.0.0.1:${port}`];
      const started = Date.now();
      let allowed = 0;
      let limited = 0;
      for (let i = 0; Date.now() - started < 2_000; i++) {
        const response = await fetch(`${bases[i % 2]}/get_image?url=${encodeURIComponent(imageUrl)}&resize_width=100`, { headers: { Authorization: `Bearer ${PAIR_TOKEN}` } });
        await bodyOf(response);
        if (response.status === 200) allowed++;
        else if (response.status === 429) limited++;
        await new Promise((r) => setTimeout(r, 20));
      }
      const seconds = (Date.now() - started) / 1000;
      const expected = 5 + 5 * seconds;
      expect(limited).toBeGreaterThan(0);
      expect(allowed).toBeGreaterThanOrEqual(Math.floor(expected) - 2);
      expect(allowed).toBeLessThanOrEqual(Math.ceil(expected) + 1);
    } finally {
      await stopProcesses([second]);
    }
  }, 30_000);
});

describe('logs', () => {
  it('warn loudly at start-up when no tenant is configured (open mode), and say it listens on 127.0.0.1 only', async () => {
    const port = await freePort();
    const open = spawnBuiltApp(
      'service-server',
      // No HOST: open mode picks 127.0.0.1 itself.
      { PORT: String(port), REDIS_URL: system.config.redisUrl, DATA_DIR: system.config.dataDir, QUEUE_PREFIX: system.config.queuePrefix, LOG_LEVEL: 'info' },
      { stdio: 'pipe' },
    );
    let output = '';
    open.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    open.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    try {
      await waitForHttp(`http://127.0.0.1:${port}/healthz`);
    } finally {
      await stopProcesses([open]);
    }
    const warning = output.split('\n').find((line) => line.includes('OPEN MODE'));
    expect(warning).toBeDefined();
    expect(JSON.parse(warning!)).toMatchObject({ level: 'warn' });
    const listening = output.split('\n').find((line) => line.includes('service server listening'));
    expect(JSON.parse(listening!)).toMatchObject({ host: '127.0.0.1', msg: expect.stringContaining(`127.0.0.1:${port} (open mode: this machine only`) });
  }, 30_000);

  it('never contain a token or a signature', async () => {
    await getImage(undefined, `&token=${SHOP_TOKEN}`).then(bodyOf);
    const signedUrl = signRequest({ path: '/get_image', params: { url: imageUrl }, tenant: 'shop', expiresAt: Math.floor(Date.now() / 1000) + 60, key: NEW_KEY });
    await system.request(signedUrl).then(bodyOf);
    const signature = new URL(signedUrl, 'http://x').searchParams.get('signature')!;
    const text = logLines.join('\n');
    expect(logLines.length).toBeGreaterThan(10);
    expect(text).toContain('[redacted]');
    for (const secret of [SHOP_TOKEN, TINY_TOKEN, PAIR_TOKEN, signature, NEW_KEY, OLD_KEY]) expect(text).not.toContain(secret);
  });
});
