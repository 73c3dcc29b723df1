import { randomBytes } from 'node:crypto';
import { loadConfig } from '../../src/config';

const key = () => randomBytes(32).toString('base64');

describe('configuration', () => {
  it('refuses to start in production without TRELLIS_SECRET_KEY, saying why and how to make one', () => {
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(/TRELLIS_SECRET_KEY: required when NODE_ENV=production .*openssl rand -base64 32/);
    expect(() => loadConfig({ NODE_ENV: 'production', TRELLIS_SECRET_KEY: key() })).not.toThrow();
  });

  it('generates a key outside production, where TRELLIS_SECRET_KEY may be missing', () => {
    expect(loadConfig({}).secretKey).toBeUndefined();
  });

  it('reads previous keys for decryption only, and never serves them as secrets', () => {
    const [first, second] = [key(), randomBytes(32).toString('hex')];
    const config = loadConfig({ TRELLIS_SECRET_KEY: key(), TRELLIS_SECRET_KEY_PREVIOUS: `${first}, ${second}`, TRELLIS_SECRET_PAY: 'x' });
    expect(config.previousSecretKeys.map((buffer) => buffer.length)).toEqual([32, 32]);
    expect(Object.keys(config.environmentSecrets)).toEqual(['PAY']);
    expect(() => loadConfig({ TRELLIS_SECRET_KEY_PREVIOUS: 'short' })).toThrow(/TRELLIS_SECRET_KEY_PREVIOUS: must be a comma-separated list of 32-byte keys/);
  });

  it('takes an operator tenant only if it is a tenant name', () => {
    expect(loadConfig({ TRELLIS_OPERATOR_TENANT: 'ops' }).operatorTenant).toBe('ops');
    expect(() => loadConfig({ TRELLIS_OPERATOR_TENANT: 'Ops Team' })).toThrow(/TRELLIS_OPERATOR_TENANT/);
  });
});
