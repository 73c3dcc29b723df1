import { DEFAULT_TENANT, resolveTenant } from '../../src/api/tenant';
import { TrellisError } from '../../src/errors';

describe('resolveTenant (no API keys configured)', () => {
  it.each(['127.0.0.1', '127.0.0.53', '::1', '::ffff:127.0.0.1'])('serves the loopback client %s as the default tenant', (address) => {
    expect(resolveTenant(address, { allowRemote: false })).toBe(DEFAULT_TENANT);
  });

  it.each(['10.0.0.7', '192.168.1.20', '::ffff:10.0.0.7', '2001:db8::1', undefined])('refuses the remote client %s as UNAUTHENTICATED', (address) => {
    expect(() => resolveTenant(address, { allowRemote: false })).toThrow(TrellisError);
    try {
      resolveTenant(address, { allowRemote: false });
    } catch (err) {
      expect((err as TrellisError).code).toBe('UNAUTHENTICATED');
      expect((err as TrellisError).message).toContain('TRELLIS_ALLOW_REMOTE');
    }
  });

  it('serves remote clients as the default tenant when the operator opened the API', () => {
    expect(resolveTenant('10.0.0.7', { allowRemote: true })).toBe(DEFAULT_TENANT);
  });
});
