import { canonicalOriginUrl, originalKeyOf, validateOriginUrl, variantKeyOf } from './index';

describe('canonical origin URLs', () => {
  it.each([
    ['HTTP://Host.Example:80/a', 'http://host.example/a'],
    ['https://host.example:443/a', 'https://host.example/a'],
    ['http://host.example:8080/a', 'http://host.example:8080/a'],
    ['http://host.example', 'http://host.example/'],
    ['http://host.example/a/./b/../c', 'http://host.example/a/c'],
    ['http://host.example/%7euser/%41%2d%5F', 'http://host.example/~user/A-_'],
    ['http://host.example/a%2fb%3a%e2%82%ac', 'http://host.example/a%2Fb%3A%E2%82%AC'],
    ['http:/host.example/a', 'http://host.example/a'],
    ['http:host.example/a', 'http://host.example/a'],
    ['http://host.example/a#part', 'http://host.example/a'],
  ])('spells %s as %s', (given, canonical) => {
    expect(canonicalOriginUrl(given)).toBe(canonical);
    expect(canonicalOriginUrl(canonical)).toBe(canonical);
  });

  it('keeps the query as written: order, case and escapes', () => {
    expect(canonicalOriginUrl('http://host.example/a?B=%7e&a=%2f&a=1')).toBe('http://host.example/a?B=%7e&a=%2f&a=1');
    expect(canonicalOriginUrl('http://host.example/a?')).toBe('http://host.example/a?');
    expect(originalKeyOf('http://host.example/a?x=1&y=2')).not.toBe(originalKeyOf('http://host.example/a?y=2&x=1'));
  });

  it('keys every spelling of one URL as one original and one variant', () => {
    const spellings = ['HTTP://Host.Example:80/a', 'http://host.example/a', 'http:/host.example/./a', 'http://host.example/%61'];
    expect(new Set(spellings.map(originalKeyOf)).size).toBe(1);
    const transform = { width: 100, fit: 'inside', format: 'jpeg' } as const;
    expect(new Set(spellings.map((url) => variantKeyOf(url, transform))).size).toBe(1);
  });

  it('leaves values that are no http(s) URL alone (validateOriginUrl refuses them)', () => {
    expect(canonicalOriginUrl('ftp://host.example/A/%7e')).toBe('ftp://host.example/A/%7e');
    expect(validateOriginUrl('ftp://host.example/a').ok).toBe(false);
    expect(validateOriginUrl('/a').ok).toBe(false);
    expect(canonicalOriginUrl('not a url')).toBe('not a url');
  });
});
