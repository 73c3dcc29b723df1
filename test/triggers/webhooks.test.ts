import { createApiKey } from '../../src/api/api-keys';
import { graphql } from '../support/graphql-client';
import { HttpStub } from '../support/http-stub';
import { createTestContext, type TestContext } from '../support/test-context';
import { until } from '../support/until';
import { apiBase, deliver } from '../support/webhooks';

/**
 * Webhooks end to end (SPEC §6) on the real stack: signed deliveries start runs; missing, wrong,
 * malformed, stale and replayed signatures, oversized and hostile bodies, inputs the schema
 * refuses and loops are refused and recorded; tenants cannot reach each other's webhooks.
 */

let ctx: TestContext;
let stub: HttpStub;
const keys = { a: '', b: '' };

async function as<T = any>(tenant: 'a' | 'b', query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const result = await graphql<T>(ctx.graphqlUrl, query, variables, keys[tenant]);
  if (result.errors?.length || !result.data) throw new Error(`GraphQL errors: ${JSON.stringify(result.errors)}`);
  return result.data;
}

async function errorOf(tenant: 'a' | 'b', query: string, variables: Record<string, unknown> = {}) {
  const result = await graphql(ctx.graphqlUrl, query, variables, keys[tenant]);
  return result.errors?.[0];
}

const CREATE = `mutation($definition: String!, $input: String) {
  createWebhook(definition: $definition, input: $input) { id url secret definition webhook { id createdAt } }
}`;
const RUN = 'query($id: ID!) { run(id: $id) { id status input trigger definition events(first: 100) { edges { node { type message } } } } }';
const DELIVERIES = `query($id: ID!, $first: Int, $after: String) {
  webhookDeliveries(webhookId: $id, first: $first, after: $after) {
    edges { cursor node { id receivedAt statusCode latencyMs runId error idempotencyKey chain } }
    pageInfo { hasNextPage endCursor }
  }
}`;

type Hook = { id: string; url: string; secret: string };

async function createHook(tenant: 'a' | 'b', definition: string, input?: string): Promise<Hook> {
  const { createWebhook } = await as(tenant, CREATE, { definition, input });
  return createWebhook;
}

const order = {
  name: 'order',
  input: { type: 'object', required: ['orderId', 'total'], properties: { orderId: { type: 'string' }, total: { type: 'number', minimum: 0 } } },
  steps: { done: { type: 'transform', value: '{% $input.orderId %}' } },
};

beforeAll(async () => {
  [ctx, stub] = await Promise.all([createTestContext({ env: { TRELLIS_WEBHOOK_MAX_BODY_BYTES: '4096' } }), new HttpStub().start()]);
  stub.on('POST /echo', { body: { ok: true } });
  keys.a = (await createApiKey(ctx.trellis.db, 'a', 'test', true)).secret;
  keys.b = (await createApiKey(ctx.trellis.db, 'b', 'test', true)).secret;
  await as('a', 'mutation($spec: JSON!) { saveDefinition(spec: $spec) { version } }', { spec: order });
  await as('b', 'mutation($spec: JSON!) { saveDefinition(spec: $spec) { version } }', { spec: order });
});

afterAll(async () => {
  await Promise.all([ctx?.stop(), stub?.stop()]);
});

