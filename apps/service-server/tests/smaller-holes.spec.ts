import { makeImage } from '@image-cloud/imaging/testing';
import { signRequest } from '@image-cloud/tenant-auth';
import { type SystemUnderTest, bodyOf, startSystem } from './system-under-test';

/** Section 5 of the hardening issue: parameters, methods, headers, signatures, admin deletes, self-pointing origins. */

const SHOP_TOKEN = 'shop-token-0123456789abcdef';
const ADMIN_TOKEN = 'admin-token-0123456789abcdef';
const KEY = 'signing-key-0123456789abcdef';
const SVG = '<svg xmlns="http://www.w3.org/2000/svg" width="40" height="20"><rect width="40" height="20" fill="red"/></svg>';

async function expectError(response: Response, status: number, code: string): Promise<string> {
  expect(response.status).toBe(status);
  expect(response.headers.get('x-content-type-options')).toBe('nosniff');
  const body = (await response.json()) as { error: string; message: string };
  expect(body.error).toBe(code);
  return body.message;
}

describe('an open cloud', () => {
  let system: SystemUnderTest;

  beforeAll(async () => {
    system = await startSystem({ name: 'holes-open', config: { selfHosts: ['img.cloud.example'] } });
    system.origin.serveBytes('photo.jpg', await makeImage({ width: 400, height: 300 }), 'image/jpeg');
    system.origin.serveBytes('drawing.svg', Buffer.from(SVG), 'image/svg+xml');
  }, 30_000);

  afterAll(async () => {
    await system?.stop();
  });

  it('answers a parameter two edits from a known name with 400 naming the right one; other unknown ones are ignored', async () => {
    const message = await expectError(await system.getImage('/bytes/photo.jpg', { resize_widht: '100' }), 400, 'bad_parameter');
    expect(message).toBe('Unknown parameter "resize_widht"; did you mean "resize_width"?');
    expect(await expectError(await system.getImage('/bytes/photo.jpg', { formt_when_resize: 'png' }), 400, 'bad_parameter')).toContain('"format_when_resize"');
    const extra = await system.getImage('/bytes/photo.jpg', { resize_width: '100', client_version: '7', v: '2' });
    expect(extra.status).toBe(200);
    await bodyOf(extra);
  });

  it('reads the old documentation spelling use_alternativ_clouds as use_alternative_clouds', async () => {
    const message = await expectError(await system.getImage('/bytes/photo.jpg', { use_alternativ_clouds: 'maybe' }), 400, 'bad_parameter');
    expect(message).toContain('"use_alternative_clouds" must be true, false, 1 or 0');
    const ok = await system.getImage('/bytes/photo.jpg', { use_alternativ_clouds: 'false', resize_width: '50' });
    expect(ok.status).toBe(200);
    await bodyOf(ok);
  });

  it('answers a wrong method on a known path with 405, an Allow header and the JSON error', async () => {
    const response = await system.request('/get_image?url=x', { method: 'POST' });
    expect(response.headers.get('allow')).toBe('GET, HEAD');
    await expectError(response, 405, 'method_not_allowed');
    const deleteWithGet = await system.request('/delete_image?url=x');
    expect(deleteWithGet.headers.get('allow')).toBe('DELETE');
    await expectError(deleteWithGet, 405, 'method_not_allowed');
    await expectError(await system.request('/fire_and_forget', { method: 'PUT' }), 405, 'method_not_allowed');
    await expectError(await system.request('/no_such_endpoint'), 404, 'not_found');
  });

  it('serves SVG inline with its sandboxing CSP', async () => {
    const response = await system.getImage('/bytes/drawing.svg');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('image/svg+xml');
    expect(response.headers.get('content-disposition')).toBe('inline');
    expect(response.headers.get('content-security-policy')).toContain('sandbox');
    await bodyOf(response);
  });

  it('refuses an origin that points back at this cloud: its listening address, or a configured self host', async () => {
    const jobsBefore = await system.jobsCreated();
    const nested = `${system.server.url}/get_image?url=${encodeURIComponent(system.origin.url('/bytes/photo.jpg'))}`;
    await expectError(await system.request(`/get_image?url=${encodeURIComponent(nested)}`), 403, 'origin_forbidden');
    const localhost = nested.replace('127.0.0.1', 'localhost');
    await expectError(await system.request(`/image_info?url=${encodeURIComponent(localhost)}`), 403, 'origin_forbidden');
    await expectError(await system.request(`/get_image?url=${encodeURIComponent('https://img.cloud.example/p.jpg')}`), 403, 'origin_forbidden');
    expect(await system.jobsCreated()).toBe(jobsBefore);
  });
});

describe('a cloud with tenants', () => {
  let system: SystemUnderTest;
  let imageUrl: string;

  beforeAll(async () => {
    system = await startSystem({
      name: 'holes-tenants',
      config: {
        tenants: { shop: { token: SHOP_TOKEN } },
        adminTokens: [ADMIN_TOKEN],
        signingKeys: [KEY],
        signedUrlMaxLifetimeSeconds: 3600,
      },
    });
    system.origin.serveBytes('photo.jpg', await makeImage({ width: 400, height: 300 }), 'image/jpeg');
    imageUrl = system.origin.url('/bytes/photo.jpg');
  }, 30_000);

  afterAll(async () => {
    await system?.stop();
  });

  const now = () => Math.floor(Date.now() / 1000);
  const signed = (expiresAt: number) => signRequest({ path: '/get_image', params: { url: imageUrl, resize_width: '60' }, tenant: 'shop', expiresAt, key: KEY });

  it('lets only an admin token delete an image: a tenant gets 403', async () => {
    const path = `/delete_image?url=${encodeURIComponent(imageUrl)}`;
    await expectError(await system.request(path, { method: 'DELETE', headers: { Authorization: `Bearer ${SHOP_TOKEN}` } }), 403, 'forbidden');
    await expectError(await system.request(path, { method: 'DELETE' }), 401, 'unauthorized');
    const admin = await system.request(path, { method: 'DELETE', headers: { Authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(admin.status).toBe(200);
    expect(await admin.json()).toMatchObject({ url: imageUrl });
  });

  it('refuses a signed URL that lives longer than the maximum lifetime', async () => {
    const message = await expectError(await system.request(signed(now() + 7200)), 403, 'bad_signature');
    expect(message).toContain('longer than a signed URL may live');
    const ok = await system.request(signed(now() + 600));
    expect(ok.status).toBe(200);
    await bodyOf(ok);
  });

  it('accepts only the canonical signature encoding', async () => {
    const canonical = signed(now() + 600);
    for (const variant of [`${canonical}=`, `${canonical}%3D%3D`, `${canonical}.`, `${canonical}%20`]) {
      await expectError(await system.request(variant), 403, 'bad_signature');
    }
  });
});
