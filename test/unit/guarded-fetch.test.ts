import { parseEgressAllowList } from '../../src/net/egress-allow-list';
import { EgressDeniedError } from '../../src/net/egress-denied-error';
import { EgressPolicy } from '../../src/net/egress-policy';
import { createGuardedFetch, MAX_REDIRECTS, type GuardedFetch } from '../../src/net/guarded-fetch';
import { InfrastructureEndpoints } from '../../src/net/infrastructure-endpoints';
import { RedirectRefusedError } from '../../src/net/redirect-refused-error';
import type { HostResolver } from '../../src/net/resolve-host';
import { HttpStub } from '../support/http-stub';

/** Two services on loopback, two origins: what a step calls, and where a redirect may send it. */
let a: HttpStub;
let b: HttpStub;
/** A port the policy treats as Trellis's own (a third stub stands in for the service). */
let infra: HttpStub;
let client: GuardedFetch;
const clients: GuardedFetch[] = [];

function guarded(allow: string, options: { resolve?: HostResolver; infrastructure?: InfrastructureEndpoints } = {}): GuardedFetch {
  const made = createGuardedFetch(new EgressPolicy({ allowList: parseEgressAllowList(allow).allowList, ...options }));
  clients.push(made);
  return made;
}

const port = (stub: HttpStub) => Number(new URL(stub.url).port);

beforeAll(async () => {
  [a, b, infra] = await Promise.all([new HttpStub().start(), new HttpStub().start(), new HttpStub().start()]);
  const infrastructure = new InfrastructureEndpoints();
  infrastructure.add({ name: 'Trellis API', host: '127.0.0.1', port: port(infra) });
  client = guarded('127.0.0.1', { infrastructure });
});

afterAll(async () => {
  await Promise.all(clients.map((made) => made.close()));
  await Promise.all([a.stop(), b.stop(), infra.stop()]);
});

beforeEach(() => {
  for (const stub of [a, b, infra]) stub.requests.length = 0;
});

async function rejection(promise: Promise<unknown>): Promise<Error> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (err: Error) => err,
  );
}

describe('the connection', () => {
  it('goes to the address that was checked, not to what the name resolves to a moment later (DNS rebinding)', async () => {
    let lookups = 0;
    // First answer: an address the policy allows (nothing listens there); every later answer: the stub's, which it refuses.
    const rebinding: HostResolver = async () => (lookups++ === 0 ? ['127.0.0.2'] : ['127.0.0.1']);
    a.on('GET /secret', { body: { leaked: true } });
    const err = await rejection(guarded('127.0.0.2', { resolve: rebinding })(`http://rebind.test:${port(a)}/secret`));
    expect((err.cause as NodeJS.ErrnoException).code).toBe('ECONNREFUSED');
    expect(lookups).toBe(1);
    expect(a.requests).toEqual([]);
  });

  it('is refused when the name resolves to a refused address, before anything is sent', async () => {
    const err = await rejection(guarded('', { resolve: async () => ['127.0.0.1'] })(`http://innocent.test:${port(a)}/x`, { method: 'POST' }));
    expect(err).toBeInstanceOf(EgressDeniedError);
    expect(err.message).toBe(`POST http://innocent.test:${port(a)}/x resolves to 127.0.0.1, a loopback address; allow it with TRELLIS_HTTP_ALLOW`);
    expect(a.requests).toEqual([]);
  });

  it('keeps the host name in the Host header while connecting to the checked address', async () => {
    a.on('GET /named', { body: 'ok' });
    const response = await guarded('named.test', { resolve: async () => ['127.0.0.1'] })(`http://named.test:${port(a)}/named`);
    expect(response.status).toBe(200);
    expect(a.received('GET /named')[0]?.headers.host).toBe(`named.test:${port(a)}`);
  });

  it.each(['2130706433', '0x7f000001', '0177.0.0.1', '127.1', '[::ffff:127.0.0.1]', '[::ffff:7f00:1]', '0'])(
    'refuses http://%s:<port>/, an odd spelling of a local address, without connecting',
    async (host) => {
      const err = await rejection(guarded('')(`http://${host}:${port(a)}/`));
      expect(err).toBeInstanceOf(EgressDeniedError);
      expect(a.requests).toEqual([]);
    },
  );

  it('is not reused once the rules change: a kept-alive connection to loopback closes with keyless mode', async () => {
    let keyless = true;
    const made = createGuardedFetch(new EgressPolicy({ loopbackByDefault: async () => keyless }));
    clients.push(made);
    a.on('GET /kept', { body: 'ok' });
    expect((await made(`${a.url}/kept`)).status).toBe(200);
    keyless = false;
    const err = await rejection(made(`${a.url}/kept`));
    expect(err).toMatchObject({ name: 'EgressDenied', category: 'loopback' });
    expect(a.received('GET /kept')).toHaveLength(1);
  });

  it("refuses Trellis's own infrastructure although its address is allowed", async () => {
    const err = await rejection(client(`${infra.url}/graphql`, { method: 'POST' }));
    expect(err).toMatchObject({ name: 'EgressDenied', reason: 'infrastructure' });
    expect(err.message).toBe(`POST ${infra.url}/graphql resolves to 127.0.0.1:${port(infra)}, which is part of Trellis's own infrastructure: steps can never reach it`);
    expect(infra.requests).toEqual([]);
  });
});

