import { OriginPolicy } from '../../src/api/origin-policy';

const at = (port: number, options: ConstructorParameters<typeof OriginPolicy>[0] = {}) => new OriginPolicy(options, () => port);

describe('OriginPolicy', () => {
  it('serves by default the Host names localhost, 127.0.0.1 and [::1] at the API\'s port, in any case', () => {
    const policy = at(4000);
    for (const host of ['localhost:4000', '127.0.0.1:4000', '[::1]:4000', 'LocalHost:4000']) expect(policy.problem({ host })).toBeUndefined();
  });

  it('refuses another host name, another port, a name resembling localhost, and a missing Host', () => {
    const policy = at(4000);
    expect(policy.problem({ host: 'rebound.evil.example:4000' })).toBe(
      'keyless mode serves only its own host names: Host "rebound.evil.example:4000" is not one of localhost:4000, 127.0.0.1:4000, [::1]:4000 (use an API key, or allow it with TRELLIS_ALLOWED_HOSTS)',
    );
    for (const host of ['localhost:4001', 'localhost', 'localhost.:4000', 'localhost.evil.example:4000', '127.0.0.2:4000', '0.0.0.0:4000']) {
      expect(policy.problem({ host })).toMatch(/^keyless mode serves only its own host names/);
    }
    expect(policy.problem({})).toBe('keyless mode needs a Host header naming this API (use an API key, or allow it with TRELLIS_ALLOWED_HOSTS)');
  });

  it('leaves the port out of the default names when the API listens on port 80, as browsers do', () => {
    expect(at(80).problem({ host: 'localhost' })).toBeUndefined();
    expect(at(80).problem({ host: 'localhost:80' })).toBeUndefined();
  });

  it('serves configured hosts instead: an entry without a port allows any port, "*" any host', () => {
    const policy = at(4000, { allowedHosts: ['trellis.internal', 'api.example:8443'] });
    expect(policy.problem({ host: 'trellis.internal:4000' })).toBeUndefined();
    expect(policy.problem({ host: 'trellis.internal' })).toBeUndefined();
    expect(policy.problem({ host: 'api.example:8443' })).toBeUndefined();
    expect(policy.problem({ host: 'api.example:4000' })).toMatch(/is not one of trellis.internal, api.example:8443 /);
    expect(policy.problem({ host: 'localhost:4000' })).toMatch(/^keyless mode serves only its own host names/);
    expect(at(4000, { allowedHosts: '*' }).problem({ host: 'anything.example' })).toBeUndefined();
  });

  it('serves requests without an Origin and pages of the API\'s own origin, and refuses other origins', () => {
    const policy = at(4000);
    expect(policy.problem({ host: 'localhost:4000' })).toBeUndefined();
    expect(policy.problem({ host: 'localhost:4000', origin: 'http://localhost:4000' })).toBeUndefined();
    expect(policy.problem({ host: '127.0.0.1:4000', origin: 'http://127.0.0.1:4000' })).toBeUndefined();
    expect(policy.problem({ host: 'localhost:4000', origin: 'https://evil.example' })).toBe(
      'keyless mode serves only pages of its own origin: Origin "https://evil.example" is not allowed (use an API key, or allow it with TRELLIS_ALLOWED_ORIGINS)',
    );
    // Another port of the same machine is another origin (another program's page).
    expect(policy.problem({ host: 'localhost:4000', origin: 'http://localhost:3000' })).toMatch(/Origin "http:\/\/localhost:3000" is not allowed/);
    expect(policy.problem({ host: 'localhost:4000', origin: 'null' })).toMatch(/Origin "null" is not allowed/);
  });

  it('serves configured origins besides its own, or any with "*"', () => {
    const policy = at(4000, { allowedOrigins: ['http://localhost:3000'] });
    expect(policy.problem({ host: 'localhost:4000', origin: 'http://localhost:3000' })).toBeUndefined();
    expect(policy.problem({ host: 'localhost:4000', origin: 'http://localhost:3001' })).toMatch(/is not allowed/);
    expect(at(4000, { allowedOrigins: '*' }).problem({ host: 'localhost:4000', origin: 'https://elsewhere.example' })).toBeUndefined();
  });
});
