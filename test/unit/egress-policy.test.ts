import os from 'node:os';
import { parseEgressAllowList, type EgressAllowList } from '../../src/net/egress-allow-list';
import { EgressDeniedError } from '../../src/net/egress-denied-error';
import { EgressPolicy } from '../../src/net/egress-policy';
import { endpointOfAddress, endpointOfUrl, InfrastructureEndpoints } from '../../src/net/infrastructure-endpoints';
import type { HostResolver } from '../../src/net/resolve-host';

function allowList(text: string): EgressAllowList {
  return parseEgressAllowList(text).allowList!;
}

/** A resolver from a fixed table: what tests control instead of DNS. */
function resolverOf(table: Record<string, string[]>): HostResolver {
  return async (hostname) => {
    const found = table[hostname];
    if (found) return found;
    if (/^[\d.]+$|:/.test(hostname)) return [hostname];
    throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
  };
}

const resolve = resolverOf({
  'api.example': ['93.184.215.14'],
  'internal.example': ['10.0.0.7'],
  'mixed.example': ['93.184.215.14', '127.0.0.1'],
  'db.internal': ['10.0.0.5'],
  localhost: ['127.0.0.1', '::1'],
});

async function refusal(policy: EgressPolicy, host: string, port = 80): Promise<EgressDeniedError> {
  const err = await policy.addressesFor(host, port).then(
    (addresses) => new Error(`expected a refusal, got ${addresses.join(', ')}`),
    (error: unknown) => error,
  );
  expect(err).toBeInstanceOf(EgressDeniedError);
  return err as EgressDeniedError;
}

