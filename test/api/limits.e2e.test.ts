import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Client } from 'graphql-ws';
import { getIntrospectionQuery } from 'graphql';
import WebSocket from 'ws';
import { graphql, wsClient } from '../support/graphql-client';
import { createTestContext, type TestContext } from '../support/test-context';

type FormattedError = { message: string; extensions?: Record<string, unknown> };

let dev: TestContext;
let prod: TestContext;

beforeAll(async () => {
  // jest runs with NODE_ENV=test: a development server. The production one needs no worker.
  dev = await createTestContext();
  prod = await createTestContext({ env: { NODE_ENV: 'production', TRELLIS_ROLE: 'api' } });
});

afterAll(async () => {
  await Promise.all([dev?.stop(), prod?.stop()]);
});

/** Fields nested `depth` levels deep (unknown fields: no field of the schema nests that deep). */
const nested = (depth: number) => `${'a { '.repeat(depth - 1)}b${' }'.repeat(depth - 1)}`;

/** `count` aliases of a run's events, 1000 each: every one costs 1 + 1000 × (edges 1 + node 1 + 2 fields). */
const events = (count: number) => Array.from({ length: count }, (_, i) => `e${i}: events(first: 1000) { edges { node { seq type } } }`).join('\n');

/** Subscribes and resolves with the errors the server sends instead of data. */
function subscriptionErrors(client: Client, query: string, variables: Record<string, unknown> = {}): Promise<FormattedError[]> {
  return new Promise((resolve, reject) => {
    client.subscribe(
      { query, variables },
      {
        next: (value) => (value.errors ? resolve(value.errors as FormattedError[]) : reject(new Error(`unexpected data: ${JSON.stringify(value.data)}`))),
        error: (err) => (Array.isArray(err) ? resolve(err as FormattedError[]) : reject(err instanceof Error ? err : new Error(String(err)))),
        complete: () => reject(new Error('completed without an error')),
      },
    );
  });
}

describe('operation depth', () => {
  it('refuses a query nested deeper than 12 levels over HTTP, naming the limit and the depth', async () => {
    const result = await graphql(dev.graphqlUrl, `{ ${nested(14)} }`);
    const error = result.errors!.find((e) => (e.extensions?.limit as { name?: string } | undefined)?.name === 'depth');
    expect(error).toMatchObject({
      message: 'operation too deep: its fields nest 14 levels, the limit is 12',
      extensions: { code: 'BAD_USER_INPUT', limit: { name: 'depth', max: 12, actual: 14 } },
    });
  });

  it('follows fragment spreads when it measures the depth', async () => {
    // 2 levels in the operation, 3 in Outer, 8 in Inner.
    const query = `fragment Inner on Query { ${nested(8)} } fragment Outer on Query { x { y { z { ...Inner } } } } { w { v { ...Outer } } }`;
    const result = await graphql(dev.graphqlUrl, query);
    expect(result.errors!.map((e) => e.extensions?.limit)).toContainEqual({ name: 'depth', max: 12, actual: 13 });
  });

  it('refuses a subscription nested deeper than 12 levels', async () => {
    const client = wsClient(dev.graphqlUrl);
    try {
      const errors = await subscriptionErrors(client, `subscription { runEvents(runId: "r") { ${nested(13)} } }`);
      expect(errors).toContainEqual(expect.objectContaining({ extensions: { code: 'BAD_USER_INPUT', limit: { name: 'depth', max: 12, actual: 14 } } }));
    } finally {
      await client.dispose();
    }
  });
});

describe('graphql-ws syntax errors', () => {
  it('answers a subscription that does not parse with GRAPHQL_PARSE_FAILED and keeps the socket open', async () => {
    const client = wsClient(dev.graphqlUrl);
    try {
      const errors = await subscriptionErrors(client, 'subscription { runEvents(runId: "r") { seq ');
      expect(errors).toEqual([expect.objectContaining({ message: 'Syntax Error: Expected Name, found <EOF>.', extensions: { code: 'GRAPHQL_PARSE_FAILED' } })]);
      const deep = await subscriptionErrors(client, `{ ${'a { '.repeat(5000)}b${' }'.repeat(5000)} }`);
      // Refused before the parser, which would overflow its stack (graphql/operation-text-limits.ts).
      expect(deep).toEqual([expect.objectContaining({ message: expect.stringMatching(/^operation too deeply nested: /), extensions: expect.objectContaining({ code: 'BAD_USER_INPUT' }) })]);
      const result = await new Promise<unknown>((resolve, reject) => client.subscribe({ query: '{ __typename }' }, { next: resolve, error: reject, complete: () => undefined }));
      expect(result).toEqual({ data: { __typename: 'Query' } });
    } finally {
      await client.dispose();
    }
  });
});