describe('a webhook', () => {
  let hook: Hook;
  beforeAll(async () => {
    hook = await createHook('a', 'order');
  });

  it('is created with its URL and a secret shown once, and listed without the secret', async () => {
    expect(hook.url).toBe(`${apiBase(ctx.graphqlUrl)}/hooks/${hook.id}`);
    expect(hook.secret).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
    const { webhooks } = await as('a', '{ webhooks { id url definition input } }');
    expect(webhooks).toContainEqual({ id: hook.id, url: hook.url, definition: 'order', input: null });
    const stored = await ctx.trellis.db.selectFrom('webhooks').selectAll().where('id', '=', hook.id).executeTakeFirstOrThrow();
    expect(stored.secret_ciphertext.toString('latin1')).not.toContain(hook.secret.slice(6));
  });

  it('starts a run for a signed delivery and answers 202 with its id once the run is started', async () => {
    const answer = await deliver(hook.url, { orderId: 'o-1', total: 5 }, { secret: hook.secret });
    expect(answer.status).toBe(202);
    const runId = answer.body.runId as string;
    const { run } = await as('a', RUN, { id: runId });
    expect(run).toMatchObject({ definition: 'order', input: { orderId: 'o-1', total: 5 }, trigger: { type: 'webhook', id: hook.id, deliveryId: answer.body.deliveryId } });
    const row = await ctx.trellis.db.selectFrom('runs').select('temporal_run_id').where('id', '=', runId).executeTakeFirstOrThrow();
    expect(row.temporal_run_id).not.toBeNull();
    await until('the run completes', async () => (await as('a', RUN, { id: runId })).run.status === 'COMPLETED');
  });

  it('refuses a missing, malformed or wrong signature with 401 and records each delivery', async () => {
    const body = { orderId: 'o-2', total: 1 };
    const missing = await deliver(hook.url, body);
    const malformed = await deliver(hook.url, body, { signature: 't=abc,v1=zz' });
    const wrong = await deliver(hook.url, body, { secret: 'whsec_not-the-secret' });
    const otherBody = await deliver(hook.url, body, { signature: (await signedFor(hook.secret, { orderId: 'o-2', total: 2 })) });
    expect([missing.status, malformed.status, wrong.status, otherBody.status]).toEqual([401, 401, 401, 401]);
    expect(missing.body.error).toMatch(/missing Trellis-Signature/);
    expect(wrong.body.error).toMatch(/does not match/);
    const { webhookDeliveries } = await as('a', DELIVERIES, { id: hook.id, first: 4 });
    expect(webhookDeliveries.edges.map((edge: any) => edge.node.statusCode)).toEqual([401, 401, 401, 401]);
    expect(webhookDeliveries.edges.every((edge: any) => edge.node.runId === null && edge.node.error.message)).toBe(true);
  });

  it('refuses a timestamp outside the tolerance window (a stale or replayed delivery) with 401', async () => {
    const body = { orderId: 'o-3', total: 1 };
    const stale = await deliver(hook.url, body, { secret: hook.secret, at: new Date(Date.now() - 6 * 60_000) });
    const future = await deliver(hook.url, body, { secret: hook.secret, at: new Date(Date.now() + 6 * 60_000) });
    expect([stale.status, future.status]).toEqual([401, 401]);
    expect(stale.body.error).toMatch(/in the past, outside the tolerance of 300 s/);
  });

  it('answers an exact replay within the window, and a repeated Idempotency-Key, with the first delivery\'s run', async () => {
    const raw = JSON.stringify({ orderId: 'o-4', total: 4 });
    const signature = await signedFor(hook.secret, raw);
    const first = await deliver(hook.url, raw, { signature });
    const replay = await deliver(hook.url, raw, { signature });
    expect([first.status, replay.status]).toEqual([202, 202]);
    expect(replay.body.runId).toBe(first.body.runId);

    const keyed = await deliver(hook.url, { orderId: 'o-5', total: 5 }, { secret: hook.secret, idempotencyKey: 'evt_5' });
    // The sender retries later: a new timestamp, the same key.
    const retried = await deliver(hook.url, { orderId: 'o-5', total: 5 }, { secret: hook.secret, idempotencyKey: 'evt_5', at: new Date(Date.now() + 2000) });
    expect([keyed.status, retried.status]).toEqual([202, 202]);
    expect(retried.body.runId).toBe(keyed.body.runId);
    const runs = await ctx.trellis.db.selectFrom('runs').select('id').where('tenant_id', '=', 'a').where('input', '@>', JSON.stringify({ orderId: 'o-5' }) as never).execute();
    expect(runs).toHaveLength(1);
  });

  it('answers 422 with the input schema errors, and 400 for a body that is not JSON', async () => {
    const invalid = await deliver(hook.url, { orderId: 7 }, { secret: hook.secret });
    expect(invalid.status).toBe(422);
    expect(invalid.body.errors).toEqual(expect.arrayContaining([expect.objectContaining({ path: expect.stringMatching(/^\/input/) })]));
    const notJson = await deliver(hook.url, '{"orderId": ', { secret: hook.secret });
    expect(notJson.status).toBe(400);
  });

  it('refuses hostile JSON as GraphQL does: nesting past the depth limit and U+0000 (422)', async () => {
    const deep = `${'['.repeat(200)}${']'.repeat(200)}`;
    const nested = await deliver(hook.url, deep, { secret: hook.secret });
    const nul = await deliver(hook.url, '{"orderId": "a\\u0000b", "total": 1}', { secret: hook.secret });
    expect([nested.status, nul.status]).toEqual([422, 422]);
    expect(nul.body.errors[0].path).toBe('/body/orderId');
  });

  it('answers 413 for a body over TRELLIS_WEBHOOK_MAX_BODY_BYTES and records it', async () => {
    const big = { orderId: 'x'.repeat(5000), total: 1 };
    const answer = await deliver(hook.url, big, { secret: hook.secret });
    expect(answer.status).toBe(413);
    const { webhookDeliveries } = await as('a', DELIVERIES, { id: hook.id, first: 1 });
    expect(webhookDeliveries.edges[0].node.statusCode).toBe(413);
  });

  it('answers 404 for an id no tenant has, and for one that is not a UUID', async () => {
    const base = apiBase(ctx.graphqlUrl);
    expect((await deliver(`${base}/hooks/00000000-0000-4000-8000-000000000000`, {}, { secret: hook.secret })).status).toBe(404);
    expect((await deliver(`${base}/hooks/nope`, {}, { secret: hook.secret })).status).toBe(404);
  });

  it('lists deliveries newest first, page by page', async () => {
    const first = await as('a', DELIVERIES, { id: hook.id, first: 2 });
    expect(first.webhookDeliveries.pageInfo.hasNextPage).toBe(true);
    const next = await as('a', DELIVERIES, { id: hook.id, first: 2, after: first.webhookDeliveries.pageInfo.endCursor });
    const all = await as('a', DELIVERIES, { id: hook.id, first: 4 });
    expect([...first.webhookDeliveries.edges, ...next.webhookDeliveries.edges].map((edge: any) => edge.node.id)).toEqual(all.webhookDeliveries.edges.map((edge: any) => edge.node.id));
    const times = all.webhookDeliveries.edges.map((edge: any) => Date.parse(edge.node.receivedAt));
    expect([...times].sort((x, y) => y - x)).toEqual(times);
  });
});

