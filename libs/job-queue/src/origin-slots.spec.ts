import { originPoolOf } from './origin-slots';

describe('originPoolOf', () => {
  const caps = new Map([
    ['shop.de', 2],
    ['img.example.com', 5],
    ['127.0.0.2', 1],
  ]);

  it.each([
    ['http://shop.de/a.jpg', 'shop.de', 2],
    ['http://img1.shop.de/a.jpg', 'shop.de', 2],
    ['https://A.B.Shop.DE./a.jpg', 'shop.de', 2],
    ['http://img.example.com/x', 'img.example.com', 5],
    ['http://cdn.img.example.com/x', 'img.example.com', 5],
    ['http://example.com/x', 'example.com', 3],
    ['http://other.example.com:8080/x', 'other.example.com', 3],
    ['http://127.0.0.2:4000/x', '127.0.0.2', 1],
    ['http://127.0.0.1:4000/x', '127.0.0.1', 3],
    ['http://[::1]:4000/x', '[::1]', 3],
  ])('%s counts against %s (cap %i)', (url, pool, cap) => {
    expect(originPoolOf(url, caps, 3)).toEqual({ pool, cap });
  });

  it('never treats a bare top-level domain or an address fragment as a listed parent', () => {
    const broad = new Map([
      ['de', 1],
      ['0.2', 1],
    ]);
    expect(originPoolOf('http://shop.de/a', broad, 4)).toEqual({ pool: 'shop.de', cap: 4 });
    expect(originPoolOf('http://10.0.0.2/a', broad, 4)).toEqual({ pool: '10.0.0.2', cap: 4 });
  });
});
