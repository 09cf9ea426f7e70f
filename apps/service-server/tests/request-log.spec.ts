import { setTimeout as sleep } from 'node:timers/promises';
import { makeImage, makeNoiseImage } from '@image-cloud/imaging/testing';
import { type SystemUnderTest, bodyOf, startSystem } from './system-under-test';

/** The log lines of a real server and worker: one per request, the request id in the jobs, no secrets, no stack for a client that left. */
describe('request log', () => {
  let system: SystemUnderTest;
  const lines: string[] = [];
  const entries = () => lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  const requestLines = (requestId: string) => entries().filter((entry) => entry['msg'] === 'request' && entry['requestId'] === requestId);

  beforeAll(async () => {
    system = await startSystem({ name: 'request-log', logLines: lines });
    system.origin.serveBytes('photo.jpg', await makeImage({ width: 320, height: 240 }), 'image/jpeg');
    system.origin.serveBytes('noise.jpg', await makeNoiseImage(2500, 2500), 'image/jpeg');
  }, 60_000);

  afterAll(async () => {
    await system?.stop();
  });

  it('logs one info line per request with route, status, code, cache, lane and ms, and the request id travels into the jobs', async () => {
    const url = `${system.origin.url('/bytes/photo.jpg')}?token=origin-secret-1&signature=origin-secret-2`;
    const response = await system.request(`/get_image?${new URLSearchParams({ url, resize_width: '100' })}`, { headers: { 'X-Request-Id': 'req-miss-1' } });
    await bodyOf(response);
    expect([response.status, response.headers.get('x-request-id')]).toEqual([200, 'req-miss-1']);
    const failed = await system.request('/get_image?url=nope');
    const generatedId = failed.headers.get('x-request-id')!;
    expect(generatedId).toMatch(/^[0-9a-f-]{36}$/);
    await sleep(100); // the 'close' event of the answer comes after its last byte

    expect(requestLines('req-miss-1')).toEqual([
      expect.objectContaining({ level: 'info', route: '/get_image', status: 200, cache: 'miss', lane: 'normal', ms: expect.any(Number) }),
    ]);
    expect(requestLines(generatedId)).toEqual([expect.objectContaining({ level: 'info', route: '/get_image', status: 400, code: 'bad_parameter', cache: 'none' })]);
    const jobs = entries().filter((entry) => entry['msg'] === 'job finished' && entry['requestId'] === 'req-miss-1');
    expect(jobs.map((entry) => entry['stage']).sort()).toEqual(['fetch', 'render']);
    expect(lines.join('\n')).not.toMatch(/origin-secret/);
  });

  it('does not take a client that hung up for an error', async () => {
    const controller = new AbortController();
    const pending = system.request(`/get_image?url=${encodeURIComponent(system.origin.url('/slow?ms=1500'))}&resize_width=10`, {
      signal: controller.signal,
      headers: { 'X-Request-Id': 'req-gone-1' },
    });
    await sleep(300);
    controller.abort();
    await expect(pending).rejects.toThrow();
    let logged: Array<Record<string, unknown>> = [];
    for (let tries = 0; logged.length === 0 && tries < 50; tries++) {
      await sleep(100);
      logged = requestLines('req-gone-1');
    }
    expect(logged).toEqual([expect.objectContaining({ level: 'info', status: 499 })]);

    // Hanging up in the middle of a stored original's bytes.
    const original = `/get_image?url=${encodeURIComponent(system.origin.url('/bytes/noise.jpg'))}`;
    await bodyOf(await system.request(original));
    const streaming = new AbortController();
    const partial = await system.request(original, { signal: streaming.signal, headers: { 'X-Request-Id': 'req-gone-2' } });
    const reader = partial.body!.getReader();
    await reader.read();
    streaming.abort();
    await reader.read().catch(() => undefined);
    for (let tries = 0; requestLines('req-gone-2').length === 0 && tries < 50; tries++) await sleep(100);
    expect(requestLines('req-gone-2')).toEqual([expect.objectContaining({ status: 499, cache: 'hit' })]);

    // The first job finishes anyway (it fills the cache); nothing of either is an error.
    await sleep(1_500);
    expect(entries().filter((entry) => entry['level'] === 'error')).toEqual([]);
  });
});
