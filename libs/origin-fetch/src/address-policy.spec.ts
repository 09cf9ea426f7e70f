import { isAddressAllowed, isAllowedBy, parseAllowList } from './address-policy';

describe('isAddressAllowed (no allow list)', () => {
  it.each([
    ['8.8.8.8'],
    ['1.1.1.1'],
    ['93.184.215.14'],
    ['151.101.1.69'],
    ['2606:4700:4700::1111'],
    ['2001:4860:4860::8888'],
    ['2a00:1450:4001:80b::200e'],
    // NAT64 (DNS64 networks) of a public IPv4
    ['64:ff9b::808:808'],
    ['64:ff9b::8.8.8.8'],
    // IPv4-mapped public address is judged as the IPv4
    ['::ffff:8.8.8.8'],
  ])('allows public unicast %s', (ip) => {
    expect(isAddressAllowed(ip, [])).toBe(true);
  });

  it.each([
    // loopback
    ['127.0.0.1'],
    ['127.0.0.2'],
    ['127.255.255.254'],
    ['::1'],
    // unspecified / "this network"
    ['0.0.0.0'],
    ['0.1.2.3'],
    ['::'],
    // RFC1918
    ['10.0.0.1'],
    ['10.255.255.255'],
    ['172.16.0.1'],
    ['172.31.255.255'],
    ['192.168.0.1'],
    ['192.168.255.255'],
    // link-local incl. cloud metadata
    ['169.254.169.254'],
    ['169.254.0.1'],
    ['fe80::1'],
    ['fe80::1%eth0'],
    ['febf::1'],
    // CGNAT
    ['100.64.0.1'],
    ['100.127.255.254'],
    // broadcast, multicast, reserved, documentation, benchmarking
    ['255.255.255.255'],
    ['224.0.0.1'],
    ['239.255.255.250'],
    ['240.0.0.1'],
    ['192.0.0.8'],
    ['192.0.2.1'],
    ['198.51.100.7'],
    ['203.0.113.9'],
    ['198.18.0.1'],
    ['ff02::1'],
    ['ff05::1:3'],
    ['2001:db8::1'],
    ['3fff::1'],
    ['2001:2::1'],
    ['100::1'],
    // ULA and deprecated site-local
    ['fc00::1'],
    ['fd12:3456:789a::1'],
    ['fec0::1'],
    // IPv4-mapped wrappings of blocked addresses
    ['::ffff:127.0.0.1'],
    ['::ffff:7f00:1'],
    ['::ffff:169.254.169.254'],
    ['::ffff:10.0.0.1'],
    ['::ffff:0.0.0.0'],
    // IPv4-compatible (deprecated ::/96)
    ['::127.0.0.1'],
    ['::7f00:1'],
    ['::8.8.8.8'],
    // IPv4-translated (RFC 6145)
    ['::ffff:0:7f00:1'],
    // 6to4, Teredo: tunnels are refused outright
    ['2002:7f00:1::1'],
    ['2002:a9fe:a9fe::1'],
    ['2002:808:808::1'],
    ['2001:0:4136:e378:8000:63bf:3fff:fdd2'],
    // NAT64 of blocked IPv4, and local-use NAT64
    ['64:ff9b::7f00:1'],
    ['64:ff9b::127.0.0.1'],
    ['64:ff9b::a9fe:a9fe'],
    ['64:ff9b::a00:1'],
    ['64:ff9b:1::808:808'],
    // outside 2000::/3 although ipaddr.js calls it unicast
    ['4000::1'],
    ['e000::1'],
  ])('refuses %s', (ip) => {
    expect(isAddressAllowed(ip, [])).toBe(false);
  });

  it.each([[''], ['localhost'], ['example.com'], ['127.1'], ['0x7f.0.0.1'], ['0177.0.0.1'], ['2130706433'], ['1.2.3'], ['::g'], ['[::1']])(
    'refuses non-canonical or non-address input %j',
    (ip) => {
      expect(isAddressAllowed(ip, [])).toBe(false);
    },
  );

  it('accepts bracketed IPv6 the way URL.hostname spells it', () => {
    expect(isAddressAllowed('[2606:4700:4700::1111]', [])).toBe(true);
    expect(isAddressAllowed('[::1]', [])).toBe(false);
  });
});

describe('isAddressAllowed with allowPrivateOrigins', () => {
  it('allows private addresses inside an allowed CIDR and nothing beside them', () => {
    const allow = ['10.1.0.0/16', '127.0.0.2/32'];
    expect(isAddressAllowed('10.1.2.3', allow)).toBe(true);
    expect(isAddressAllowed('10.2.0.1', allow)).toBe(false);
    expect(isAddressAllowed('127.0.0.2', allow)).toBe(true);
    expect(isAddressAllowed('127.0.0.1', allow)).toBe(false);
    expect(isAddressAllowed('169.254.169.254', allow)).toBe(false);
    expect(isAddressAllowed('8.8.8.8', allow)).toBe(true);
  });

  it('matches IPv4-mapped addresses against IPv4 CIDRs, and mapped CIDRs against IPv4', () => {
    expect(isAddressAllowed('::ffff:127.0.0.1', ['127.0.0.0/8'])).toBe(true);
    expect(isAddressAllowed('127.0.0.1', ['::ffff:127.0.0.0/104'])).toBe(true);
    expect(isAddressAllowed('::ffff:10.0.0.1', ['127.0.0.0/8'])).toBe(false);
  });

  it('does not let an IPv4 allowance leak into other wrappings', () => {
    const allow = ['127.0.0.0/8'];
    expect(isAddressAllowed('::1', allow)).toBe(false);
    expect(isAddressAllowed('64:ff9b::7f00:1', allow)).toBe(false);
    expect(isAddressAllowed('2002:7f00:1::1', allow)).toBe(false);
    expect(isAddressAllowed('::127.0.0.1', allow)).toBe(false);
  });

  it('supports IPv6 CIDRs and bare addresses', () => {
    expect(isAddressAllowed('::1', ['::1/128'])).toBe(true);
    expect(isAddressAllowed('::1', ['::1'])).toBe(true);
    expect(isAddressAllowed('fd00::5', ['fd00::/8'])).toBe(true);
    expect(isAddressAllowed('fe80::1', ['fd00::/8'])).toBe(false);
    expect(isAddressAllowed('10.0.0.7', ['10.0.0.7'])).toBe(true);
  });

  it('rejects an invalid allow-list entry loudly', () => {
    expect(() => isAddressAllowed('8.8.8.8', ['10.0.0.0/33'])).toThrow(/not a valid CIDR/);
    expect(() => parseAllowList(['intranet'])).toThrow(/"intranet"/);
  });

  it('isAllowedBy uses a pre-parsed list', () => {
    const list = parseAllowList(['192.168.0.0/16']);
    expect(isAllowedBy('192.168.1.1', list)).toBe(true);
    expect(isAllowedBy('192.169.1.1', list)).toBe(true); // public
    expect(isAllowedBy('172.16.0.1', list)).toBe(false);
  });
});
