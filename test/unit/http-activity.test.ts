import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import {
  createHttpActivity,
  MAX_RESPONSE_BYTES,
  parseRetryAfter,
  type HttpRequest,
  type HttpResponse,
  type HttpStatusErrorDetails,
} from '../../activities/http.activity';
import type { SecretResolver } from '../../activities/deferred-values';
import { DEFERRED_MARK } from '../../interpreter/deferred-templates';
import { parseEgressAllowList } from '../../src/net/egress-allow-list';
import { EgressPolicy } from '../../src/net/egress-policy';
import { createGuardedFetch } from '../../src/net/guarded-fetch';
import { HttpStub } from '../support/http-stub';

/** Answers every request with a fixed status, headers and raw (not JSON-encoded) text. */
async function startRawServer(status: number, headers: Record<string, string>, text: string): Promise<{ url: string; stop: () => Promise<void> }> {
  const server = http.createServer((_req, res) => {
    res.writeHead(status, headers);
    res.end(text);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    stop: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A port nothing listens on: bound once by us, then released. */
async function closedPort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const SECRET = 'tok_live_0123456789';
const secrets: SecretResolver = async (_tenant, names) => new Map(names.map((name) => [name, SECRET]));
// The stubs listen on loopback, which the egress policy refuses unless the operator allows it.
const outbound = createGuardedFetch(new EgressPolicy({ allowList: parseEgressAllowList('127.0.0.1').allowList }));
const activity = createHttpActivity(secrets, outbound);

// The harness logs every failed activity as a warning; these tests fail activities on purpose.
const quiet = new DefaultLogger('ERROR');

function call(request: Omit<HttpRequest, 'idempotencyKey'> & { idempotencyKey?: string }): Promise<HttpResponse> {
  return new MockActivityEnvironment(undefined, { logger: quiet }).run(activity, { idempotencyKey: 'run-1:step', ...request });
}

/** The failure `call` rejects with (fails the test if it resolves or throws something else). */
async function failureOf(request: Parameters<typeof call>[0]): Promise<ApplicationFailure & { details: [HttpStatusErrorDetails] }> {
  const err = await call(request).then(
    (response) => {
      throw new Error(`expected a failure, got ${JSON.stringify(response)}`);
    },
    (failure: unknown) => failure,
  );
  expect(err).toBeInstanceOf(ApplicationFailure);
  return err as ApplicationFailure & { details: [HttpStatusErrorDetails] };
}

describe('httpRequest activity', () => {
  let stub: HttpStub;

  beforeAll(async () => {
    stub = await new HttpStub().start();
  });
  afterAll(async () => {
    await stub.stop();
    await outbound.close();
  });

  describe('successful answers', () => {
    it('parses a 2xx application/json body', async () => {
      stub.on('GET /ok', { status: 201, body: { id: 'ch_1', amount: 12 } });
      const response = await call({ method: 'GET', url: `${stub.url}/ok` });
      expect(response).toMatchObject({ status: 201, body: { id: 'ch_1', amount: 12 } });
      expect(response.headers['content-type']).toBe('application/json');
    });

    it.each(['application/problem+json', 'application/vnd.api+json; charset=utf-8', 'text/json', 'Application/JSON'])(
      'parses a body served as %s',
      async (contentType) => {
        stub.on('GET /typed', { body: { data: [1, 2] }, headers: { 'content-type': contentType } });
        const response = await call({ method: 'GET', url: `${stub.url}/typed` });
        expect(response.body).toEqual({ data: [1, 2] });
      },
    );

    it('keeps a text/plain body as text, even when it holds JSON', async () => {
      stub.on('GET /plain', { body: { looks: 'like json' }, headers: { 'content-type': 'text/plain' } });
      const response = await call({ method: 'GET', url: `${stub.url}/plain` });
      expect(response.body).toBe('{"looks":"like json"}');
    });

    it('keeps a plain text body as text', async () => {
      const server = await startRawServer(200, { 'content-type': 'text/plain; charset=utf-8' }, 'hello, world');
      try {
        expect((await call({ method: 'GET', url: `${server.url}/` })).body).toBe('hello, world');
      } finally {
        await server.stop();
      }
    });

    it('keeps a JSON-typed body that does not parse as text', async () => {
      const server = await startRawServer(200, { 'content-type': 'application/json' }, '{not json');
      try {
        expect((await call({ method: 'GET', url: `${server.url}/` })).body).toBe('{not json');
      } finally {
        await server.stop();
      }
    });

    it('treats a status listed in expectStatus as success', async () => {
      stub.on('GET /missing', { status: 404, body: { error: 'no such thing' } });
      const response = await call({ method: 'GET', url: `${stub.url}/missing`, expectStatus: [404] });
      expect(response).toMatchObject({ status: 404, body: { error: 'no such thing' } });
    });

    it('fails a 2xx that expectStatus does not list', async () => {
      stub.on('GET /created', { status: 201, body: {} });
      const failure = await failureOf({ method: 'GET', url: `${stub.url}/created`, expectStatus: 200 });
      expect(failure).toMatchObject({ type: 'HttpStatusError', nonRetryable: false });
      expect(failure.details[0].status).toBe(201);
    });

    it('sends the Idempotency-Key it is given, replacing one set in headers', async () => {
      stub.on('POST /charges', { status: 200, body: {} });
      await call({ method: 'POST', url: `${stub.url}/charges`, headers: { 'Idempotency-Key': 'other' }, body: { amount: 1 }, idempotencyKey: 'run-42:charge' });
      const [request] = stub.received('POST /charges').slice(-1);
      expect(request!.headers['idempotency-key']).toBe('run-42:charge');
      expect(request!.headers['content-type']).toBe('application/json');
      expect(request!.body).toEqual({ amount: 1 });
    });
  });

  describe('status failures', () => {
    it('fails a 400 non-retryably with the status and a body excerpt in the message and details', async () => {
      stub.on('POST /reject', { status: 400, body: { error: 'card declined', code: 'E42' } });
      const failure = await failureOf({ method: 'POST', url: `${stub.url}/reject?x=1`, body: {} });
      expect(failure).toMatchObject({ type: 'HttpStatusError', nonRetryable: true });
      expect(failure.message).toBe(`POST ${stub.url}/reject answered 400 Bad Request: {"error":"card declined","code":"E42"}`);
      expect(failure.details).toEqual([{ status: 400, body: { error: 'card declined', code: 'E42' } }]);
    });

    it('collapses whitespace in the message excerpt and cuts it near 200 characters', async () => {
      const text = `line one\n\n   line\ttwo ${'x'.repeat(400)}`;
      const server = await startRawServer(422, { 'content-type': 'text/plain' }, text);
      try {
        const failure = await failureOf({ method: 'PUT', url: `${server.url}/items/1` });
        const excerpt = failure.message.split('answered 422 Unprocessable Entity: ')[1]!;
        expect(excerpt.startsWith('line one line two xxx')).toBe(true);
        expect(excerpt.length).toBeLessThanOrEqual(201);
        expect(excerpt.endsWith('…')).toBe(true);
        expect(failure.details[0]).toEqual({ status: 422, body: text });
      } finally {
        await server.stop();
      }
    });

    it('leaves the excerpt out of the message when the body is empty', async () => {
      stub.on('DELETE /gone', { status: 410 });
      const failure = await failureOf({ method: 'DELETE', url: `${stub.url}/gone` });
      expect(failure.message).toBe(`DELETE ${stub.url}/gone answered 410 Gone`);
      expect(failure.details).toEqual([{ status: 410, body: null }]);
    });

    it('fails a 500 retryably', async () => {
      stub.on('GET /boom', { status: 500, body: { error: 'oops' } });
      const failure = await failureOf({ method: 'GET', url: `${stub.url}/boom` });
      expect(failure).toMatchObject({ type: 'HttpStatusError', nonRetryable: false });
      expect(failure.details).toEqual([{ status: 500, body: { error: 'oops' } }]);
    });

    it.each([408, 429])('fails a %d retryably with retryAfterMs from delta-seconds', async (status) => {
      stub.on(`GET /slow-${status}`, { status, body: { error: 'slow down' }, headers: { 'retry-after': '7' } });
      const failure = await failureOf({ method: 'GET', url: `${stub.url}/slow-${status}` });
      expect(failure).toMatchObject({ type: 'HttpStatusError', nonRetryable: false });
      expect(failure.details).toEqual([{ status, body: { error: 'slow down' }, retryAfterMs: 7000 }]);
    });

    it.each([408, 429])('reads retryAfterMs of a %d from an HTTP-date relative to now', async (status) => {
      const at = new Date(Math.ceil(Date.now() / 1000) * 1000 + 30_000);
      stub.on(`GET /later-${status}`, { status, headers: { 'retry-after': at.toUTCString() } });
      const failure = await failureOf({ method: 'GET', url: `${stub.url}/later-${status}` });
      expect(failure.nonRetryable).toBe(false);
      const { retryAfterMs } = failure.details[0];
      expect(Number.isInteger(retryAfterMs)).toBe(true);
      expect(retryAfterMs).toBeGreaterThan(25_000);
      expect(retryAfterMs).toBeLessThanOrEqual(31_000);
    });

    it('fails a 503 retryably with retryAfterMs', async () => {
      stub.on('GET /maintenance', { status: 503, body: { error: 'maintenance' }, headers: { 'retry-after': '120' } });
      const failure = await failureOf({ method: 'GET', url: `${stub.url}/maintenance` });
      expect(failure.nonRetryable).toBe(false);
      expect(failure.details).toEqual([{ status: 503, body: { error: 'maintenance' }, retryAfterMs: 120_000 }]);
    });

    it('caps retryAfterMs at one hour', async () => {
      stub.on('GET /much-later', { status: 429, headers: { 'retry-after': '86400' } });
      const failure = await failureOf({ method: 'GET', url: `${stub.url}/much-later` });
      expect(failure.details[0].retryAfterMs).toBe(3_600_000);
    });

    it.each(['soon', '1.5', '-3', 'Fri, 31 Feb 2031 10:00:00 GMT'])('ignores the unparsable Retry-After %j', async (value) => {
      stub.on('GET /vague', { status: 429, body: { error: 'later' }, headers: { 'retry-after': value } });
      const failure = await failureOf({ method: 'GET', url: `${stub.url}/vague` });
      expect(failure.nonRetryable).toBe(false);
      expect(failure.details).toEqual([{ status: 429, body: { error: 'later' } }]);
    });

    it('ignores Retry-After on statuses other than 408, 429 and 503', async () => {
      stub.on('GET /bad-gateway', { status: 502, headers: { 'retry-after': '5' } });
      const failure = await failureOf({ method: 'GET', url: `${stub.url}/bad-gateway` });
      expect(failure.details[0]).not.toHaveProperty('retryAfterMs');
    });

    it('keeps only a 2048-character excerpt of a large error body, marked bodyTruncated', async () => {
      const items = Array.from({ length: 500 }, (_, i) => ({ id: i, reason: 'invalid quantity' }));
      stub.on('POST /bulk', { status: 400, body: { errors: items } });
      const failure = await failureOf({ method: 'POST', url: `${stub.url}/bulk`, body: {} });
      const [details] = failure.details;
      expect(details).toEqual({ status: 400, body: JSON.stringify({ errors: items }).slice(0, 2048), bodyTruncated: true });
      expect(failure.message.length).toBeLessThan(`POST ${stub.url}/bulk answered 400 Bad Request: `.length + 202);
    });

    it('keeps only a 2048-character excerpt of a large text error body', async () => {
      const text = 'e'.repeat(10_000);
      const server = await startRawServer(500, { 'content-type': 'text/html' }, text);
      try {
        const failure = await failureOf({ method: 'GET', url: `${server.url}/` });
        expect(failure.details).toEqual([{ status: 500, body: 'e'.repeat(2048), bodyTruncated: true }]);
      } finally {
        await server.stop();
      }
    });

    it('keeps a JSON error body of exactly 2048 characters whole', async () => {
      const body = { pad: 'p'.repeat(2048 - '{"pad":""}'.length) };
      stub.on('GET /edge', { status: 400, body });
      const failure = await failureOf({ method: 'GET', url: `${stub.url}/edge` });
      expect(failure.details).toEqual([{ status: 400, body }]);
    });
  });

  describe('other failures', () => {
    it('fails non-retryably when the declared Content-Length exceeds the size cap', async () => {
      const big = 'b'.repeat(MAX_RESPONSE_BYTES + 10);
      stub.on('GET /huge-declared', { body: big, headers: { 'content-length': String(big.length + 2) } });
      const failure = await failureOf({ method: 'GET', url: `${stub.url}/huge-declared` });
      expect(failure).toMatchObject({ type: 'HttpResponseTooLarge', nonRetryable: true });
    });

    it('fails non-retryably when a streamed body grows past the size cap', async () => {
      stub.on('GET /huge-streamed', { body: 'b'.repeat(MAX_RESPONSE_BYTES + 10) });
      const failure = await failureOf({ method: 'GET', url: `${stub.url}/huge-streamed` });
      expect(failure).toMatchObject({ type: 'HttpResponseTooLarge', nonRetryable: true });
    });

    it('fails retryably with HttpNetworkError when nothing listens on the port', async () => {
      const port = await closedPort();
      const failure = await failureOf({ method: 'GET', url: `http://127.0.0.1:${port}/nobody` });
      expect(failure).toMatchObject({ type: 'HttpNetworkError', nonRetryable: false });
      expect(failure.message).toContain(`GET http://127.0.0.1:${port}/nobody failed`);
    });

    it('fails non-retryably on a url that is not http or https', async () => {
      const failure = await failureOf({ method: 'GET', url: 'ftp://example.com/file' });
      expect(failure).toMatchObject({ type: 'HttpRequestError', nonRetryable: true });
    });
  });

  describe('secrets', () => {
    const withSecret = (url: string): Parameters<typeof call>[0] => ({
      method: 'POST',
      url,
      headers: { Authorization: `${DEFERRED_MARK}0` },
      deferred: { templates: ["Bearer {% $secret('PAY_TOKEN') %}"], bindings: {} },
      tenantId: 'default',
    });

    it('redacts a secret the target echoes from the message and the details', async () => {
      stub.on('POST /echo-fail', (request) => ({ status: 401, body: { error: `bad token ${String(request.headers.authorization)}` } }));
      const failure = await failureOf(withSecret(`${stub.url}/echo-fail`));
      expect(stub.received('POST /echo-fail').at(-1)!.headers.authorization).toBe(`Bearer ${SECRET}`);
      expect(failure.message).not.toContain(SECRET);
      expect(failure.message).toContain('bad token Bearer [secret PAY_TOKEN]');
      expect(failure.details).toEqual([{ status: 401, body: { error: 'bad token Bearer [secret PAY_TOKEN]' } }]);
    });

    it('redacts a secret that straddles the excerpt boundary instead of leaving half of it', async () => {
      // The excerpt is cut from the raw JSON text: an opening quote, then `before`, then "Bearer ", then the secret's first 5 characters.
      const before = 'x'.repeat(2048 - 1 - 'Bearer '.length - 5);
      stub.on('POST /echo-long', (request) => ({ status: 400, body: `${before}${String(request.headers.authorization)}${'y'.repeat(3000)}` }));
      const failure = await failureOf(withSecret(`${stub.url}/echo-long`));
      const body = failure.details[0].body as string;
      expect(failure.details[0].bodyTruncated).toBe(true);
      expect(body).toHaveLength(2048);
      expect(body).not.toContain(SECRET.slice(0, 4));
      expect(JSON.stringify(failure.details)).not.toContain(SECRET.slice(0, 4));
    });
  });
});

describe('parseRetryAfter', () => {
  const now = Date.UTC(2030, 0, 15, 12, 0, 0);

  it.each([
    ['0', 0],
    ['  42 ', 42_000],
    ['3600', 3_600_000],
    ['3601', 3_600_000],
    ['99999999999999999999999', 3_600_000],
    ['Tue, 15 Jan 2030 12:00:30 GMT', 30_000],
    ['Tuesday, 15-Jan-30 12:01:00 GMT', 60_000],
    ['Tue Jan 15 12:00:05 2030', 5_000],
    ['Tue Jan  1 12:00:05 2030', 0],
    ['Mon, 14 Jan 2030 12:00:00 GMT', 0],
    ['Tue, 15 Jan 2030 18:00:00 GMT', 3_600_000],
  ])('reads %j as %d ms', (value, ms) => {
    expect(parseRetryAfter(value, now)).toBe(ms);
  });

  it.each([null, undefined, '', 'soon', '1.5', '-1', '+5', '0x10', '15 Jan 2030', 'Tue, 15 Jan 2030 12:00:30', 'Tue, 15 Jan 2030 25:00:00 GMT', 'Tue, 30 Feb 2030 12:00:00 GMT'])(
    'ignores %j',
    (value) => {
      expect(parseRetryAfter(value, now)).toBeUndefined();
    },
  );
});