describe('operation cost', () => {
  it('refuses a query whose lists multiply past 50,000, naming the limit and the cost', async () => {
    const result = await graphql(dev.graphqlUrl, `{ runs(first: 1000) { edges { node { id steps { id status } } } } }`);
    expect(result.errors).toEqual([
      {
        message: expect.stringMatching(/^operation too costly: its cost is 204001, the limit is 50000 /),
        locations: [{ line: 1, column: 1 }],
        extensions: { code: 'BAD_USER_INPUT', limit: { name: 'cost', max: 50000, actual: 204001 } },
      },
    ]);
    expect(result.data).toBeUndefined();
    const response = await fetch(dev.graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: `{ runs(first: 1000) { edges { node { id steps { id status } } } } }` }),
    });
    expect(response.status).toBe(400);
  });

  it('counts fragment spreads and aliases: a costly selection hidden in a fragment is refused', async () => {
    const result = await graphql(dev.graphqlUrl, `fragment Events on Run { ${events(2)} } { runs(first: 10) { edges { node { ...Events } } } }`);
    expect(result.errors![0]!.extensions).toEqual({ code: 'BAD_USER_INPUT', limit: { name: 'cost', max: 50000, actual: 80041 } });
  });

  it('reads `first` from the variables, each time the same document is sent', async () => {
    const query = `query($n: Int) { runs(first: $n) { edges { node { id steps { id status } } } } }`;
    expect((await graphql(dev.graphqlUrl, query, { n: 10 })).errors).toBeUndefined();
    const refused = await graphql(dev.graphqlUrl, query, { n: 1000 });
    expect(refused.errors![0]!.extensions).toEqual({ code: 'BAD_USER_INPUT', limit: { name: 'cost', max: 50000, actual: 204001 } });
  });

  it('refuses a costly subscription', async () => {
    const client = wsClient(dev.graphqlUrl);
    try {
      const errors = await subscriptionErrors(client, `subscription { runsChanged { ${events(13)} } }`);
      expect(errors).toEqual([expect.objectContaining({ extensions: { code: 'BAD_USER_INPUT', limit: { name: 'cost', max: 50000, actual: 52014 } } })]);
    } finally {
      await client.dispose();
    }
  });
});

describe('page size', () => {
  it.each([
    ['runs(first: 1001)', 1001],
    ['runs(first: 0)', 0],
    ['definitions(first: -5)', -5],
  ])('refuses %s with BAD_USER_INPUT naming first, its range and the value', async (field, value) => {
    const result = await graphql(dev.graphqlUrl, `{ ${field} { edges { cursor } } }`);
    expect(result.errors![0]).toMatchObject({
      message: `invalid page size: /first must be between 1 and 1000, got ${value}`,
      extensions: { code: 'BAD_USER_INPUT', errors: [{ path: '/first', message: `must be between 1 and 1000, got ${value}` }] },
    });
  });

  it('accepts 1 and 1000', async () => {
    await dev.gql(`{ a: runs(first: 1) { edges { cursor } } b: definitions(first: 1000) { edges { cursor } } }`);
  });
});

describe('request size', () => {
  it('answers a POST body over 1 MiB with 413 and a GraphQL error naming the limit and the size', async () => {
    const body = JSON.stringify({ query: '{ __typename }', variables: { padding: 'x'.repeat(1024 * 1024) } });
    const response = await fetch(dev.graphqlUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    expect(response.status).toBe(413);
    const size = Buffer.byteLength(body);
    expect(await response.json()).toEqual({
      errors: [
        {
          message: `request body too large: ${size} bytes, the limit is 1048576 bytes (1 MiB)`,
          extensions: { code: 'BAD_USER_INPUT', limit: { name: 'requestBytes', max: 1048576, actual: size } },
        },
      ],
    });
  });

  it('leaves other body errors to Fastify: malformed JSON is a 400', async () => {
    const response = await fetch(dev.graphqlUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query": ' });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ statusCode: 400, error: 'Bad Request' });
  });

  it('accepts a definition of 256 KiB sent as a JSON string', async () => {
    const steps = Object.fromEntries(Array.from({ length: 320 }, (_, i) => [`s${i}`, { type: 'transform', value: { note: 'n'.repeat(500), quoted: '"q"'.repeat(50) } }]));
    const text = JSON.stringify({ name: 'large', steps });
    expect(text.length).toBeGreaterThan(250 * 1024);
    expect(text.length).toBeLessThanOrEqual(256 * 1024);
    const { validateDefinition } = await dev.gql(`query($spec: JSON!) { validateDefinition(spec: $spec) { valid errors { path message } } }`, { spec: text });
    expect(validateDefinition).toEqual({ valid: true, errors: [] });
  });

  it('closes a graphql-ws socket that sends a message over 1 MiB with 1009, printing nothing', async () => {
    // graphql-ws prints every socket error as an "Internal error … check your implementation",
    // with its stack: one line per oversized message, before the sender even authenticates.
    const logged = jest.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      for (let i = 0; i < 3; i++) {
        const socket = new WebSocket(dev.graphqlUrl.replace(/^http/, 'ws'), 'graphql-transport-ws');
        await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
        const closed = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));
        socket.send(JSON.stringify({ type: 'connection_init', payload: { padding: 'x'.repeat(1024 * 1024) } }));
        expect(await closed).toBe(1009);
      }
      // The server's own close comes after its error handling: nothing was printed by then.
      expect(logged).not.toHaveBeenCalled();
    } finally {
      logged.mockRestore();
    }
  });
});

