import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { AuditEventHub } from '../../graphql/audit-event-hub';
import type { GraphQLContext } from '../../graphql/context';
import { runsResolvers } from '../../graphql/runs.resolver';
import { sharedRunReads } from '../../graphql/shared-run-reads';
import { DEFAULT_TENANT } from '../../src/api/tenant';
import { AUDIT_CHANNEL, type AuditNotification } from '../../src/db/audit.repository';
import { listEvents, listRunSteps, recordRunEnd } from '../../src/db/runs.repository';
import { createTestContext, type TestContext } from '../support/test-context';
import { until } from '../support/until';

// runUpdated and runWatch read the run when the subscription is resolved, and subscribe to its
// notifications only when its stream starts. A run that changes in between notifies nobody: the
// stream must not send the row it read before as the run's state, and then wait for a
// notification that already came. Here the resolvers are called directly, on a hub of the
// test's own, so that the test decides when the stream starts: after the run has finished and the
// hub has seen it finish.

let ctx: TestContext;
let hub: AuditEventHub;
const notes: AuditNotification[] = [];

beforeAll(async () => {
  ctx = await createTestContext();
  hub = new AuditEventHub(ctx.trellis.databaseUrl);
  await hub.start();
  hub.watchAll((note) => note && notes.push(note));
}, 120_000);

afterAll(async () => {
  await hub?.stop();
  await ctx?.stop();
});

/** What the subscription resolvers use of a request's context (tenant, database, hub), with the test's hub. */
function subscriber(): GraphQLContext {
  return { tenantId: DEFAULT_TENANT, db: ctx.trellis.db, hub } as Partial<GraphQLContext> as GraphQLContext;
}

/** Starts a run that waits for the signal `go`, and returns its id once it waits. */
async function waitingRun(): Promise<string> {
  const name = `window-${randomUUID().slice(0, 8)}`;
  await ctx.gql(`mutation($spec: JSON!) { saveDefinition(spec: $spec) { version } }`, {
    spec: { name, steps: { gate: { type: 'wait', signal: 'go' } } },
  });
  const { startRun } = await ctx.gql<{ startRun: { id: string } }>(`mutation($name: String!) { startRun(definition: $name) { id } }`, { name });
  await until('the run waits for its signal', async () => {
    const { run } = await ctx.gql(`query($id: ID!) { run(id: $id) { steps { id status } } }`, { id: startRun.id });
    return run.steps.some((step: { status: string }) => step.status === 'WAITING');
  });
  return startRun.id;
}

/** Signals the run and waits until the test's hub has seen it finish (the notification is gone by). */
async function finishUnwatched(runId: string): Promise<void> {
  await ctx.gql(`mutation($id: ID!) { signalRun(id: $id, signal: "go") { id } }`, { id: runId });
  await until('the hub saw the run finish', () => notes.some((note) => note.runId === runId && note.type === 'RUN_COMPLETED'));
}

test.each([false, true])(
  'runUpdated (changedStepsOnly: %s): a run finished between its first read and the subscription is sent finished, and the stream ends',
  async (changedStepsOnly) => {
    const runId = await waitingRun();
    const stream = (await runsResolvers.Subscription.runUpdated.subscribe(undefined, { runId, changedStepsOnly }, subscriber())) as AsyncGenerator<{
      runUpdated: { status: string };
    }>;
    await finishUnwatched(runId);

    const first = await stream.next();
    expect(first.value?.runUpdated.status).toBe('COMPLETED');
    expect((await stream.next()).done).toBe(true);
  },
);

test('runWatch: a run finished between its first read and the subscription comes finished in the first answer, with its final event', async () => {
  const runId = await waitingRun();
  const stream = (await runsResolvers.Subscription.runWatch.subscribe(undefined, { runId }, subscriber())) as AsyncGenerator<{
    runWatch: { run: { status: string }; events: Array<{ type: string }> };
  }>;
  await finishUnwatched(runId);

  const first = await stream.next();
  expect(first.value?.runWatch.run.status).toBe('COMPLETED');
  expect(first.value?.runWatch.events.at(-1)?.type).toBe('RUN_COMPLETED');
  expect((await stream.next()).done).toBe(true);
});

test('a run that did not change after its first read is sent as read', async () => {
  const runId = await waitingRun();
  const stream = (await runsResolvers.Subscription.runUpdated.subscribe(undefined, { runId }, subscriber())) as AsyncGenerator<{ runUpdated: { status: string } }>;
  const first = await stream.next();
  expect(first.value?.runUpdated.status).toBe('RUNNING');

  await finishUnwatched(runId);
  expect((await stream.next()).value?.runUpdated.status).toBe('COMPLETED');
  expect((await stream.next()).done).toBe(true);
});

