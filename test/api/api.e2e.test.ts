import { collectSubscription, graphql, wsClient } from '../support/graphql-client';
import { HttpStub } from '../support/http-stub';
import { getRun } from '../support/runs';
import { createTestContext, type TestContext } from '../support/test-context';

let ctx: TestContext;
let stub: HttpStub;

beforeAll(async () => {
  [ctx, stub] = await Promise.all([createTestContext(), new HttpStub().start()]);
});

afterAll(async () => {
  await Promise.all([ctx?.stop(), stub?.stop()]);
});

const orderSpec = (url: string) => ({
  name: 'order',
  description: 'Look up a customer, price the order, confirm it',
  input: { type: 'object', required: ['orderId', 'total'], properties: { orderId: { type: 'string' }, total: { type: 'number', minimum: 0 } } },
  output: { order: '{% $input.orderId %}', confirmed: '{% $steps.confirm.output.body.ok %}' },
  steps: {
    customer: { type: 'http', url: `${url}/customer` },
    price: { type: 'transform', value: '{% $input.total * 1.2 %}' },
    confirm: { type: 'http', method: 'POST', needs: ['customer', 'price'], url: `${url}/confirm`, body: { total: '{% $steps.price.output %}' } },
  },
});

const SAVE = `mutation($spec: JSON!) { saveDefinition(spec: $spec) { name version contentHash } }`;
const START = `mutation($name: String!, $input: JSON, $key: String) {
  startRun(definition: $name, input: $input, idempotencyKey: $key) { id status version temporal { workflowId runId uiUrl } } }`;
const EVENTS = `subscription($runId: ID!, $afterSeq: Int) { runEvents(runId: $runId, afterSeq: $afterSeq) { seq type stepId attempt } }`;

type Event = { runEvents: { seq: number; type: string; stepId: string | null } };

