import { loadConfig } from '../../src/config';
import { allowsAddress, allowsHost, parseEgressAllowList, type EgressAllowList } from '../../src/net/egress-allow-list';

function allowList(text: string): EgressAllowList {
  const { allowList: list, errors } = parseEgressAllowList(text);
  if (!list) throw new Error(errors.join('\n'));
  return list;
}

describe('parseEgressAllowList', () => {
  it('reads host names, wildcards, addresses and CIDRs, ignoring empty entries', () => {
    expect(allowList(' localhost, *.Corp.Example ,, 10.1.0.0/16, ::1, [fd00::1], fd00::/8, ')).toEqual({
      entries: ['localhost', '*.Corp.Example', '10.1.0.0/16', '::1', '[fd00::1]', 'fd00::/8'],
      hosts: ['localhost'],
      hostSuffixes: ['.corp.example'],
      ranges: ['10.1.0.0/16', '::1/128', 'fd00::1/128', 'fd00::/8'],
    });
  });

  it('reads an empty text as an empty list (which allows nothing but public addresses)', () => {
    expect(allowList('')).toEqual({ entries: [], hosts: [], hostSuffixes: [], ranges: [] });
  });

  it('names every bad entry and why', () => {
    expect(parseEgressAllowList('http://localhost, 10.0.0.0/33, 127.1, 2130706433, db:5432, *, *.com, a*.corp.example, 10/8, ::g, bad_host!').errors).toEqual([
      '"http://localhost": write a host name, an IP address or a CIDR, not a URL',
      '"10.0.0.0/33": the prefix length must be a number from 0 to 32',
      '"127.1": write this address as 127.0.0.1',
      '"2130706433": write this address as 127.0.0.1',
      '"db:5432": entries are hosts, addresses or CIDRs, without a port: an entry allows every port',
      '"*": a wildcard may only be a leading "*." (as in *.corp.example)',
      '"*.com": a wildcard needs at least two labels after "*." (as in *.corp.example), not a top-level domain',
      '"a*.corp.example": a wildcard may only be a leading "*." (as in *.corp.example)',
      '"10/8": "10" is not an IP address (write IPv4 as four decimal numbers, a.b.c.d)',
      '"::g": not a valid IPv6 address',
      '"bad_host!": not a valid host name, IP address or CIDR',
    ]);
  });

  it('fails start-up with every bad TRELLIS_HTTP_ALLOW entry listed', () => {
    expect(() => loadConfig({ TRELLIS_HTTP_ALLOW: 'localhost, 10.0.0.0/99, x:1' })).toThrow(
      'Invalid configuration:\n  TRELLIS_HTTP_ALLOW: "10.0.0.0/99": the prefix length must be a number from 0 to 32\n' +
        '  TRELLIS_HTTP_ALLOW: "x:1": entries are hosts, addresses or CIDRs, without a port: an entry allows every port',
    );
  });

  it('leaves the list undefined when TRELLIS_HTTP_ALLOW is unset, and empty when it is set to nothing', () => {
    expect(loadConfig({}).httpAllow).toBeUndefined();
    expect(loadConfig({ TRELLIS_HTTP_ALLOW: '' }).httpAllow).toEqual({ entries: [], hosts: [], hostSuffixes: [], ranges: [] });
  });
});

describe('allowsHost', () => {
  const list = allowList('localhost, *.corp.example');

  it('matches a listed name in any case and with a trailing dot', () => {
    expect(allowsHost(list, 'LOCALHOST')).toBe(true);
    expect(allowsHost(list, 'localhost.')).toBe(true);
  });

  it('matches names below a wildcard, but not the wildcard\'s own name nor look-alikes', () => {
    expect(allowsHost(list, 'db.corp.example')).toBe(true);
    expect(allowsHost(list, 'a.b.corp.example')).toBe(true);
    expect(allowsHost(list, 'corp.example')).toBe(false);
    expect(allowsHost(list, 'evilcorp.example')).toBe(false);
    expect(allowsHost(list, 'localhost.evil.example')).toBe(false);
  });
});

describe('allowsAddress', () => {
  it('matches addresses inside a CIDR and an IPv4 range for IPv4-mapped addresses', () => {
    const list = allowList('10.1.0.0/16, 127.0.0.1, fd00::/8');
    expect(allowsAddress(list, '10.1.200.3')).toBe(true);
    expect(allowsAddress(list, '::ffff:10.1.0.9')).toBe(true);
    expect(allowsAddress(list, '10.2.0.1')).toBe(false);
    expect(allowsAddress(list, '127.0.0.1')).toBe(true);
    expect(allowsAddress(list, '127.0.0.2')).toBe(false);
    expect(allowsAddress(list, 'fd12::1')).toBe(true);
    expect(allowsAddress(list, '::1')).toBe(false);
  });

  it('reads an IPv4-mapped CIDR as the IPv4 range it maps', () => {
    expect(allowsAddress(allowList('::ffff:192.168.0.0/112'), '192.168.4.4')).toBe(true);
  });
});
