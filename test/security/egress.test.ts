import { randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { createApiKey } from '../../src/api/api-keys';
import { freePort } from '../../src/net/free-port';
import { defineStepType } from '../../src/step-types/define-step-type';
import { graphql } from '../support/graphql-client';
import { HttpStub } from '../support/http-stub';
import { RUN_FIELDS, runToEnd, stepOf, type RunView } from '../support/runs';
import { createTestContext, TEST_HTTP_ALLOW, type TestContext } from '../support/test-context';
import { until } from '../support/until';

/**
 * SPEC §7b, egress: steps reach public addresses and what the operator allows, never Trellis's
 * own infrastructure, checked on the address connected to and on every redirect. Every run
 * here goes through a real worker; the services steps call are local stubs.
 */

const TOKEN = 'tok_live_5f1c7a9e3b';
const API_KEY = 'key_9d2e6b4a8c';

/** A custom step type that calls out as a deployment's would: through `context.fetch`. */
const callOut = defineStepType({
  name: 'call-out',
  config: z.object({ url: z.string(), token: z.string(), followRedirects: z.enum(['same-origin', 'any', 'none']).optional() }),
  async execute({ url, token, followRedirects }, { fetch }) {
    const response = await fetch(url, { headers: { 'x-token': token, 'x-plain': 'plain' }, followRedirects });
    return { status: response.status };
  },
});

let ctx: TestContext;
let stub: HttpStub;
/** Another origin (a different port): where redirects try to take requests and their secrets. */
let other: HttpStub;

beforeAll(async () => {
  [ctx, stub, other] = await Promise.all([
    createTestContext({ env: { TRELLIS_SECRET_TOKEN: TOKEN, TRELLIS_SECRET_API_KEY: API_KEY }, stepTypes: [callOut] }),
    new HttpStub().start(),
    new HttpStub().start(),
  ]);
});

afterAll(async () => {
  await Promise.all([ctx?.stop(), stub?.stop(), other?.stop()]);
});

beforeEach(() => {
  for (const target of [stub, other]) target.requests.length = 0;
});

type Probe = { url: string; method?: string; headers?: Record<string, string>; body?: unknown; followRedirects?: string; expectStatus?: number[] };

/** Runs one http step per probe (one attempt each, failures do not stop the others) and returns the run. */
function probe(context: TestContext, probes: Record<string, Probe>): Promise<RunView> {
  const steps = Object.fromEntries(
    Object.entries(probes).map(([id, request]) => [id, { type: 'http', method: 'GET', ...request, retry: { maxAttempts: 1 }, timeout: '10s', onError: 'continue' }]),
  );
  return runToEnd(context, { name: `egress-${randomUUID().slice(0, 8)}`, steps });
}

/** host:port of a URL or `host:port` address. */
function portOf(address: string): number {
  return Number(new URL(address.includes('://') ? address : `tcp://${address}`).port);
}

/** Ways to write "this machine" in a URL: names, IPv4-mapped IPv6, the wildcard, an odd IPv4 literal. */
const LOCAL_SPELLINGS = ['127.0.0.1', 'localhost', '[::ffff:127.0.0.1]', '0.0.0.0', '2130706433', '127.0.0.2'] as const;

function infrastructureRefusal(port: number) {
  return { type: 'EgressDenied', retryable: false, message: expect.stringContaining(`:${port}, which is part of Trellis's own infrastructure: steps can never reach it`) };
}

describe(`with loopback allowed (TRELLIS_HTTP_ALLOW=${TEST_HTTP_ALLOW})`, () => {
  it.each([
    ['the Temporal server (gRPC)', () => portOf(ctx.trellis.temporalAddress), '/temporal.api.workflowservice.v1.WorkflowService/ListWorkflowExecutions'],
    ['PostgreSQL', () => portOf(ctx.trellis.databaseUrl), '/'],
    ['the Trellis API', () => portOf(ctx.graphqlUrl), '/graphql'],
  ])('refuses %s however its address is written, while other services on loopback stay reachable', async (_what, portOfService, pathname) => {
    const port = portOfService();
    stub.on('GET /hello', { body: { hello: 'world' } });
    const probes = Object.fromEntries(LOCAL_SPELLINGS.map((host, index) => [`via${index}`, { url: `http://${host}:${port}${pathname}`, method: 'POST', body: { query: '{ runs { edges { node { id } } } }' } }]));
    const run = await probe(ctx, { ...probes, allowed: { url: `${stub.url}/hello` } });
    expect(stepOf(run, 'allowed')).toMatchObject({ status: 'SUCCEEDED', output: { status: 200, body: { hello: 'world' } } });
    for (const [index, host] of LOCAL_SPELLINGS.entries()) {
      expect({ host, error: stepOf(run, `via${index}`).error }).toEqual({ host, error: expect.objectContaining(infrastructureRefusal(port)) });
    }
  });

  it('names the request and the refused address, and not which service it is', async () => {
    const port = portOf(ctx.trellis.databaseUrl);
    const run = await probe(ctx, { db: { url: `http://127.0.0.1:${port}/x?password=hunter2`, method: 'POST' } });
    expect(stepOf(run, 'db').error.message).toBe(
      `POST http://127.0.0.1:${port}/x resolves to 127.0.0.1:${port}, which is part of Trellis's own infrastructure: steps can never reach it`,
    );
  });

  it.each([
    ['http://10.0.0.1/', 'resolves to 10.0.0.1, a private address'],
    ['http://192.168.1.1/', 'resolves to 192.168.1.1, a private address'],
    ['http://169.254.169.254/latest/meta-data/', 'resolves to 169.254.169.254, a link-local address'],
    ['http://[::ffff:169.254.169.254]/latest/meta-data/', 'resolves to ::ffff:a9fe:a9fe (169.254.169.254), a link-local address'],
    ['http://0xa9fea9fe/latest/meta-data/', 'resolves to 169.254.169.254, a link-local address'],
    ['http://[fd00::1]/', 'resolves to fd00::1, a unique-local address'],
    ['http://[fe80::1]/', 'resolves to fe80::1, a link-local address'],
    ['http://100.64.0.1/', 'resolves to 100.64.0.1, a shared (carrier-grade NAT) address'],
    ['http://224.0.0.1/', 'resolves to 224.0.0.1, a multicast address'],
    ['http://[64:ff9b::a00:1]/', 'resolves to 64:ff9b::a00:1 (10.0.0.1), a private address'],
  ])('refuses %s, which the allow-list does not open', async (url, detail) => {
    const run = await probe(ctx, { target: { url } });
    expect(stepOf(run, 'target')).toMatchObject({ status: 'FAILED', attempts: 1, error: { type: 'EgressDenied', retryable: false, message: expect.stringContaining(`${detail}; allow it with TRELLIS_HTTP_ALLOW`) } });
  });
});

describe('redirects', () => {
  const secretRequest = {
    method: 'POST',
    headers: { Authorization: "Bearer {% $secret('TOKEN') %}", 'X-Api-Key': "{% $secret('API_KEY') %}", Cookie: "sid={% $secret('TOKEN') %}", 'X-Trace': 'trace-7' },
    body: { card: "{% $secret('TOKEN') %}" },
  };

  it('are followed within the same origin, and not to another origin by default: that redirect is the response, and fails the step', async () => {
    stub.on('POST /old', { status: 308, headers: { location: '/new' } }).on('POST /new', { body: { ok: true } });
    stub.on('POST /charge', { status: 302, headers: { location: `${other.url.replace('127.0.0.1', 'localhost')}/collect` } });
    const run = await probe(ctx, { same: { url: `${stub.url}/old`, ...secretRequest }, call: { url: `${stub.url}/charge`, ...secretRequest } });
    expect(stepOf(run, 'same')).toMatchObject({ status: 'SUCCEEDED', output: { status: 200 } });
    expect(stub.received('POST /new')[0]).toMatchObject({ headers: { authorization: `Bearer ${TOKEN}`, 'x-api-key': API_KEY }, body: { card: TOKEN } });
    expect(stepOf(run, 'call').error).toMatchObject({
      type: 'HttpStatusError',
      message: expect.stringContaining(`answered 302 Found (a redirect to http://localhost:${portOf(other.url)}, not followed: followRedirects is "same-origin")`),
    });
    expect(other.requests).toEqual([]);
  });

  it('not followed are the output when expectStatus lists them', async () => {
    stub.on('GET /moved', { status: 301, headers: { location: `${other.url}/elsewhere` } });
    const run = await probe(ctx, { call: { url: `${stub.url}/moved`, expectStatus: [301] } });
    expect(stepOf(run, 'call')).toMatchObject({ status: 'SUCCEEDED', output: { status: 301, headers: { location: `${other.url}/elsewhere` } } });
    expect(other.requests).toEqual([]);
  });

  it('are not followed at all with followRedirects "none"', async () => {
    stub.on('GET /same', { status: 302, headers: { location: '/same-target' } });
    const run = await probe(ctx, { call: { url: `${stub.url}/same`, followRedirects: 'none', expectStatus: [302] } });
    expect(stepOf(run, 'call')).toMatchObject({ status: 'SUCCEEDED', output: { status: 302 } });
    expect(stub.received('GET /same-target')).toEqual([]);
  });

  it('to another origin, when allowed, arrive without credentials, secret-bearing headers or a secret-bearing body', async () => {
    stub.on('POST /checkout', { status: 303, headers: { location: `${other.url}/receipt` } });
    other.on('GET /receipt', { body: { receipt: 1 } });
    const run = await probe(ctx, { call: { url: `${stub.url}/checkout`, followRedirects: 'any', ...secretRequest } });
    expect(stepOf(run, 'call')).toMatchObject({ status: 'SUCCEEDED', output: { status: 200, body: { receipt: 1 } } });
    const [arrived] = other.received('GET /receipt');
    expect(arrived?.headers['x-trace']).toBe('trace-7');
    for (const name of ['authorization', 'x-api-key', 'cookie', 'proxy-authorization', 'content-type']) expect(arrived?.headers).not.toHaveProperty(name);
    expect(arrived?.body).toBeNull();
    expect(JSON.stringify(other.requests)).not.toContain(TOKEN);
    expect(JSON.stringify(other.requests)).not.toContain(API_KEY);
  });

  it('that would resend a secret-bearing body to another origin (307) are refused', async () => {
    stub.on('POST /pay', { status: 307, headers: { location: `${other.url}/pay` } });
    const run = await probe(ctx, { call: { url: `${stub.url}/pay`, followRedirects: 'any', ...secretRequest } });
    expect(stepOf(run, 'call')).toMatchObject({
      status: 'FAILED',
      error: { type: 'RedirectRefused', retryable: false, message: `POST ${stub.url}/pay redirected (307) to ${other.url}/pay, another origin: following would send it the request's body, which carries a secret` },
    });
    expect(other.requests).toEqual([]);
  });

  it("to Trellis's own infrastructure are refused, the API included", async () => {
    const apiPort = portOf(ctx.graphqlUrl);
    stub.on('POST /bounce', { status: 307, headers: { location: `http://localhost:${apiPort}/graphql` } });
    const run = await probe(ctx, { call: { url: `${stub.url}/bounce`, followRedirects: 'any', method: 'POST', body: { query: '{ runs { edges { node { id } } } }' } } });
    expect(stepOf(run, 'call').error).toMatchObject({
      ...infrastructureRefusal(apiPort),
      message: `POST http://localhost:${apiPort}/graphql (redirected from ${stub.url}/bounce) resolves to 127.0.0.1:${apiPort}, which is part of Trellis's own infrastructure: steps can never reach it`,
    });
  });

  it('in compensations and map actions follow the same rules', async () => {
    stub.on('GET /item', { status: 302, headers: { location: `${other.url}/item` } });
    stub.on('POST /undo', { status: 302, headers: { location: `${other.url}/undo` } });
    const run = await runToEnd(ctx, {
      name: `egress-actions-${randomUUID().slice(0, 8)}`,
      steps: {
        each: { type: 'map', items: '{% [1, 2] %}', do: { type: 'http', url: `${stub.url}/item`, expectStatus: [302] } },
        booked: { type: 'http', url: `${stub.url}/item`, expectStatus: [302], compensate: { type: 'http', method: 'POST', url: `${stub.url}/undo`, retry: { maxAttempts: 1 } } },
        fail: { type: 'transform', needs: ['each', 'booked'], value: "{% $error('roll back') %}" },
      },
    });
    expect(stepOf(run, 'each').output).toMatchObject([{ status: 302 }, { status: 302 }]);
    expect(stub.received('POST /undo')).toHaveLength(1);
    expect(stepOf(run, 'booked')).toMatchObject({ status: 'COMPENSATION_FAILED', error: { message: expect.stringContaining('answered 302 Found (a redirect to') } });
    expect(other.requests).toEqual([]);
  });
});

describe('custom step types calling out through context.fetch', () => {
  it("are refused Trellis's own infrastructure and private addresses, and send no secret to another origin", async () => {
    const apiPort = portOf(ctx.graphqlUrl);
    stub.on('GET /hop', { status: 302, headers: { location: `${other.url}/landing` } });
    other.on('GET /landing', { body: 'landed' });
    const token = "{% $secret('TOKEN') %}";
    const run = await runToEnd(ctx, {
      name: `egress-custom-${randomUUID().slice(0, 8)}`,
      steps: {
        api: { type: 'call-out', url: `http://localhost:${apiPort}/health`, token, retry: { maxAttempts: 3, initialInterval: '10ms' }, onError: 'continue' },
        metadata: { type: 'call-out', url: 'http://169.254.169.254/latest/meta-data/', token, retry: { maxAttempts: 1 }, onError: 'continue' },
        hop: { type: 'call-out', url: `${stub.url}/hop`, token, followRedirects: 'any' },
        stay: { type: 'call-out', url: `${stub.url}/hop`, token },
      },
    });
    expect(stepOf(run, 'api')).toMatchObject({ status: 'FAILED', attempts: 1, error: infrastructureRefusal(apiPort) });
    expect(stepOf(run, 'metadata').error).toMatchObject({ type: 'EgressDenied', message: expect.stringContaining('a link-local address') });
    expect(stepOf(run, 'hop').output).toEqual({ status: 200 });
    expect(stepOf(run, 'stay').output).toEqual({ status: 302 });
    expect(other.received('GET /landing')).toHaveLength(1);
    expect(other.received('GET /landing')[0]?.headers).toMatchObject({ 'x-plain': 'plain' });
    expect(other.received('GET /landing')[0]?.headers).not.toHaveProperty('x-token');
    expect(stub.received('GET /hop')[0]?.headers['x-token']).toBe(TOKEN);
  });
});

describe('keyless local mode (no API key, TRELLIS_HTTP_ALLOW unset)', () => {
  let keyless: TestContext;

  beforeAll(async () => {
    keyless = await createTestContext({ env: { TRELLIS_HTTP_ALLOW: undefined } });
  });

  afterAll(async () => {
    await keyless?.stop();
  });

  it('allows loopback, says so at start-up, and still refuses private addresses and the infrastructure', async () => {
    expect(keyless.trellis.egress).toBe('outbound http: loopback allowed (keyless local mode); set TRELLIS_HTTP_ALLOW to change');
    stub.on('GET /local', { body: 'local' });
    const run = await probe(keyless, {
      local: { url: `${stub.url}/local` },
      private: { url: 'http://10.0.0.1/' },
      api: { url: `http://127.0.0.1:${portOf(keyless.graphqlUrl)}/health` },
    });
    expect(stepOf(run, 'local')).toMatchObject({ status: 'SUCCEEDED' });
    expect(stepOf(run, 'private').error).toMatchObject({ type: 'EgressDenied', message: expect.stringContaining('a private address') });
    expect(stepOf(run, 'api').error).toMatchObject(infrastructureRefusal(portOf(keyless.graphqlUrl)));
  });

  it('stops allowing loopback within seconds once an API key exists, names included', async () => {
    const { secret } = await createApiKey(keyless.trellis.db, 'acme', 'ops', true);
    stub.on('GET /after-key', { body: 'reached' });
    const spec = { name: 'after-key', steps: { local: { type: 'http', url: `http://localhost:${portOf(stub.url)}/after-key`, retry: { maxAttempts: 1 } } } };
    const saved = await graphql(keyless.graphqlUrl, 'mutation($spec: JSON!) { saveDefinition(spec: $spec) { version } }', { spec }, secret);
    expect(saved.errors).toBeUndefined();
    let last: { status: string; steps: Array<{ id: string; error: any }> } | undefined;
    // The worker re-reads whether keys exist every few seconds: run until a run is refused.
    await until(
      'a run started after the first key cannot reach loopback',
      async () => {
        const started = await graphql<{ startRun: { id: string } }>(keyless.graphqlUrl, 'mutation { startRun(definition: "after-key") { id } }', {}, secret);
        const id = started.data!.startRun.id;
        await until('the run ends', async () => {
          const found = await graphql<{ run: typeof last }>(keyless.graphqlUrl, `query($id: ID!) { run(id: $id) { ${RUN_FIELDS} } }`, { id }, secret);
          last = found.data!.run;
          return last?.status !== 'RUNNING';
        });
        return last?.status === 'FAILED';
      },
      30_000,
    );
    expect(last?.steps.find((step) => step.id === 'local')?.error).toMatchObject({ type: 'EgressDenied', message: expect.stringContaining('resolves to 127.0.0.1, a loopback address') });
  });
});

describe('a worker running apart from the API (TRELLIS_ROLE=worker)', () => {
  let api: TestContext;
  let worker: TestContext;

  beforeAll(async () => {
    const taskQueue = `egress-split-${randomUUID().slice(0, 8)}`;
    const secretKey = randomBytes(32).toString('base64');
    api = await createTestContext({ env: { TRELLIS_ROLE: 'api', TRELLIS_TASK_QUEUE: taskQueue, TRELLIS_SECRET_KEY: secretKey } });
    // The same database, task queue and key, and the API's PORT, as an operator sets both processes up.
    worker = await createTestContext({
      rewriteDatabaseUrl: () => new URL(api.trellis.databaseUrl),
      env: { TRELLIS_ROLE: 'worker', TRELLIS_TASK_QUEUE: taskQueue, TRELLIS_SECRET_KEY: secretKey, PORT: String(portOf(api.graphqlUrl)) },
    });
  });

  afterAll(async () => {
    await worker?.stop();
    await api?.stop();
  });

  it('still refuses the API port on this machine', async () => {
    const port = portOf(api.graphqlUrl);
    const run = await probe(api, { api: { url: `http://localhost:${port}/graphql`, method: 'POST', body: { query: '{ runs { edges { node { id } } } }' } } });
    expect(stepOf(run, 'api').error).toMatchObject(infrastructureRefusal(port));
  });
});

describe('the embedded Temporal server (as npm start runs it, with its Web UI)', () => {
  let embedded: TestContext;
  let dataDir: string;
  let grpcPort: number;
  let uiPort: number;

  beforeAll(async () => {
    dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'trellis-egress-'));
    [grpcPort, uiPort] = [await freePort(), await freePort()];
    embedded = await createTestContext({
      env: { TEMPORAL_ADDRESS: undefined, TEMPORAL_UI_URL: undefined, TEMPORAL_PORT: String(grpcPort), TEMPORAL_UI_PORT: String(uiPort), TRELLIS_DATA_DIR: dataDir },
    });
  });

  afterAll(async () => {
    await embedded?.stop();
    if (dataDir) await fs.rm(dataDir, { recursive: true, force: true });
  });

  it("refuses the Web UI's API, which would list and start any tenant's workflows", async () => {
    const run = await probe(embedded, {
      list: { url: `http://localhost:${uiPort}/api/v1/namespaces/default/workflows` },
      start: { url: `http://127.0.0.1:${uiPort}/api/v1/namespaces/default/workflows/forged`, method: 'POST', body: { workflowType: { name: 'trellisRun' } } },
    });
    expect(stepOf(run, 'list').error).toMatchObject(infrastructureRefusal(uiPort));
    expect(stepOf(run, 'start').error).toMatchObject(infrastructureRefusal(uiPort));
  });

  it('refuses every port the Temporal server listens on: gRPC, HTTP API, metrics and its internal services', async () => {
    const ports = await temporalServerPorts(grpcPort);
    expect(ports).toEqual(expect.arrayContaining([grpcPort, uiPort]));
    expect(ports.length).toBeGreaterThanOrEqual(4);
    const run = await probe(embedded, Object.fromEntries(ports.map((port) => [`port${port}`, { url: `http://127.0.0.1:${port}/api/v1/namespaces/default/workflows` }])));
    for (const port of ports) expect({ port, error: stepOf(run, `port${port}`).error }).toEqual({ port, error: expect.objectContaining(infrastructureRefusal(port)) });
  });
});