describe('the GraphQL API', () => {
  beforeAll(() => {
    stub.on('GET /customer', { body: { name: 'Ada' } }).on('POST /confirm', { delayMs: 300, body: { ok: true } });
  });

  it('saves a definition, starts a run and streams its events live until it completes', async () => {
    const { saveDefinition } = await ctx.gql(SAVE, { spec: orderSpec(stub.url) });
    expect(saveDefinition).toMatchObject({ name: 'order', version: 1 });
    expect(saveDefinition.contentHash).toMatch(/^[0-9a-f]{64}$/);

    const { startRun } = await ctx.gql(START, { name: 'order', input: { orderId: 'o-1', total: 10 } });
    expect(startRun).toMatchObject({ status: 'RUNNING', version: 1 });
    expect(startRun.temporal.workflowId).toBe(`default/order/${startRun.id}`);
    expect(startRun.temporal.uiUrl).toBe(
      `http://temporal-ui.test/namespaces/default/workflows/${encodeURIComponent(startRun.temporal.workflowId)}/${startRun.temporal.runId}/history`,
    );

    const client = wsClient(ctx.graphqlUrl);
    try {
      const events = await collectSubscription<Event>(client, EVENTS, { runId: startRun.id });
      expect(events.map((e) => e.runEvents.seq)).toEqual(events.map((_, i) => i + 1));
      expect(events[0]!.runEvents.type).toBe('RUN_STARTED');
      expect(events.at(-1)!.runEvents.type).toBe('RUN_COMPLETED');
      const order = events.map((e) => `${e.runEvents.type}:${e.runEvents.stepId ?? ''}`);
      expect(order.indexOf('STEP_SUCCEEDED:customer')).toBeLessThan(order.indexOf('STEP_STARTED:confirm'));
      expect(order.indexOf('STEP_SUCCEEDED:price')).toBeLessThan(order.indexOf('STEP_STARTED:confirm'));
    } finally {
      await client.dispose();
    }

    const run = await getRun(ctx, startRun.id);
    expect(run.status).toBe('COMPLETED');
    expect(run.output).toEqual({ order: 'o-1', confirmed: true });
    expect(run.steps.map((s) => [s.id, s.status])).toEqual([['customer', 'SUCCEEDED'], ['price', 'SUCCEEDED'], ['confirm', 'SUCCEEDED']]);
    expect(stub.received('POST /confirm').at(-1)!.body).toEqual({ total: 12 });
  });

  it('replays only the stored events after afterSeq, then completes', async () => {
    const { startRun } = await ctx.gql(START, { name: 'order', input: { orderId: 'o-2', total: 1 } });
    await ctx.trellis.client.workflow.getHandle(startRun.temporal.workflowId).result();
    const client = wsClient(ctx.graphqlUrl);
    try {
      const all = await collectSubscription<Event>(client, EVENTS, { runId: startRun.id });
      const tail = await collectSubscription<Event>(client, EVENTS, { runId: startRun.id, afterSeq: 3 });
      expect(tail.map((e) => e.runEvents)).toEqual(all.slice(3).map((e) => e.runEvents));
      expect(tail[0]!.runEvents.seq).toBe(4);
    } finally {
      await client.dispose();
    }
  });

  it('gives every subscriber of a running run the same gap-free stream', async () => {
    const { startRun } = await ctx.gql(START, { name: 'order', input: { orderId: 'o-3', total: 3 } });
    const clients = [wsClient(ctx.graphqlUrl), wsClient(ctx.graphqlUrl)];
    try {
      const streams = await Promise.all([
        collectSubscription<Event>(clients[0]!, EVENTS, { runId: startRun.id }),
        collectSubscription<Event>(clients[1]!, EVENTS, { runId: startRun.id, afterSeq: 0 }),
      ]);
      expect(streams[0]).toEqual(streams[1]);
      expect(streams[0]!.map((e) => e.runEvents.seq)).toEqual(streams[0]!.map((_, i) => i + 1));
    } finally {
      await Promise.all(clients.map((c) => c.dispose()));
    }
  });

  it('returns the existing run when startRun repeats an idempotencyKey', async () => {
    const first = await ctx.gql(START, { name: 'order', input: { orderId: 'o-4', total: 4 }, key: 'order-o-4' });
    const again = await ctx.gql(START, { name: 'order', input: { orderId: 'o-4', total: 4 }, key: 'order-o-4' });
    expect(again.startRun.id).toBe(first.startRun.id);
    expect(again.startRun.temporal.runId).toBe(first.startRun.temporal.runId);
    const other = await ctx.gql(START, { name: 'order', input: { orderId: 'o-4', total: 4 }, key: 'order-o-4b' });
    expect(other.startRun.id).not.toBe(first.startRun.id);
  });

  it('refuses a repeated idempotencyKey with a different input as a CONFLICT', async () => {
    await ctx.gql(START, { name: 'order', input: { orderId: 'o-5', total: 5 }, key: 'order-o-5' });
    const result = await graphql(ctx.graphqlUrl, START, { name: 'order', input: { orderId: 'o-5', total: 6 }, key: 'order-o-5' });
    expect(result.errors![0]!.extensions!.code).toBe('CONFLICT');
    expect(result.errors![0]!.message).toContain('different input');
  });

  it('refuses input that fails the input schema with BAD_USER_INPUT naming each field', async () => {
    const result = await graphql(ctx.graphqlUrl, START, { name: 'order', input: { total: -5 } });
    expect(result.data).toBeNull();
    const error = result.errors![0]!;
    expect(error.extensions!.code).toBe('BAD_USER_INPUT');
    expect(error.extensions!.errors).toEqual(
      expect.arrayContaining([{ path: '/input/orderId', message: 'is required' }, { path: '/input/total', message: 'must be >= 0' }]),
    );
  });

  it('answers NOT_FOUND for a run of a definition that does not exist', async () => {
    const result = await graphql(ctx.graphqlUrl, START, { name: 'nope', input: {} });
    expect(result.errors![0]!.extensions!.code).toBe('NOT_FOUND');
    expect(result.errors![0]!.message).toBe('definition "nope" not found');
  });

  it('returns the latest version when the same document is saved again, and a new version when it changes', async () => {
    const spec = { name: 'versioned', steps: { a: { type: 'transform', value: 1 } } };
    const v1 = (await ctx.gql(SAVE, { spec })).saveDefinition;
    // Key order does not matter: the content hash is over canonical JSON.
    const same = (await ctx.gql(SAVE, { spec: { steps: { a: { value: 1, type: 'transform' } }, name: 'versioned' } })).saveDefinition;
    expect(same).toEqual(v1);
    const v2 = (await ctx.gql(SAVE, { spec: { ...spec, steps: { a: { type: 'transform', value: 2 } } } })).saveDefinition;
    expect(v2.version).toBe(2);
    expect(v2.contentHash).not.toBe(v1.contentHash);
    const { definition } = await ctx.gql(`query { definition(name: "versioned") { latestVersion versions { version } version(version: 1) { spec } } }`);
    expect(definition).toEqual({ latestVersion: 2, versions: [{ version: 2 }, { version: 1 }], version: { spec } });
  });

  it('refuses an invalid definition with every error and its JSON pointer', async () => {
    const spec = {
      name: 'broken',
      steps: {
        a: { type: 'transform', needs: ['ghost'], value: '{% 1 + %}' },
        b: { type: 'delay', duration: 'soon' },
        c: { type: 'condition', if: '{% true %}', then: ['b'] },
      },
    };
    const result = await graphql(ctx.graphqlUrl, SAVE, { spec });
    expect(result.errors![0]!.extensions!.code).toBe('BAD_USER_INPUT');
    const paths = (result.errors![0]!.extensions!.errors as Array<{ path: string }>).map((e) => e.path);
    expect(paths).toEqual(expect.arrayContaining(['/steps/a/needs/0', '/steps/a/value', '/steps/b/duration', '/steps/c/then/0']));

    const { validateDefinition } = await ctx.gql(`query($spec: JSON!) { validateDefinition(spec: $spec) { valid errors { path message } } }`, { spec });
    expect(validateDefinition.valid).toBe(false);
    expect(validateDefinition.errors.map((e: { path: string }) => e.path)).toEqual(expect.arrayContaining(paths));
    expect((await ctx.gql(`query { definition(name: "broken") { name } }`)).definition).toBeNull();
  });

  it('refuses a definition whose input or output JSON Schema does not compile, naming where', async () => {
    const spec = {
      name: 'bad-schemas',
      input: { type: 'strng' },
      steps: { a: { type: 'transform', value: 1, output: { type: 'object', required: 'id' } } },
    };
    const result = await graphql(ctx.graphqlUrl, SAVE, { spec });
    expect(result.errors![0]!.extensions!.code).toBe('BAD_USER_INPUT');
    const errors = result.errors![0]!.extensions!.errors as Array<{ path: string; message: string }>;
    expect(errors.map((e) => e.path)).toEqual(['/input', '/steps/a/output']);
    expect(errors.every((e) => e.message.startsWith('is not a valid JSON Schema'))).toBe(true);
  });

  it('refuses a subscription to a run that does not exist with NOT_FOUND', async () => {
    const client = wsClient(ctx.graphqlUrl);
    try {
      await expect(collectSubscription(client, EVENTS, { runId: '00000000-0000-4000-8000-000000000000' })).rejects.toThrow(/NOT_FOUND/);
    } finally {
      await client.dispose();
    }
  });

  it('cancels a running run: running steps are cancelled and RUN_CANCELLED records who asked and why', async () => {
    await ctx.gql(SAVE, { spec: { name: 'sleepy', steps: { nap: { type: 'delay', duration: '1h' } } } });
    const { startRun } = await ctx.gql(START, { name: 'sleepy', input: {} });
    const client = wsClient(ctx.graphqlUrl);
    try {
      const events = collectSubscription<Event>(client, EVENTS, { runId: startRun.id }, (e) => {
        if (e.runEvents.type === 'STEP_STARTED') {
          void ctx.gql(`mutation($id: ID!) { cancelRun(id: $id, reason: "customer withdrew") { id } }`, { id: startRun.id });
        }
      });
      expect((await events).map((e) => e.runEvents.type)).toEqual(['RUN_STARTED', 'STEP_STARTED', 'STEP_FAILED', 'RUN_CANCELLED']);
    } finally {
      await client.dispose();
    }
    const run = await getRun(ctx, startRun.id);
    expect(run.status).toBe('CANCELLED');
    expect(run.steps[0]!.status).toBe('CANCELLED');
    expect(run.events.at(-1)!.message).toBe('cancelled by api default: customer withdrew');
  });

  it('reports Temporal and PostgreSQL as up on GET /health', async () => {
    const response = await fetch(ctx.graphqlUrl.replace(/\/graphql$/, '/health'));
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      status: 'ok',
      temporal: { status: 'up', address: process.env.TEMPORAL_ADDRESS, namespace: 'default', uiUrl: 'http://temporal-ui.test' },
      database: { status: 'up' },
    });
  });
});
