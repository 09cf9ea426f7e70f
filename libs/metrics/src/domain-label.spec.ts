import { OTHER_DOMAIN, domainLabeller } from './domain-label';

describe('domainLabeller', () => {
  const domainOf = domainLabeller(['default', 'shop.de', 'cdn.example.com', '127.0.0.2']);

  it('names a configured domain, and hosts under it by that domain', () => {
    expect(domainOf('https://shop.de/a.jpg')).toBe('shop.de');
    expect(domainOf('https://IMG1.Shop.de./a.jpg')).toBe('shop.de');
    expect(domainOf('http://a.b.cdn.example.com:8080/x')).toBe('cdn.example.com');
    expect(domainOf('http://127.0.0.2:9000/x')).toBe('127.0.0.2');
  });

  it('labels every other host "other", never the host itself', () => {
    expect(domainOf('https://example.com/cdn.example.com.jpg')).toBe(OTHER_DOMAIN);
    expect(domainOf('https://evilshop.de/a.jpg')).toBe(OTHER_DOMAIN);
    expect(domainOf('http://127.0.0.3/x')).toBe(OTHER_DOMAIN);
    expect(domainOf('not a url')).toBe(OTHER_DOMAIN);
  });

  it('never uses "default" as a domain', () => {
    expect(domainLabeller(['default'])('http://default/x')).toBe(OTHER_DOMAIN);
  });
});