describe('redirects', () => {
  const secretHeaders = { authorization: 'Bearer tok_live_1', cookie: 'sid=1', 'proxy-authorization': 'Basic x', 'x-api-key': 'key_123456', 'x-trace': 'trace-1' };

  it('follows one to the same origin with every header', async () => {
    a.on('GET /old', { status: 301, headers: { location: '/new' } }).on('GET /new', { body: 'moved' });
    const response = await client(`${a.url}/old`, { headers: secretHeaders, secretHeaders: ['X-Api-Key'] });
    expect(response.status).toBe(200);
    expect(a.received('GET /new')[0]?.headers).toMatchObject(secretHeaders);
  });

  it('does not follow one to another origin by default: the redirect is the response', async () => {
    a.on('GET /away', { status: 302, headers: { location: `${b.url}/landing` } });
    const response = await client(`${a.url}/away`, { headers: secretHeaders });
    expect(response.status).toBe(302);
    expect(b.requests).toEqual([]);
  });

  it('treats another port or another spelling of the host as another origin', async () => {
    a.on('GET /spelling', { status: 302, headers: { location: `http://localhost:${port(a)}/landing` } });
    expect((await guarded('127.0.0.1, localhost')(`${a.url}/spelling`)).status).toBe(302);
    expect(a.received('GET /landing')).toEqual([]);
  });

  it('follows none with followRedirects "none"', async () => {
    a.on('GET /none', { status: 307, headers: { location: '/none-target' } });
    expect((await client(`${a.url}/none`, { followRedirects: 'none' })).status).toBe(307);
    expect(a.received('GET /none-target')).toEqual([]);
  });

  it('follows one to another origin with "any", without credentials or secret-bearing headers', async () => {
    a.on('POST /charge', { status: 302, headers: { location: `${b.url}/landing?x=1` } });
    b.on('GET /landing', { body: 'landed' });
    const response = await client(`${a.url}/charge`, {
      method: 'POST',
      headers: { ...secretHeaders, 'x-echo': 'holds tok_live_1 inside', 'content-type': 'application/json' },
      body: JSON.stringify({ card: 'tok_live_1' }),
      followRedirects: 'any',
      secretHeaders: ['X-API-KEY'],
      carriesSecret: (text) => text.includes('tok_live_1'),
    });
    expect(response.status).toBe(200);
    const [arrived] = b.received('GET /landing');
    expect(arrived?.headers).toMatchObject({ 'x-trace': 'trace-1' });
    for (const name of ['authorization', 'cookie', 'proxy-authorization', 'x-api-key', 'x-echo', 'content-type']) expect(arrived?.headers).not.toHaveProperty(name);
    expect(arrived?.body).toBeNull();
  });

  it('turns a 303 into a GET without the body', async () => {
    a.on('PUT /see-other', { status: 303, headers: { location: `${b.url}/result` } });
    b.on('GET /result', { body: 'ok' });
    await client(`${a.url}/see-other`, { method: 'PUT', body: 'plain', headers: { 'content-type': 'text/plain' }, followRedirects: 'any' });
    expect(b.received('GET /result')[0]).toMatchObject({ body: null });
    expect(b.received('GET /result')[0]?.headers).not.toHaveProperty('content-type');
  });

  it('sends a body that holds no secret on with a 307 to another origin', async () => {
    a.on('POST /temporary', { status: 307, headers: { location: `${b.url}/temporary` } });
    b.on('POST /temporary', { body: 'ok' });
    await client(`${a.url}/temporary`, { method: 'POST', body: JSON.stringify({ order: 1 }), headers: { authorization: 'Bearer x' }, followRedirects: 'any' });
    expect(b.received('POST /temporary')[0]).toMatchObject({ body: { order: 1 } });
    expect(b.received('POST /temporary')[0]?.headers).not.toHaveProperty('authorization');
  });

  it.each([307, 308])('refuses a %i to another origin that would resend a secret-bearing body', async (status) => {
    a.on(`POST /keep-${status}`, { status, headers: { location: `${b.url}/steal` } });
    const err = await rejection(client(`${a.url}/keep-${status}`, { method: 'POST', body: '{"token":"x"}', secretBody: true, followRedirects: 'any' }));
    expect(err).toBeInstanceOf(RedirectRefusedError);
    expect(err.message).toBe(`POST ${a.url}/keep-${status} redirected (${status}) to ${b.url}/steal, another origin: following would send it the request's body, which carries a secret`);
    expect(b.requests).toEqual([]);
  });

  it(`stops after ${MAX_REDIRECTS} redirects in a row`, async () => {
    a.on('GET /loop', { status: 302, headers: { location: '/loop' } });
    const err = await rejection(client(`${a.url}/loop`));
    expect(err).toBeInstanceOf(RedirectRefusedError);
    expect(err.message).toBe(`GET ${a.url}/loop was redirected more than ${MAX_REDIRECTS} times`);
    expect(a.received('GET /loop')).toHaveLength(MAX_REDIRECTS + 1);
  });

  it('checks every hop with the policy: a redirect to a refused address is refused', async () => {
    a.on('GET /to-metadata', { status: 302, headers: { location: 'http://169.254.169.254/latest/meta-data/' } });
    const err = await rejection(client(`${a.url}/to-metadata`, { followRedirects: 'any' }));
    expect(err).toBeInstanceOf(EgressDeniedError);
    expect(err.message).toBe(`GET http://169.254.169.254/latest/meta-data/ (redirected from ${a.url}/to-metadata) resolves to 169.254.169.254, a link-local address; allow it with TRELLIS_HTTP_ALLOW`);
  });

  it("refuses a redirect to Trellis's own infrastructure", async () => {
    a.on('GET /to-api', { status: 307, headers: { location: `${infra.url}/graphql` } });
    const err = await rejection(client(`${a.url}/to-api`, { followRedirects: 'any' }));
    expect(err).toMatchObject({ name: 'EgressDenied', reason: 'infrastructure' });
    expect(infra.requests).toEqual([]);
  });

  it('refuses a redirect out of http and https', async () => {
    a.on('GET /to-file', { status: 302, headers: { location: 'file:///etc/passwd' } });
    const err = await rejection(client(`${a.url}/to-file`, { followRedirects: 'any' }));
    expect(err).toBeInstanceOf(RedirectRefusedError);
    expect(err.message).toBe(`GET ${a.url}/to-file redirected (302) to a file: URL: only http and https are followed`);
  });
});
