import { createApiKey } from '../../src/api/api-keys';
import { graphql } from '../support/graphql-client';
import { HttpStub } from '../support/http-stub';
import { createTestContext, type TestContext } from '../support/test-context';
import { until } from '../support/until';
import { apiBase } from '../support/webhooks';

/**
 * Event triggers end to end (SPEC §7): filters and input mappings on $event, one run per trigger
 * and event however often it is published, POST /events, a loop refused and recorded, tenants apart.
 */

let ctx: TestContext;
let stub: HttpStub;
const keys = { a: '', b: '' };

async function call(tenant: 'a' | 'b', query: string, variables: Record<string, unknown> = {}, headers: Record<string, string> = {}) {
  const response = await fetch(ctx.graphqlUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${keys[tenant]}`, ...headers },
    body: JSON.stringify({ query, variables }),
  });
  return (await response.json()) as { data?: any; errors?: Array<{ message: string; extensions?: Record<string, any> }> };
}

async function as<T = any>(tenant: 'a' | 'b', query: string, variables: Record<string, unknown> = {}, headers: Record<string, string> = {}): Promise<T> {
  const result = await call(tenant, query, variables, headers);
  if (result.errors?.length || !result.data) throw new Error(`GraphQL errors: ${JSON.stringify(result.errors)}`);
  return result.data;
}

const SAVE = 'mutation($spec: JSON!) { saveDefinition(spec: $spec) { version } }';
const CREATE = `mutation($event: String!, $filter: String, $definition: String!, $input: String) {
  createTrigger(event: $event, filter: $filter, definition: $definition, input: $input) { id event filter definition input }
}`;
const PUBLISH = `mutation($type: String!, $payload: JSON!, $id: String) {
  publishEvent(type: $type, payload: $payload, id: $id) { id type status lastError firings { triggerId status runId reason } }
}`;

const ship = {
  name: 'ship',
  input: { type: 'object', required: ['order', 'total'], properties: { order: { type: 'string' }, total: { type: 'number' } } },
  steps: { done: { type: 'transform', value: '{% $input.order %}' } },
};

beforeAll(async () => {
  [ctx, stub] = await Promise.all([createTestContext(), new HttpStub().start()]);
  stub.on('POST /notify', { body: { ok: true } });
  keys.a = (await createApiKey(ctx.trellis.db, 'a', 'test', true)).secret;
  keys.b = (await createApiKey(ctx.trellis.db, 'b', 'test', true)).secret;
  await as('a', SAVE, { spec: ship });
  await as('b', SAVE, { spec: ship });
});

afterAll(async () => {
  await Promise.all([ctx?.stop(), stub?.stop()]);
});

describe('createTrigger', () => {
  it('checks the event type, the filter and the input when it is created, located', async () => {
    const result = await call('a', CREATE, { event: 'order created', filter: '$event.payload.total >', definition: 'ship', input: '{"a": }' });
    expect(result.errors?.[0]?.extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      errors: [expect.objectContaining({ path: '/event' }), expect.objectContaining({ path: '/filter' }), expect.objectContaining({ path: '/input' })],
    });
    expect((await call('a', CREATE, { event: 'order.created', definition: 'nope' })).errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
  });
});

describe('publishing an event', () => {
  let big: { id: string };
  let all: { id: string };
  beforeAll(async () => {
    big = (await as('a', CREATE, { event: 'order.paid', filter: '$event.payload.total >= 100', definition: 'ship', input: '{"order": $event.payload.id, "total": $event.payload.total}' })).createTrigger;
    all = (await as('a', CREATE, { event: 'order.paid', definition: 'ship', input: '{"order": $event.id, "total": 0}' })).createTrigger;
  });

  it('starts one run per matching trigger, with the input mapped from $event and trigger {type: event}', async () => {
    const small = (await as('a', PUBLISH, { type: 'order.paid', payload: { id: 'o-1', total: 5 }, id: 'evt-1' })).publishEvent;
    expect(small).toMatchObject({ id: 'evt-1', status: 'DISPATCHED', firings: [{ triggerId: all.id, status: 'STARTED' }] });
    const large = (await as('a', PUBLISH, { type: 'order.paid', payload: { id: 'o-2', total: 250 }, id: 'evt-2' })).publishEvent;
    expect(large.firings.map((f: any) => f.triggerId).sort()).toEqual([big.id, all.id].sort());
    const bigRun = large.firings.find((f: any) => f.triggerId === big.id).runId;
    const { run } = await as('a', 'query($id: ID!) { run(id: $id) { input trigger status } }', { id: bigRun });
    expect(run).toMatchObject({ input: { order: 'o-2', total: 250 }, trigger: { type: 'event', id: big.id, eventId: 'evt-2' } });
    await until('the run completes', async () => (await as('a', 'query($id: ID!) { run(id: $id) { status } }', { id: bigRun })).run.status === 'COMPLETED');
  });

  it('starts nothing new when the publisher retries the same event, and refuses the id with another payload (CONFLICT)', async () => {
    const first = (await as('a', PUBLISH, { type: 'order.paid', payload: { id: 'o-3', total: 300 }, id: 'evt-3' })).publishEvent;
    const again = (await as('a', PUBLISH, { type: 'order.paid', payload: { id: 'o-3', total: 300 }, id: 'evt-3' })).publishEvent;
    expect(again.firings).toEqual(first.firings);
    const runs = await ctx.trellis.db.selectFrom('runs').select('id').where('trigger', '@>', JSON.stringify({ type: 'event', eventId: 'evt-3' }) as never).execute();
    expect(runs).toHaveLength(2);
    const conflict = await call('a', PUBLISH, { type: 'order.paid', payload: { id: 'o-3', total: 1 }, id: 'evt-3' });
    expect(conflict.errors?.[0]?.extensions?.code).toBe('CONFLICT');
  });

  it('records a refusal when the mapped input fails the definition\'s input schema', async () => {
    const broken = (await as('a', CREATE, { event: 'order.broken', definition: 'ship', input: '{"order": 1}' })).createTrigger;
    const { publishEvent } = await as('a', PUBLISH, { type: 'order.broken', payload: {} });
    expect(publishEvent.firings).toEqual([expect.objectContaining({ triggerId: broken.id, status: 'REFUSED', runId: null, reason: expect.stringMatching(/input does not match/) })]);
    const { triggers } = await as('a', '{ triggers { id firings { eventId status } } }');
    expect(triggers.find((t: any) => t.id === broken.id).firings).toEqual([{ eventId: publishEvent.id, status: 'REFUSED' }]);
  });

  it('is served by POST /events with an API key, and refused without one', async () => {
    const url = `${apiBase(ctx.graphqlUrl)}/events`;
    const body = JSON.stringify({ type: 'order.paid', payload: { id: 'o-4', total: 400 }, id: 'evt-4' });
    const refused = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    expect(refused.status).toBe(401);
    const accepted = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${keys.a}` }, body });
    expect(accepted.status).toBe(202);
    const answer = (await accepted.json()) as any;
    expect(answer).toMatchObject({ id: 'evt-4', status: 'DISPATCHED' });
    expect(answer.firings).toHaveLength(2);
    const bad = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${keys.a}` }, body: JSON.stringify({ type: 'x', payload: { a: 'b\u0000' } }) });
    expect(bad.status).toBe(400);
  });
});

describe('loop prevention in the event path', () => {
  it('refuses a trigger whose definition the event\'s chain holds, records the firing and TRIGGER_REFUSED on the publishing run', async () => {
    // "announce" calls a service (the stub), which would publish an event that triggers "announce" again.
    const announce = {
      name: 'announce',
      steps: {
        call: { type: 'http', method: 'POST', url: `${stub.url}/notify`, retry: { maxAttempts: 1 } },
        hold: { type: 'wait', signal: 'go', timeout: '1h', needs: ['call'] },
      },
    };
    await as('a', SAVE, { spec: announce });
    const loop = (await as('a', CREATE, { event: 'note.sent', definition: 'announce' })).createTrigger;
    const onward = (await as('a', CREATE, { event: 'note.sent', definition: 'ship', input: '{"order": "n", "total": 1}' })).createTrigger;
    const { startRun } = await as('a', 'mutation { startRun(definition: "announce") { id } }');
    await until('the http step called the service', () => stub.received('POST /notify').length > 0);
    const chain = stub.received('POST /notify')[0]!.headers['trellis-chain'] as string;

    const { publishEvent } = await as('a', PUBLISH, { type: 'note.sent', payload: {}, id: 'note-1' }, { 'trellis-chain': chain });
    const byTrigger = Object.fromEntries(publishEvent.firings.map((f: any) => [f.triggerId, f]));
    expect(byTrigger[loop.id]).toMatchObject({ status: 'REFUSED', runId: null, reason: expect.stringMatching(/loop/) });
    expect(byTrigger[onward.id]).toMatchObject({ status: 'STARTED' });
    const row = await ctx.trellis.db.selectFrom('runs').select('chain').where('id', '=', byTrigger[onward.id].runId).executeTakeFirstOrThrow();
    expect(row.chain).toEqual([{ d: expect.any(String), r: startRun.id }, { e: 'note-1' }]);
    const { run } = await as('a', 'query($id: ID!) { run(id: $id) { events(first: 50) { edges { node { type message } } } } }', { id: startRun.id });
    const refused = run.events.edges.map((edge: any) => edge.node).filter((event: any) => event.type === 'TRIGGER_REFUSED');
    expect(refused).toEqual([{ type: 'TRIGGER_REFUSED', message: expect.stringMatching(/event "note-1".*run of "announce" refused/) }]);
    await as('a', 'mutation($id: ID!) { cancelRun(id: $id) { id } }', { id: startRun.id });
  });
});

describe('tenant isolation', () => {
  it('keeps tenant b from listing or deleting a\'s triggers, reading a\'s events, or firing them with its own', async () => {
    const trigger = (await as('a', CREATE, { event: 'iso.check', definition: 'ship', input: '{"order": "a", "total": 1}' })).createTrigger;
    expect((await as('b', '{ triggers { id } }')).triggers.map((t: any) => t.id)).not.toContain(trigger.id);
    expect((await as('b', 'mutation($id: ID!) { deleteTrigger(id: $id) }', { id: trigger.id })).deleteTrigger).toBe(false);
    const fromB = (await as('b', PUBLISH, { type: 'iso.check', payload: {}, id: 'iso-1' })).publishEvent;
    expect(fromB.firings).toEqual([]);
    const fromA = (await as('a', PUBLISH, { type: 'iso.check', payload: {}, id: 'iso-1' })).publishEvent;
    expect(fromA.firings).toEqual([expect.objectContaining({ triggerId: trigger.id, status: 'STARTED' })]);
    expect((await as('b', 'query { event(id: "evt-2") { id } }')).event).toBeNull();
  });
});