describe('introspection and the GraphQL explorer', () => {
  it('answers introspection in development, over HTTP and graphql-ws', async () => {
    const { __schema } = await dev.gql(getIntrospectionQuery());
    expect(__schema.queryType).toMatchObject({ name: 'Query' });
    const client = wsClient(dev.graphqlUrl);
    try {
      const result = await new Promise<unknown>((resolve, reject) => {
        client.subscribe({ query: '{ __type(name: "Run") { name } }' }, { next: resolve, error: reject, complete: () => undefined });
      });
      expect(result).toEqual({ data: { __type: { name: 'Run' } } });
    } finally {
      await client.dispose();
    }
  });

  it('refuses introspection in production, over HTTP and graphql-ws, and still answers __typename', async () => {
    const result = await graphql(prod.graphqlUrl, '{ __schema { queryType { name } } }');
    expect(result.errors).toEqual([
      expect.objectContaining({
        message: 'introspection is disabled in production (NODE_ENV=production): the operation asks for __schema',
        extensions: { code: 'GRAPHQL_VALIDATION_FAILED', validationErrorCode: 'INTROSPECTION_DISABLED' },
      }),
    ]);
    const client = wsClient(prod.graphqlUrl);
    try {
      const errors = await subscriptionErrors(client, '{ __type(name: "Run") { name } }');
      expect(errors).toEqual([expect.objectContaining({ extensions: { code: 'GRAPHQL_VALIDATION_FAILED', validationErrorCode: 'INTROSPECTION_DISABLED' } })]);
    } finally {
      await client.dispose();
    }
    expect(await prod.gql('{ __typename }')).toEqual({ __typename: 'Query' });
  });

  it('serves the bundled GraphiQL explorer on GET /graphql in development only, with nothing loaded from another site', async () => {
    const page = await fetch(dev.graphqlUrl, { headers: { accept: 'text/html' } });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await page.text();
    expect(html).toContain('<title>Trellis GraphQL explorer</title>');
    const sources = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    expect(sources.length).toBeGreaterThan(0);
    expect(sources.filter((source) => !source.startsWith('/assets/'))).toEqual([]);
    for (const source of sources) expect((await fetch(new URL(source, dev.graphqlUrl))).status).toBe(200);

    const none = await fetch(prod.graphqlUrl, { headers: { accept: 'text/html' } });
    expect(none.headers.get('content-type') ?? '').not.toMatch(/text\/html/);
    expect(await none.text()).not.toContain('GraphQL explorer');
  });
});

describe('ordinary operations', () => {
  it("pass every limit: the README's examples and the CLI's runs query at 1000", async () => {
    const spec = JSON.parse(readFileSync(path.join(__dirname, '../../examples/order-fulfilment.json'), 'utf8'));
    await dev.gql(`mutation { setVariable(name: "SERVICES_URL", value: "http://127.0.0.1:9") }`);
    const { saveDefinition } = await dev.gql(`mutation($spec: JSON!) { saveDefinition(spec: $spec) { name version contentHash } }`, { spec });
    expect(saveDefinition).toMatchObject({ name: 'order-fulfilment', version: 1 });
    const { startRun } = await dev.gql(
      `mutation { startRun(definition: "order-fulfilment", input: {orderId: "A-1002", total: 10}, idempotencyKey: "A-1002") { id status temporal { workflowId uiUrl } } }`,
    );
    const { run } = await dev.gql(`query($id: ID!) { run(id: $id) { status output steps { id status attempts } events(first: 50) { edges { node { seq type stepId message } } } } }`, {
      id: startRun.id,
    });
    expect(run.steps.length).toBeGreaterThan(0);
    const { runs } = await dev.gql(
      `query Runs($filter: RunFilter, $first: Int, $after: String) { runs(filter: $filter, first: $first, after: $after) {
        edges { cursor node { id definition version status startedAt finishedAt } } pageInfo { hasNextPage endCursor } } }`,
      { filter: { definition: 'order-fulfilment' }, first: 1000 },
    );
    expect(runs.edges.map((e: any) => e.node.id)).toEqual([startRun.id]);
    await dev.trellis.client.workflow.getHandle(startRun.temporal.workflowId).terminate('test over');
  });
});
