import { loadConfig } from '../../src/config';
import { environmentSecretFor, readEnvironmentSecrets } from '../../src/secrets/environment-secrets';

describe('environment secrets', () => {
  it('serve the default tenant only, unless TRELLIS_SECRET_SCOPES names others', () => {
    const { secrets, errors } = readEnvironmentSecrets({
      TRELLIS_SECRET_PAY_TOKEN: 'p',
      TRELLIS_SECRET_SHARED: 's',
      TRELLIS_SECRET_ACME_ONLY: 'a',
      TRELLIS_SECRET_SCOPES: 'SHARED=*; ACME_ONLY=acme,globex',
    });
    expect(errors).toEqual([]);
    expect(environmentSecretFor(secrets, 'PAY_TOKEN', 'default')).toBe('p');
    expect(environmentSecretFor(secrets, 'PAY_TOKEN', 'acme')).toBeUndefined();
    expect(environmentSecretFor(secrets, 'SHARED', 'anyone')).toBe('s');
    expect(environmentSecretFor(secrets, 'ACME_ONLY', 'globex')).toBe('a');
    expect(environmentSecretFor(secrets, 'ACME_ONLY', 'default')).toBeUndefined();
    expect(environmentSecretFor(secrets, 'toString', 'default')).toBeUndefined();
  });

  it('never serve the keys or the scopes themselves as secrets', () => {
    const { secrets } = readEnvironmentSecrets({
      TRELLIS_SECRET_KEY: 'k',
      TRELLIS_SECRET_KEY_PREVIOUS: 'old',
      TRELLIS_SECRET_SCOPES: '',
    });
    expect(Object.keys(secrets)).toEqual([]);
  });

  it('refuse scopes that name unknown secrets, no tenants or invalid tenants, at start-up', () => {
    const env = { TRELLIS_SECRET_ONE: '1', TRELLIS_SECRET_SCOPES: 'MISSING=acme;ONE=;ONE=Bad Tenant' };
    expect(readEnvironmentSecrets(env).errors).toEqual([
      'TRELLIS_SECRET_SCOPES: "MISSING" is not a TRELLIS_SECRET_<NAME> variable of this process',
      'TRELLIS_SECRET_SCOPES: "ONE" names no tenants (write ONE=tenant-a,tenant-b or ONE=*)',
      'TRELLIS_SECRET_SCOPES: "ONE" names invalid tenants "Bad Tenant"',
    ]);
    expect(() => loadConfig(env)).toThrow(/Invalid configuration:\n {2}TRELLIS_SECRET_SCOPES: "MISSING"/);
  });
});
