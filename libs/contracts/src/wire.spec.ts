import { batchProgressSchema, batchReceiptSchema, cloudBaseUrl, originUrlSchema, peerImageUrl, validateOriginUrl } from './index';

describe('validateOriginUrl', () => {
  it.each([
    ['', 'is empty'],
    [`https://x.de/${'a'.repeat(4096)}`, 'is longer than 4096 characters'],
    ['not a url', 'must be an absolute http(s) URL, but received "not a url"'],
    ['ftp://example.com/a.jpg', 'must use http or https, but uses "ftp"'],
    ['javascript:alert(1)', 'must use http or https, but uses "javascript"'],
  ])('refuses %j: it %s', (value, reason) => {
    expect(validateOriginUrl(value)).toEqual({ ok: false, reason });
  });

  it('accepts absolute http(s) URLs as given, and longer ones only when told', () => {
    expect(validateOriginUrl('https://img.example.com/a b.jpg?x=1')).toEqual({ ok: true, url: 'https://img.example.com/a b.jpg?x=1' });
    const long = `http://peer:5000/get_image?url=${'a'.repeat(5000)}`;
    expect(validateOriginUrl(long, { maxLength: Number.POSITIVE_INFINITY })).toEqual({ ok: true, url: long });
  });

  it('is the zod check of render job URLs and peers, with the reason in the message', () => {
    expect(originUrlSchema.safeParse('http://ic01:5000').success).toBe(true);
    expect(originUrlSchema.safeParse('ftp://ic01').error?.issues[0]?.message).toBe('expected an http(s) URL: the URL must use http or https, but uses "ftp"');
  });
});

describe('peer URLs', () => {
  it('asks a peer for a cached original only, whether its URL ends in a slash or not', () => {
    const expected = 'http://ic01:5000/get_image?url=https%3A%2F%2Fshop.de%2Fa.jpg%3Fv%3D1&only_send_if_local=true';
    expect(peerImageUrl('http://ic01:5000', 'https://shop.de/a.jpg?v=1')).toBe(expected);
    expect(peerImageUrl('http://ic01:5000/', 'https://shop.de/a.jpg?v=1')).toBe(expected);
    expect(cloudBaseUrl('https://img.example.com/')).toBe('https://img.example.com');
  });
});

describe('batch wire contract', () => {
  const receipt = { batchId: 'b-1', total: 3, accepted: 1, duplicate: 1, rejected: 1, rejections: [{ index: 2, url: 'x', reason: 'is empty' }] };
  const progress = {
    batchId: 'b-1',
    tenant: null,
    createdAt: '2026-01-01T00:00:00.000Z',
    total: 3,
    accepted: 1,
    duplicate: 1,
    rejected: 1,
    done: 0,
    failed: { origin_not_found: 1 },
    pending: 0,
    complete: true,
  };

  it('reads what the server answers, and ignores fields a newer server adds', () => {
    expect(batchReceiptSchema.parse(receipt)).toEqual(receipt);
    expect(batchProgressSchema.parse({ ...progress, newField: 1 })).toEqual(progress);
  });

  it('refuses answers that do not fit', () => {
    expect(batchReceiptSchema.safeParse({ ...receipt, rejections: undefined }).success).toBe(false);
    expect(batchProgressSchema.safeParse({ ...progress, pending: -1 }).success).toBe(false);
    expect(batchProgressSchema.safeParse({ ...progress, batchId: 'a/b' }).success).toBe(false);
  });
});
