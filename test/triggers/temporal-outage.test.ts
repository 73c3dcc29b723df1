import { graphql } from '../support/graphql-client';
import { TcpProxy } from '../support/tcp-proxy';
import { createTestContext, type TestContext } from '../support/test-context';
import { until } from '../support/until';
import { deliver } from '../support/webhooks';

/**
 * Temporal unreachable while webhooks are delivered and events published (the lead's decision 2): a delivery is answered
 * 503 with Retry-After, never 202 without a durable start, and leaves no run row behind; the
 * sender's retry with the same Idempotency-Key once Temporal is back starts the run exactly once.
 * GraphQL startRun answers UNAVAILABLE the same way. Trellis reaches Temporal through a TCP proxy
 * the test cuts, as in a network partition.
 */

let ctx: TestContext;
let proxy: TcpProxy;

beforeAll(async () => {
  const [host, port] = process.env.TEMPORAL_ADDRESS!.split(':');
  proxy = await new TcpProxy({ host: host!, port: Number(port) }).start();
  ctx = await createTestContext({ env: { TEMPORAL_ADDRESS: `127.0.0.1:${proxy.port}`, TRELLIS_START_TIMEOUT: '2s' } });
  await ctx.gql('mutation($spec: JSON!) { saveDefinition(spec: $spec) { version } }', {
    spec: { name: 'order', steps: { done: { type: 'transform', value: '{% $input.orderId %}' } } },
  });
});

afterAll(async () => {
  proxy?.restore();
  await ctx?.stop();
  await proxy?.stop();
});

const runsOf = (orderId: string) =>
  ctx.trellis.db.selectFrom('runs').select(['id', 'status', 'temporal_run_id']).where('input', '@>', JSON.stringify({ orderId }) as never).execute();

describe('a webhook delivery while Temporal is unreachable', () => {
  it('is answered 503 with Retry-After, leaves no run behind, and its retry after the outage starts the run once', async () => {
    const { createWebhook: hook } = await ctx.gql('mutation { createWebhook(definition: "order") { id url secret } }');
    // Deliveries flow before the cut.
    expect((await deliver(hook.url, { orderId: 'before' }, { secret: hook.secret, idempotencyKey: 'before' })).status).toBe(202);

    proxy.cut();
    const during = await deliver(hook.url, { orderId: 'o-1' }, { secret: hook.secret, idempotencyKey: 'evt-1' });
    expect(during.status).toBe(503);
    expect(Number(during.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(during.body.error).toMatch(/Temporal could not be reached/);
    expect(await runsOf('o-1')).toEqual([]);

    const viaApi = await graphql(ctx.graphqlUrl, 'mutation { startRun(definition: "order", input: {orderId: "o-2"}) { id } }');
    expect(viaApi.errors?.[0]?.extensions).toMatchObject({ code: 'UNAVAILABLE' });
    expect(await runsOf('o-2')).toEqual([]);

    proxy.restore();
    let retried: Awaited<ReturnType<typeof deliver>> | undefined;
    // The sender retries with backoff until Temporal answers again.
    await until('a retried delivery is accepted', async () => {
      retried = await deliver(hook.url, { orderId: 'o-1' }, { secret: hook.secret, idempotencyKey: 'evt-1' });
      return retried.status === 202;
    }, 60_000);
    const again = await deliver(hook.url, { orderId: 'o-1' }, { secret: hook.secret, idempotencyKey: 'evt-1' });
    expect(again.body.runId).toBe(retried!.body.runId);
    await until('the run completes', async () => (await runsOf('o-1'))[0]?.status === 'COMPLETED', 60_000);
    expect(await runsOf('o-1')).toHaveLength(1);

    const { webhookDeliveries } = await ctx.gql('query($id: ID!) { webhookDeliveries(webhookId: $id, first: 100) { edges { node { statusCode runId idempotencyKey } } } }', { id: hook.id });
    const statuses = webhookDeliveries.edges.map((edge: any) => edge.node).filter((node: any) => node.idempotencyKey === 'evt-1').map((node: any) => node.statusCode);
    expect(statuses).toContain(503);
    expect(statuses.filter((status: number) => status === 202)).toHaveLength(2);
  });
});

describe('an event published while Temporal is unreachable', () => {
  it('is stored PENDING, not lost: the dispatcher starts its run once Temporal is back, exactly once', async () => {
    const { createTrigger } = await ctx.gql('mutation { createTrigger(event: "order.created", definition: "order", input: "{\\"orderId\\": $event.payload.id}") { id } }');
    proxy.cut();
    const { publishEvent } = await ctx.gql('mutation { publishEvent(type: "order.created", payload: {id: "e-1"}, id: "evt-outage") { id status lastError firings { status } } }');
    expect(publishEvent).toMatchObject({ status: 'PENDING', lastError: expect.stringMatching(/Temporal could not be reached/), firings: [] });
    expect(await runsOf('e-1')).toEqual([]);
    // The publisher retries during the outage: still accepted, still pending.
    const retried = await ctx.gql('mutation { publishEvent(type: "order.created", payload: {id: "e-1"}, id: "evt-outage") { status } }');
    expect(retried.publishEvent.status).toBe('PENDING');

    proxy.restore();
    const EVENT = 'query { event(id: "evt-outage") { status firings { triggerId status runId } } }';
    await until('the dispatcher dispatched the event', async () => (await ctx.gql(EVENT)).event.status === 'DISPATCHED', 60_000);
    const { event } = await ctx.gql(EVENT);
    expect(event.firings).toEqual([{ triggerId: createTrigger.id, status: 'STARTED', runId: expect.any(String) }]);
    await until('the run completes', async () => (await runsOf('e-1'))[0]?.status === 'COMPLETED', 60_000);
    expect((await runsOf('e-1')).map((run) => run.id)).toEqual([event.firings[0].runId]);
  });
});