describe('EgressPolicy', () => {
  describe('by default (TRELLIS_HTTP_ALLOW unset, API keys exist)', () => {
    const policy = new EgressPolicy({ resolve });

    it('lets public addresses through, every address a name resolves to', async () => {
      await expect(policy.addressesFor('api.example', 443)).resolves.toEqual(['93.184.215.14']);
      await expect(policy.addressesFor('8.8.8.8', 53)).resolves.toEqual(['8.8.8.8']);
    });

    it.each([
      ['127.0.0.1', 'resolves to 127.0.0.1, a loopback address; allow it with TRELLIS_HTTP_ALLOW'],
      ['::1', 'resolves to ::1, a loopback address; allow it with TRELLIS_HTTP_ALLOW'],
      ['[::ffff:127.0.0.1]', 'resolves to ::ffff:127.0.0.1 (127.0.0.1), a loopback address; allow it with TRELLIS_HTTP_ALLOW'],
      ['169.254.169.254', 'resolves to 169.254.169.254, a link-local address; allow it with TRELLIS_HTTP_ALLOW'],
      ['10.0.0.1', 'resolves to 10.0.0.1, a private address; allow it with TRELLIS_HTTP_ALLOW'],
      ['100.64.1.1', 'resolves to 100.64.1.1, a shared (carrier-grade NAT) address; allow it with TRELLIS_HTTP_ALLOW'],
      ['fd00::1', 'resolves to fd00::1, a unique-local address; allow it with TRELLIS_HTTP_ALLOW'],
      ['fe80::1', 'resolves to fe80::1, a link-local address; allow it with TRELLIS_HTTP_ALLOW'],
      ['0.0.0.0', 'resolves to 0.0.0.0, an unspecified address; allow it with TRELLIS_HTTP_ALLOW'],
      ['224.0.0.251', 'resolves to 224.0.0.251, a multicast address; allow it with TRELLIS_HTTP_ALLOW'],
      ['64:ff9b::a00:1', 'resolves to 64:ff9b::a00:1 (10.0.0.1), a private address; allow it with TRELLIS_HTTP_ALLOW'],
      ['internal.example', 'resolves to 10.0.0.7, a private address; allow it with TRELLIS_HTTP_ALLOW'],
    ])('refuses %s', async (host, detail) => {
      const err = await refusal(policy, host);
      expect(err.message).toBe(`${host.replace(/^\[(.*)\]$/, '$1')} ${detail}`);
      expect(err).toMatchObject({ name: 'EgressDenied', code: 'EGRESS_DENIED', reason: 'address', retryable: false });
    });

    it('refuses a name when any one of its addresses is refused', async () => {
      expect((await refusal(policy, 'mixed.example')).address).toBe('127.0.0.1');
    });

    it('refuses a name that resolves to loopback (localhost)', async () => {
      expect((await refusal(policy, 'localhost')).message).toBe('localhost resolves to 127.0.0.1, a loopback address; allow it with TRELLIS_HTTP_ALLOW');
    });
  });

  describe('in keyless local mode', () => {
    const policy = new EgressPolicy({ resolve, loopbackByDefault: async () => true });

    it('allows loopback, and nothing else that is not public', async () => {
      await expect(policy.addressesFor('localhost', 8080)).resolves.toEqual(['127.0.0.1', '::1']);
      await expect(policy.addressesFor('::ffff:127.0.0.1', 8080)).resolves.toEqual(['::ffff:127.0.0.1']);
      expect((await refusal(policy, '10.0.0.1')).category).toBe('private');
      expect((await refusal(policy, '169.254.169.254')).category).toBe('link-local');
    });

    it('says so in one line', async () => {
      await expect(policy.describe()).resolves.toBe('outbound http: loopback allowed (keyless local mode); set TRELLIS_HTTP_ALLOW to change');
    });

    it('gives way to TRELLIS_HTTP_ALLOW once that is set, even to an empty list', async () => {
      const strict = new EgressPolicy({ resolve, loopbackByDefault: async () => true, allowList: allowList('') });
      expect((await refusal(strict, '127.0.0.1')).category).toBe('loopback');
      await expect(strict.describe()).resolves.toBe('outbound http: public addresses, and nothing (TRELLIS_HTTP_ALLOW)');
    });
  });

  describe('with TRELLIS_HTTP_ALLOW', () => {
    const policy = new EgressPolicy({ resolve, allowList: allowList('10.0.0.0/8, internal.example, ::1') });

    it('opens the ranges and names it lists, and only those', async () => {
      await expect(policy.addressesFor('10.9.8.7', 80)).resolves.toEqual(['10.9.8.7']);
      await expect(policy.addressesFor('::ffff:10.9.8.7', 80)).resolves.toEqual(['::ffff:10.9.8.7']);
      await expect(policy.addressesFor('internal.example', 80)).resolves.toEqual(['10.0.0.7']);
      await expect(policy.addressesFor('::1', 80)).resolves.toEqual(['::1']);
      expect((await refusal(policy, '127.0.0.1')).category).toBe('loopback');
      expect((await refusal(policy, '192.168.0.1')).category).toBe('private');
    });

    it('judges an address written as a literal by the address, never by a host entry', async () => {
      const byName = new EgressPolicy({ resolve, allowList: allowList('localhost') });
      await expect(byName.addressesFor('localhost', 80)).resolves.toEqual(['127.0.0.1', '::1']);
      expect((await refusal(byName, '127.0.0.1')).category).toBe('loopback');
    });
  });

  describe("Trellis's own infrastructure", () => {
    const infrastructure = new InfrastructureEndpoints({ resolve });
    infrastructure.add({ name: 'PostgreSQL', host: '127.0.0.1', port: 5432 });
    infrastructure.add({ name: 'Trellis API', host: '0.0.0.0', port: 4000 });
    infrastructure.add({ name: 'Temporal', host: 'db.internal', port: 7233 });
    infrastructure.add({ name: 'not listening', host: '127.0.0.1', port: 0 });
    const policy = new EgressPolicy({ resolve, infrastructure, allowList: allowList('0.0.0.0/0, ::/0, localhost') });

    it('is refused on every local address when it listens on this machine, whatever the allow-list says', async () => {
      const interfaceAddresses = Object.values(os.networkInterfaces()).flatMap((list) => (list ?? []).map((entry) => entry.address));
      for (const host of ['127.0.0.1', '127.0.0.2', 'localhost', '[::1]', '0.0.0.0', '[::]', '[::ffff:127.0.0.1]', ...interfaceAddresses.filter((address) => !address.includes('%'))]) {
        const err = await refusal(policy, host, 5432);
        expect(err.reason).toBe('infrastructure');
        expect(err.message).toMatch(/:5432, which is part of Trellis's own infrastructure: steps can never reach it$/);
        expect((await refusal(policy, host, 4000)).reason).toBe('infrastructure');
      }
    });

    it('never names the service behind the port', async () => {
      expect((await refusal(policy, '127.0.0.1', 5432)).message).not.toMatch(/postgres/i);
    });

    it('is refused at the addresses a remote endpoint resolves to, on its port only', async () => {
      expect((await refusal(policy, '10.0.0.5', 7233)).reason).toBe('infrastructure');
      expect((await refusal(policy, '::ffff:10.0.0.5', 7233)).reason).toBe('infrastructure');
      await expect(policy.addressesFor('10.0.0.6', 7233)).resolves.toEqual(['10.0.0.6']);
      await expect(policy.addressesFor('10.0.0.5', 7234)).resolves.toEqual(['10.0.0.5']);
      // The remote endpoint is not on this machine: local addresses on its port are someone else's.
      await expect(policy.addressesFor('127.0.0.1', 7233)).resolves.toEqual(['127.0.0.1']);
    });

    it('leaves other local ports to the allow-list', async () => {
      await expect(policy.addressesFor('127.0.0.1', 5433)).resolves.toEqual(['127.0.0.1']);
    });
  });
});

describe('infrastructure endpoints from configuration', () => {
  it('reads host:port addresses, IPv6 in brackets', () => {
    expect(endpointOfAddress('Temporal', '127.0.0.1:7233')).toEqual({ name: 'Temporal', host: '127.0.0.1', port: 7233 });
    expect(endpointOfAddress('Temporal', '[::1]:7233')).toEqual({ name: 'Temporal', host: '::1', port: 7233 });
    expect(endpointOfAddress('Temporal', 'temporal:7233')).toEqual({ name: 'Temporal', host: 'temporal', port: 7233 });
    expect(endpointOfAddress('Temporal', 'temporal')).toBeUndefined();
  });

  it('reads URLs, with the default port of the scheme or the one given', () => {
    expect(endpointOfUrl('PostgreSQL', 'postgres://u:p@db.internal/trellis', 5432)).toEqual({ name: 'PostgreSQL', host: 'db.internal', port: 5432 });
    expect(endpointOfUrl('PostgreSQL', 'postgresql://u@[::1]:5433/trellis', 5432)).toEqual({ name: 'PostgreSQL', host: '::1', port: 5433 });
    expect(endpointOfUrl('UI', 'http://localhost:8233')).toEqual({ name: 'UI', host: 'localhost', port: 8233 });
    expect(endpointOfUrl('UI', 'https://temporal.example')).toEqual({ name: 'UI', host: 'temporal.example', port: 443 });
    expect(endpointOfUrl('PostgreSQL', 'postgres:///trellis?host=/var/run/postgresql', 5432)).toBeUndefined();
  });
});
