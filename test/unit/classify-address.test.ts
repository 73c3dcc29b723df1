import { canonicalAddress, classifyAddress, type AddressCategory } from '../../src/net/classify-address';

const IPV4: Array<[string, AddressCategory]> = [
  ['0.0.0.0', 'unspecified'],
  ['0.1.2.3', 'unspecified'],
  ['10.0.0.1', 'private'],
  ['10.255.255.255', 'private'],
  ['100.64.0.1', 'shared'],
  ['100.127.255.255', 'shared'],
  ['100.128.0.1', 'public'],
  ['127.0.0.1', 'loopback'],
  ['127.255.255.254', 'loopback'],
  ['169.254.169.254', 'link-local'],
  ['172.15.255.255', 'public'],
  ['172.16.0.1', 'private'],
  ['172.31.255.255', 'private'],
  ['172.32.0.1', 'public'],
  ['192.0.0.8', 'reserved'],
  ['192.0.2.1', 'documentation'],
  ['192.88.99.1', 'reserved'],
  ['192.168.1.1', 'private'],
  ['198.18.0.1', 'benchmarking'],
  ['198.19.255.255', 'benchmarking'],
  ['198.51.100.7', 'documentation'],
  ['203.0.113.9', 'documentation'],
  ['224.0.0.1', 'multicast'],
  ['239.255.255.250', 'multicast'],
  ['240.0.0.1', 'reserved'],
  ['255.255.255.254', 'reserved'],
  ['255.255.255.255', 'broadcast'],
  ['8.8.8.8', 'public'],
  ['1.1.1.1', 'public'],
];

const IPV6: Array<[string, AddressCategory, string?]> = [
  ['::', 'unspecified'],
  ['::1', 'loopback'],
  ['0:0:0:0:0:0:0:1', 'loopback'],
  ['::ffff:127.0.0.1', 'loopback', '127.0.0.1'],
  ['::ffff:7f00:1', 'loopback', '127.0.0.1'],
  ['::ffff:0.0.0.0', 'unspecified', '0.0.0.0'],
  ['::ffff:169.254.169.254', 'link-local', '169.254.169.254'],
  ['::ffff:10.0.0.1', 'private', '10.0.0.1'],
  ['::ffff:8.8.8.8', 'public', '8.8.8.8'],
  ['::127.0.0.1', 'loopback', '127.0.0.1'],
  ['::2', 'unspecified', '0.0.0.2'],
  ['64:ff9b::127.0.0.1', 'loopback', '127.0.0.1'],
  ['64:ff9b::a9fe:a9fe', 'link-local', '169.254.169.254'],
  ['64:ff9b::8.8.8.8', 'public', '8.8.8.8'],
  ['64:ff9b:1::1', 'private'],
  ['2002:7f00:1::1', 'loopback', '127.0.0.1'],
  ['2002:c0a8:101::1', 'private', '192.168.1.1'],
  ['2002:808:808::1', 'public', '8.8.8.8'],
  // Teredo: the client's address is the last 32 bits inverted (RFC 4380's example is 192.0.2.45).
  ['2001:0:4136:e378:8000:63bf:3fff:fdd2', 'documentation', '192.0.2.45'],
  ['2001:0:4136:e378:8000:63bf:80ff:fffe', 'loopback', '127.0.0.1'],
  ['fe80::1', 'link-local'],
  ['febf:ffff::1', 'link-local'],
  ['fe80::1%eth0', 'link-local'],
  ['fc00::1', 'unique-local'],
  ['fdff:ffff::1', 'unique-local'],
  ['ff02::1', 'multicast'],
  ['ff0e::1', 'multicast'],
  ['2001:db8::1', 'documentation'],
  ['3fff::1', 'documentation'],
  ['2001:2::1', 'benchmarking'],
  ['100::1', 'reserved'],
  ['2001:10::1', 'reserved'],
  ['2001:20::1', 'reserved'],
  ['fec0::1', 'reserved'],
  ['5f00::1', 'reserved'],
  ['4000::1', 'reserved'],
  ['2606:4700:4700::1111', 'public'],
  ['2a00:1450:4001::200e', 'public'],
];

describe('classifyAddress', () => {
  it.each(IPV4)('classifies %s as %s', (address, category) => {
    expect(classifyAddress(address)).toEqual({ category });
  });

  // Every row has three columns: with two, jest would pass its `done` callback as the third.
  it.each(IPV6.map(([address, category, embedded]) => [address, category, embedded ?? null] as const))('classifies %s as %s', (address, category, embeddedIPv4) => {
    expect(classifyAddress(address)).toEqual(embeddedIPv4 === null ? { category } : { category, embeddedIPv4 });
  });

  // A URL's host is what gets classified: WHATWG URL parsing turns every IPv4 spelling into a dotted quad.
  it.each([
    ['http://2130706433/', 'loopback'],
    ['http://0x7f000001/', 'loopback'],
    ['http://0177.0.0.1/', 'loopback'],
    ['http://0x7f.1/', 'loopback'],
    ['http://127.1/', 'loopback'],
    ['http://0/', 'unspecified'],
    ['http://0xa9.0xfe.0xa9.0xfe/', 'link-local'],
    ['http://025177524776/', 'link-local'],
    ['http://[::ffff:127.0.0.1]/', 'loopback'],
    ['http://[0:0:0:0:0:ffff:a9fe:a9fe]/', 'link-local'],
  ] as const)('classifies the host of %s, however the address is written, as %s', (url, category) => {
    const host = new URL(url).hostname.replace(/^\[(.*)\]$/, '$1');
    expect(classifyAddress(host).category).toBe(category);
  });

  it('refuses what is not an IP address, so names are resolved before they are judged', () => {
    expect(() => classifyAddress('localhost')).toThrow(TypeError);
    expect(() => classifyAddress('127.1')).toThrow(TypeError);
  });
});

describe('canonicalAddress', () => {
  it('writes an IPv4-mapped address as the IPv4 address it reaches', () => {
    expect(canonicalAddress('::ffff:7f00:1')).toBe('127.0.0.1');
    expect(canonicalAddress('::ffff:127.0.0.1')).toBe('127.0.0.1');
  });

  it('writes IPv6 compressed and in lowercase, keeping :: and ::1 as they are', () => {
    expect(canonicalAddress('2001:DB8:0:0:0:0:0:1')).toBe('2001:db8::1');
    expect(canonicalAddress('0:0:0:0:0:0:0:1')).toBe('::1');
    expect(canonicalAddress('::')).toBe('::');
  });
});
