import { SignedRequestVerifier, canonicalRequest, signRequest, verifySignedRequest } from './signed-url';

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

  it('refuse a repeated tenant or expires parameter, even a verified URL with one added', () => {
    const [path, params] = paramsOf(signed);
    expect(verifySignedRequest(path, params, [key], now).ok).toBe(true);
    for (const name of ['tenant', 'expires', 'signature']) {
      const value = params.find(([n]) => n === name)![1];
      expect(verifySignedRequest(path, [...params, [name, value]], [key], now)).toMatchObject({ ok: false, reason: expect.stringMatching(/exactly one/) });
    }
  });

  it('leave the signature and a legacy token out of the canonical text', () => {
    expect(canonicalRequest('/p', [['b', '2'], ['signature', 's'], ['a', '1'], ['token', 't']])).toBe('/p?a=1&b=2');
  });

  it('carry no token', () => {
    expect(signed).not.toMatch(/token=/);
  });
});

describe('SignedRequestVerifier (verified signatures remembered)', () => {
  const signedUrl = (params: Record<string, string> = {}, expiresAt = now + 60, signingKey = key) =>
    paramsOf(signRequest({ path: '/get_image', params: { url: 'https://shop.example/a.jpg', resize_width: '200', ...params }, tenant: 'shop', expiresAt, key: signingKey }));

  it('computes the HMAC of a signed URL once, however often it is verified', () => {
    const verifier = new SignedRequestVerifier();
    const [path, params] = signedUrl();
    for (let i = 0; i < 5; i++) expect(verifier.verify(path, params, [key], now + i)).toEqual({ ok: true, tenant: 'shop' });
    expect(verifier.hmacsComputed).toBe(1);
  });

  it('still refuses a remembered URL once expired, or further ahead than the longest lifetime', () => {
    const verifier = new SignedRequestVerifier();
    const [path, params] = signedUrl();
    expect(verifier.verify(path, params, [key], now).ok).toBe(true);
    expect(verifier.verify(path, params, [key], now + 61)).toMatchObject({ ok: false, reason: expect.stringMatching(/expired/) });
    expect(verifier.verify(path, params, [key], now, 30)).toMatchObject({ ok: false, reason: expect.stringMatching(/longer than a signed URL may live/) });
    expect(verifier.verify(path, params, [key], now).ok).toBe(true);
  });

  it('refuses a tampered copy of a remembered URL, and a forged signature for it, and remembers neither', () => {
    const verifier = new SignedRequestVerifier();
    const [path, params] = signedUrl();
    expect(verifier.verify(path, params, [key], now).ok).toBe(true);
    const tampered = params.map(([n, v]): [string, string] => (n === 'resize_width' ? [n, '2000'] : [n, v]));
    const extended = [...params, ['force_to_size', 'true'] as [string, string]];
    const [, otherParams] = signedUrl({ resize_width: '300' });
    const otherSignature = otherParams.find(([n]) => n === 'signature')![1];
    const forged = params.map(([n, v]): [string, string] => (n === 'signature' ? [n, otherSignature] : [n, v]));
    for (const attempt of [tampered, extended, forged]) {
      for (let i = 0; i < 2; i++) expect(verifier.verify(path, attempt, [key], now)).toMatchObject({ ok: false, reason: expect.stringMatching(/does not match/) });
    }
    // Each refusal was an HMAC computed again: nothing of them was remembered as valid.
    expect(verifier.hmacsComputed).toBe(1 + 3 * 2);
    expect(verifier.verify(path, params, [key], now).ok).toBe(true);
    expect(verifier.hmacsComputed).toBe(7);
  });

  it('stops accepting a remembered URL as soon as its key is retired', () => {
    const verifier = new SignedRequestVerifier();
    const [path, params] = signedUrl();
    expect(verifier.verify(path, params, ['new-key-0123456789', key], now).ok).toBe(true);
    expect(verifier.verify(path, params, ['new-key-0123456789'], now)).toMatchObject({ ok: false, reason: expect.stringMatching(/does not match/) });
    expect(verifier.verify(path, params, ['new-key-0123456789', key], now).ok).toBe(true);
  });

  it('keeps at most its capacity, dropping the least recently verified', () => {
    const verifier = new SignedRequestVerifier(2);
    const [first, second, third] = ['1', '2', '3'].map((width) => signedUrl({ resize_width: width }));
    for (const [path, params] of [first!, second!, first!, third!]) expect(verifier.verify(path, params, [key], now).ok).toBe(true);
    expect(verifier.hmacsComputed).toBe(3);
    // `first` was used again after `second`, so `second` made room for `third`.
    expect(verifier.verify(...first!, [key], now).ok).toBe(true);
    expect(verifier.hmacsComputed).toBe(3);
    expect(verifier.verify(...second!, [key], now).ok).toBe(true);
    expect(verifier.hmacsComputed).toBe(4);
  });
});