test('a run whose end is recorded without an event (recordRunEnd) wakes its watchers', async () => {
  const runId = await waitingRun();
  const stream = (await runsResolvers.Subscription.runUpdated.subscribe(undefined, { runId }, subscriber())) as AsyncGenerator<{ runUpdated: { status: string } }>;
  expect((await stream.next()).value?.runUpdated.status).toBe('RUNNING');

  await recordRunEnd(ctx.trellis.db, runId, 'FAILED', { message: 'the audit trail refused the final event' });
  expect((await stream.next()).value?.runUpdated.status).toBe('FAILED');
  expect((await stream.next()).done).toBe(true);
  expect(notes).toContainEqual(expect.objectContaining({ runId, type: 'RUN_END_RECORDED', tenantId: DEFAULT_TENANT }));
});

test('recording the end of a run already finished notifies nobody', async () => {
  const runId = await waitingRun();
  await finishUnwatched(runId);
  const before = notes.filter((note) => note.runId === runId).length;

  const run = await recordRunEnd(ctx.trellis.db, runId, 'FAILED', null);
  expect(run?.status).toBe('COMPLETED');
  // PostgreSQL delivers notifications in commit order: once the hub has this marker, it has
  // every notification recordRunEnd sent.
  const marker = randomUUID();
  await sql`select pg_notify(${AUDIT_CHANNEL}, ${JSON.stringify({ tenantId: 'nobody', runId: marker, seq: 0, type: 'MARKER' })})`.execute(ctx.trellis.db);
  await until('the hub saw the marker', () => notes.some((note) => note.runId === marker));
  expect(notes.filter((note) => note.runId === runId)).toHaveLength(before);
});

test('runWatch never sends a finished run with steps or events read before it finished', async () => {
  // A watcher of the run woken before it finished may still be reading its steps and events
  // (reads shared by the run and its notification count) when a watcher arrives that reads the
  // run finished. Such reads are planted here, answering what was stored before the run finished;
  // the new watcher must read the run's steps and events after the run, not join them.
  const runId = await waitingRun();
  const { db } = ctx.trellis;
  const stepsBefore = await listRunSteps(db, runId);
  const eventsBefore = await listEvents(db, runId, { afterSeq: 0, limit: 500 });
  await finishUnwatched(runId);

  const reads = sharedRunReads(hub);
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  const planted = [
    reads.read(DEFAULT_TENANT, runId, 'steps', () => released.then(() => stepsBefore)),
    reads.read(DEFAULT_TENANT, runId, 'events>0', () => released.then(() => eventsBefore)),
  ];
  const stream = (await runsResolvers.Subscription.runWatch.subscribe(undefined, { runId }, subscriber())) as AsyncGenerator<{
    runWatch: { run: Record<symbol, Array<{ id: string; status: string }>> & { status: string }; events: Array<{ type: string }> };
  }>;
  // The planted reads answer only after the watcher's first answer: joining them would hold it.
  const { run, events } = (await stream.next()).value!.runWatch;
  release();
  await Promise.all(planted);
  expect(run.status).toBe('COMPLETED');
  expect(events.at(-1)?.type).toBe('RUN_COMPLETED');
  const [changedSteps] = Object.getOwnPropertySymbols(run).map((symbol) => run[symbol]);
  expect(changedSteps).toEqual([expect.objectContaining({ id: 'gate', status: 'SUCCEEDED' })]);
  expect((await stream.next()).done).toBe(true);
}, 15_000);

test('runEventBatches and runEvents resumed after a finished run\'s final event complete, with nothing sent', async () => {
  const runId = await waitingRun();
  await finishUnwatched(runId);
  const events = await listEvents(ctx.trellis.db, runId, { afterSeq: 0, limit: 500 });
  const finalSeq = events.at(-1)!.seq;
  expect(events.at(-1)!.type).toBe('RUN_COMPLETED');

  const batches = (await runsResolvers.Subscription.runEventBatches.subscribe(undefined, { runId, afterSeq: finalSeq }, subscriber())) as AsyncGenerator<unknown>;
  expect(await batches.next()).toEqual({ done: true, value: undefined });
  const single = (await runsResolvers.Subscription.runEvents.subscribe(undefined, { runId, afterSeq: finalSeq }, subscriber())) as AsyncGenerator<unknown>;
  expect(await single.next()).toEqual({ done: true, value: undefined });
});

test('runEventBatches of a run whose end is recorded without an event completes once the run has finished', async () => {
  const runId = await waitingRun();
  const stream = (await runsResolvers.Subscription.runEventBatches.subscribe(undefined, { runId }, subscriber())) as AsyncGenerator<{
    runEventBatches: Array<{ type: string }>;
  }>;
  const first = await stream.next();
  expect(first.done ? [] : first.value.runEventBatches.map((event) => event.type)).toContain('RUN_STARTED');

  await recordRunEnd(ctx.trellis.db, runId, 'FAILED', { message: 'the audit trail refused the final event' });
  expect((await stream.next()).done).toBe(true);
});