describe('an input mapping', () => {
  it('turns the body into the run input with JSONata on $body, and is checked when the webhook is created', async () => {
    const hook = await createHook('a', 'order', '{"orderId": $body.data.id, "total": $body.data.amount / 100}');
    const answer = await deliver(hook.url, { data: { id: 'ch_1', amount: 1250 } }, { secret: hook.secret });
    expect(answer.status).toBe(202);
    expect((await as('a', RUN, { id: answer.body.runId })).run.input).toEqual({ orderId: 'ch_1', total: 12.5 });
    const refused = await errorOf('a', CREATE, { definition: 'order', input: '$body.(' });
    expect(refused?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', errors: [expect.objectContaining({ path: '/input' })] });
  });
});

describe('secret rotation', () => {
  it('accepts the new secret at once and the old one until the overlap ends', async () => {
    const hook = await createHook('a', 'order');
    const { rotateWebhookSecret } = await as('a', 'mutation($id: ID!) { rotateWebhookSecret(id: $id) { id secret webhook { rotatedAt previousSecretExpiresAt } } }', { id: hook.id });
    expect(rotateWebhookSecret.secret).not.toBe(hook.secret);
    expect(Date.parse(rotateWebhookSecret.webhook.previousSecretExpiresAt) - Date.now()).toBeGreaterThan(23 * 3_600_000);
    expect((await deliver(hook.url, { orderId: 'r-1', total: 1 }, { secret: rotateWebhookSecret.secret })).status).toBe(202);
    expect((await deliver(hook.url, { orderId: 'r-2', total: 1 }, { secret: hook.secret })).status).toBe(202);
    // The overlap ends.
    await ctx.trellis.db.updateTable('webhooks').set({ previous_expires_at: new Date(Date.now() - 1000) }).where('id', '=', hook.id).execute();
    expect((await deliver(hook.url, { orderId: 'r-3', total: 1 }, { secret: hook.secret })).status).toBe(401);
    expect((await deliver(hook.url, { orderId: 'r-4', total: 1 }, { secret: rotateWebhookSecret.secret })).status).toBe(202);
  });

  it('deletes a webhook: its URL answers 404 and it is no longer listed', async () => {
    const hook = await createHook('a', 'order');
    expect((await as('a', 'mutation($id: ID!) { deleteWebhook(id: $id) }', { id: hook.id })).deleteWebhook).toBe(true);
    expect((await deliver(hook.url, { orderId: 'd-1', total: 1 }, { secret: hook.secret })).status).toBe(404);
    expect((await as('a', '{ webhooks { id } }')).webhooks.map((w: any) => w.id)).not.toContain(hook.id);
  });
});

describe('loop prevention', () => {
  it('refuses (409) a delivery whose Trellis-Chain holds its definition, records it, and writes TRIGGER_REFUSED on the calling run', async () => {
    // "relay" posts to a service (the stub) and waits; the service would post back into relay's webhook.
    const relay = {
      name: 'relay',
      steps: {
        call: { type: 'http', method: 'POST', url: `${stub.url}/echo`, headers: { 'Trellis-Chain': 'W10' }, retry: { maxAttempts: 1 } },
        hold: { type: 'wait', signal: 'go', timeout: '1h', needs: ['call'] },
      },
    };
    await as('a', 'mutation($spec: JSON!) { saveDefinition(spec: $spec) { version } }', { spec: relay });
    const hook = await createHook('a', 'relay');
    const { startRun } = await as('a', 'mutation { startRun(definition: "relay") { id } }');
    await until('the http step called the service', () => stub.received('POST /echo').length > 0);
    const chain = stub.received('POST /echo')[0]!.headers['trellis-chain'] as string;
    // The step's own header of that name is replaced: a run cannot shorten its chain.
    expect(chain).not.toBe('W10');
    const links = JSON.parse(Buffer.from(chain, 'base64url').toString());
    expect(links).toEqual([{ d: expect.any(String), r: startRun.id }]);

    const answer = await deliver(hook.url, {}, { secret: hook.secret, chain });
    expect(answer.status).toBe(409);
    expect(answer.body.error).toMatch(/loop/);
    const { webhookDeliveries } = await as('a', DELIVERIES, { id: hook.id, first: 1 });
    expect(webhookDeliveries.edges[0].node).toMatchObject({ statusCode: 409, runId: null, chain: links });
    const { run } = await as('a', RUN, { id: startRun.id });
    const refused = run.events.edges.map((edge: any) => edge.node).filter((event: any) => event.type === 'TRIGGER_REFUSED');
    expect(refused).toHaveLength(1);
    expect(refused[0].message).toMatch(/webhook .* run of "relay" refused/);

    // The same chain into another definition is no loop: it starts, one link deeper.
    const other = await createHook('a', 'order');
    const started = await deliver(other.url, { orderId: 'c-1', total: 1 }, { secret: other.secret, chain });
    expect(started.status).toBe(202);
    const row = await ctx.trellis.db.selectFrom('runs').select('chain').where('id', '=', started.body.runId).executeTakeFirstOrThrow();
    expect(row.chain).toEqual(links);

    // startRun through GraphQL honours the header too.
    const viaApi = await graphqlWithHeaders('a', 'mutation { startRun(definition: "relay") { id } }', { 'trellis-chain': chain });
    expect(viaApi.errors?.[0]?.extensions).toMatchObject({ code: 'CONFLICT' });
    await as('a', 'mutation($id: ID!) { cancelRun(id: $id) { id } }', { id: startRun.id });
  });

  it('refuses a chain as deep as TRELLIS_TRIGGER_CHAIN_LIMIT', async () => {
    const hook = await createHook('a', 'order');
    const link = (i: number) => ({ d: `${'x'.repeat(21)}${i}`, r: `00000000-0000-4000-8000-00000000000${i}` });
    const chain = Buffer.from(JSON.stringify([0, 1, 2, 3, 4, 5, 6, 7].map(link))).toString('base64url');
    const answer = await deliver(hook.url, { orderId: 'deep', total: 1 }, { secret: hook.secret, chain });
    expect(answer.status).toBe(409);
    expect(answer.body.error).toMatch(/chain of 8 runs, the limit is 8/);
  });
});

describe('tenant isolation', () => {
  it('keeps tenant b from listing, rotating, deleting or reading deliveries of a\'s webhooks, and b\'s deliveries run b\'s definition', async () => {
    const hookA = await createHook('a', 'order');
    const { webhooks } = await as('b', '{ webhooks { id } }');
    expect(webhooks.map((w: any) => w.id)).not.toContain(hookA.id);
    expect((await errorOf('b', 'mutation($id: ID!) { rotateWebhookSecret(id: $id) { secret } }', { id: hookA.id }))?.extensions?.code).toBe('NOT_FOUND');
    expect((await as('b', 'mutation($id: ID!) { deleteWebhook(id: $id) }', { id: hookA.id })).deleteWebhook).toBe(false);
    expect((await errorOf('b', DELIVERIES, { id: hookA.id }))?.extensions?.code).toBe('NOT_FOUND');
    // b's own secret does not sign deliveries to a's webhook.
    const hookB = await createHook('b', 'order');
    expect((await deliver(hookA.url, { orderId: 'i-1', total: 1 }, { secret: hookB.secret })).status).toBe(401);
    const answer = await deliver(hookB.url, { orderId: 'i-2', total: 1 }, { secret: hookB.secret });
    expect(answer.status).toBe(202);
    const row = await ctx.trellis.db.selectFrom('runs').select('tenant_id').where('id', '=', answer.body.runId).executeTakeFirstOrThrow();
    expect(row.tenant_id).toBe('b');
    expect(await as('a', RUN, { id: answer.body.runId })).toEqual({ run: null });
  });
});

async function signedFor(secret: string, body: unknown): Promise<string> {
  const { signDelivery } = await import('../../src/triggers/webhook-signature');
  return signDelivery(secret, typeof body === 'string' ? body : JSON.stringify(body));
}

async function graphqlWithHeaders(tenant: 'a' | 'b', query: string, headers: Record<string, string>) {
  const response = await fetch(ctx.graphqlUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${keys[tenant]}`, ...headers },
    body: JSON.stringify({ query }),
  });
  return (await response.json()) as { data?: any; errors?: Array<{ message: string; extensions?: Record<string, unknown> }> };
}
