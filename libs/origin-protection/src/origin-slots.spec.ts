import { originPoolOf } from './origin-slots';

describe('originPoolOf', () => {
  const limits = new Map([
    ['shop.de', { cap: 2 }],
    ['img.example.com', { cap: 5, perSecond: 10 }],
    ['127.0.0.2', { cap: 1 }],
  ]);
  const byDefault = { cap: 3 };

  it.each([
    ['http://shop.de/a.jpg', { pool: 'shop.de', cap: 2 }],
    ['http://img1.shop.de/a.jpg', { pool: 'shop.de', cap: 2 }],
    ['https://A.B.Shop.DE./a.jpg', { pool: 'shop.de', cap: 2 }],
    ['http://img.example.com/x', { pool: 'img.example.com', cap: 5, perSecond: 10 }],
    ['http://cdn.img.example.com/x', { pool: 'img.example.com', cap: 5, perSecond: 10 }],
    ['http://example.com/x', { pool: 'example.com', cap: 3 }],
    ['http://other.example.com:8080/x', { pool: 'other.example.com', cap: 3 }],
    ['http://127.0.0.2:4000/x', { pool: '127.0.0.2', cap: 1 }],
    ['http://127.0.0.1:4000/x', { pool: '127.0.0.1', cap: 3 }],
    ['http://[::1]:4000/x', { pool: '[::1]', cap: 3 }],
  ])('%s counts against %j', (url, pool) => {
    expect(originPoolOf(url, limits, byDefault)).toStrictEqual(pool);
  });

  it('never treats a bare top-level domain or an address fragment as a listed parent', () => {
    const broad = new Map([
      ['de', { cap: 1 }],
      ['0.2', { cap: 1 }],
    ]);
    expect(originPoolOf('http://shop.de/a', broad, { cap: 4 })).toStrictEqual({ pool: 'shop.de', cap: 4 });
    expect(originPoolOf('http://10.0.0.2/a', broad, { cap: 4 })).toStrictEqual({ pool: '10.0.0.2', cap: 4 });
  });
});
