import type { Kysely } from 'kysely';
import type { Caller } from '../../src/api/authenticate';
import { SocketRegistry, type TrackedSocket } from '../../src/api/socket-registry';
import type { Database } from '../../src/db/database';

/** A socket that records how it was closed. */
function socketOf(caller: Caller): TrackedSocket & { closedWith?: [number, string] } {
  const socket: TrackedSocket & { closedWith?: [number, string] } = {
    caller,
    closing: false,
    close(code, reason) {
      socket.closedWith = [code, reason];
    },
  };
  return socket;
}

// Notifications need no database; revalidate() is exercised end to end (test/security).
const registry = () => new SocketRegistry(undefined as unknown as Kysely<Database>);
const keyed = (keyId: string): Caller => ({ tenantId: 'acme', keyId, admin: false });
const keyless: Caller = { tenantId: 'default', admin: false };

describe('SocketRegistry', () => {
  it('closes with 4403 every socket of a key a notification says was revoked, and no other', () => {
    const sockets = registry();
    const [a1, a2, b, open] = [socketOf(keyed('a')), socketOf(keyed('a')), socketOf(keyed('b')), socketOf(keyless)];
    for (const socket of [a1, a2, b, open]) sockets.add(socket);
    sockets.notified(JSON.stringify({ event: 'revoked', keyId: 'a', tenantId: 'acme' }));
    expect([a1.closedWith, a2.closedWith, b.closedWith, open.closedWith]).toEqual([[4403, 'API key revoked'], [4403, 'API key revoked'], undefined, undefined]);
  });

  it('closes a socket at once when its key was revoked while it was being authenticated', () => {
    const sockets = registry();
    sockets.notified(JSON.stringify({ event: 'revoked', keyId: 'late', tenantId: 'acme' }));
    const socket = socketOf(keyed('late'));
    sockets.add(socket);
    expect(socket.closedWith).toEqual([4403, 'API key revoked']);
  });

  it('closes keyless sockets when a key is created, and keyed ones when the keys table is truncated', () => {
    const sockets = registry();
    const [withKey, without] = [socketOf(keyed('a')), socketOf(keyless)];
    sockets.add(withKey);
    sockets.add(without);
    sockets.notified(JSON.stringify({ event: 'created', keyId: 'new', tenantId: 'acme' }));
    expect([withKey.closedWith, without.closedWith]).toEqual([undefined, [4403, 'API keys are now required']]);
    sockets.notified(JSON.stringify({ event: 'truncated' }));
    expect(withKey.closedWith).toEqual([4403, 'API key revoked']);
  });

  it('counts open sockets by key, keyless ones by tenant, and forgets removed ones', () => {
    const sockets = registry();
    const [a1, a2] = [socketOf(keyed('a')), socketOf(keyed('a'))];
    sockets.add(a1);
    sockets.add(a2);
    sockets.add(socketOf(keyless));
    expect([sockets.count(keyed('a')), sockets.count(keyed('b')), sockets.count(keyless)]).toEqual([2, 0, 1]);
    sockets.remove(a1);
    expect(sockets.count(keyed('a'))).toBe(1);
  });

  it('ignores a notification that is not JSON', () => {
    expect(() => registry().notified('not json')).not.toThrow();
  });
});