/**
 * The TCP ports of the `temporal server start-dev` process serving `grpcPort`, read from /proc
 * (this test suite runs on Linux): found by its command line, its sockets matched to LISTEN rows.
 */
async function temporalServerPorts(grpcPort: number): Promise<number[]> {
  for (const pid of (await fs.readdir('/proc')).filter((name) => /^\d+$/.test(name))) {
    const args = (await fs.readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).split('\0');
    if (!args.includes('start-dev') || args[args.indexOf('--port') + 1] !== String(grpcPort)) continue;
    const inodes = new Set<string>();
    for (const fd of await fs.readdir(`/proc/${pid}/fd`)) {
      const match = /^socket:\[(\d+)\]$/.exec(await fs.readlink(`/proc/${pid}/fd/${fd}`).catch(() => ''));
      if (match) inodes.add(match[1]!);
    }
    const ports = new Set<number>();
    for (const table of ['tcp', 'tcp6']) {
      for (const row of (await fs.readFile(`/proc/${pid}/net/${table}`, 'utf8')).split('\n').slice(1)) {
        const fields = row.trim().split(/\s+/);
        if (fields[3] === '0A' && inodes.has(fields[9] ?? '')) ports.add(parseInt(fields[1]!.split(':').pop()!, 16));
      }
    }
    return [...ports].sort((x, y) => x - y);
  }
  throw new Error(`no temporal start-dev process serves port ${grpcPort}`);
}
