import { canonicalRequest, signRequest, verifySignedRequest } from './signed-url';

const key = 'k1-0123456789abcdef';
const now = 1_800_000_000;

function paramsOf(pathAndQuery: string): [string, Array<[string, string]>] {
  const url = new URL(pathAndQuery, 'http://cloud');
  return [url.pathname, [...url.searchParams]];
}

describe('signed URLs', () => {
  const signed = signRequest({ path: '/get_image', params: { url: 'https://shop.example/a.jpg?x=1&y=2', resize_width: '200' }, tenant: 'shop', expiresAt: now + 60, key });

  it('verify with the key that signed them, whatever the parameter order', () => {
    const [path, params] = paramsOf(signed);
    expect(verifySignedRequest(path, params, [key], now)).toEqual({ ok: true, tenant: 'shop' });
    expect(verifySignedRequest(path, [...params].reverse(), [key], now)).toEqual({ ok: true, tenant: 'shop' });
  });

  it('accept any of several keys (rotation)', () => {
    const [path, params] = paramsOf(signed);
    expect(verifySignedRequest(path, params, ['old-key-0123456789', key], now).ok).toBe(true);
  });

  it('refuse a tampered parameter, an added one, another path, a wrong key, an expired URL', () => {
    const [path, params] = paramsOf(signed);
    const tampered = params.map(([n, v]): [string, string] => (n === 'resize_width' ? [n, '2000'] : [n, v]));
    expect(verifySignedRequest(path, tampered, [key], now)).toMatchObject({ ok: false, reason: expect.stringMatching(/does not match/) });
    expect(verifySignedRequest(path, [...params, ['force_to_size', 'true']], [key], now).ok).toBe(false);
    expect(verifySignedRequest('/get_thumbnail', params, [key], now).ok).toBe(false);
    expect(verifySignedRequest(path, params, ['another-key-0123456789'], now).ok).toBe(false);
    expect(verifySignedRequest(path, params, [key], now + 61)).toMatchObject({ ok: false, reason: expect.stringMatching(/expired/) });
  });

  it('refuse a tenant or expiry changed after signing, and duplicated signature parameters', () => {
    const [path, params] = paramsOf(signed);
    const otherTenant = params.map(([n, v]): [string, string] => (n === 'tenant' ? [n, 'rival'] : [n, v]));
    expect(verifySignedRequest(path, otherTenant, [key], now).ok).toBe(false);
    const later = params.map(([n, v]): [string, string] => (n === 'expires' ? [n, String(now + 99_999)] : [n, v]));
    expect(verifySignedRequest(path, later, [key], now).ok).toBe(false);
    expect(verifySignedRequest(path, [...params, ['signature', 'x']], [key], now).ok).toBe(false);
  });

  it('leave the signature and a legacy token out of the canonical text', () => {
    expect(canonicalRequest('/p', [['b', '2'], ['signature', 's'], ['a', '1'], ['token', 't']])).toBe('/p?a=1&b=2');
  });

  it('carry no token', () => {
    expect(signed).not.toMatch(/token=/);
  });
});
