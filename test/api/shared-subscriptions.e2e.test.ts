import type { Client } from 'graphql-ws';
import { sql } from 'kysely';
import { AUDIT_CHANNEL } from '../../src/db/audit.repository';
import { RUN_WATCH } from '../../web/src/queries';
import { mergeRunUpdate } from '../../web/src/run-updates';
import { collectSubscription, graphql, wsClient } from '../support/graphql-client';
import { GraphQLSocket } from '../support/graphql-socket';
import { createKeyWithCli, keysCli } from '../support/keys-cli';
import { createTestContext, type TestContext } from '../support/test-context';
import { until } from '../support/until';

// Many subscribers of one run, as dashboards open them (the dashboard's own documents): they
// share reads and executions of the run's updates (graphql/shared-subscription-results.ts), and
// runUpdated is paced. Each must still get every event once, in order, and the final state; and
// nothing of it may reach another tenant or a key once revoked.

type EventView = { seq: number; type: string; stepId: string | null };
type RunView = { id: string; status: string; steps: Array<{ id: string; status: string; output: unknown }> };

let ctx: TestContext;
const keys: Record<'acme' | 'acmeOther' | 'globex', { id: string; secret: string }> = {} as never;
const clients: Client[] = [];
const sockets: GraphQLSocket[] = [];

beforeAll(async () => {
  ctx = await createTestContext();
  keys.acme = await createKeyWithCli(ctx.trellis.databaseUrl, 'acme', { name: 'one' });
  keys.acmeOther = await createKeyWithCli(ctx.trellis.databaseUrl, 'acme', { name: 'two' });
  keys.globex = await createKeyWithCli(ctx.trellis.databaseUrl, 'globex', { name: 'three' });
});

afterAll(async () => {
  for (const socket of sockets.splice(0)) socket.close();
  await Promise.all(clients.splice(0).map((client) => client.dispose()));
  await ctx?.stop();
});

async function data<T = any>(key: string, query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const result = await graphql<T>(ctx.graphqlUrl, query, variables, key);
  if (result.errors?.length || !result.data) throw new Error(`GraphQL errors: ${JSON.stringify(result.errors)}`);
  return result.data;
}

function clientOf(key: string): Client {
  const client = wsClient(ctx.graphqlUrl, key);
  clients.push(client);
  return client;
}

/**
 * Starts a run of acme that waits for the signal "go" before 8 parallel delays and a last step:
 * subscribers attach while it waits, and its steps then finish close together.
 */
async function waitingRun(name: string, options: { stepBefore?: boolean } = {}): Promise<string> {
  const steps: Record<string, unknown> = options.stepBefore
    ? { before: { type: 'transform', value: 1 }, gate: { type: 'wait', needs: ['before'], signal: 'go' } }
    : { gate: { type: 'wait', signal: 'go' } };
  for (let i = 0; i < 8; i++) steps[`w${i}`] = { type: 'delay', needs: ['gate'], duration: `${20 + i * 15}ms` };
  steps.last = { type: 'transform', needs: Object.keys(steps).filter((id) => id !== 'gate'), value: '{% $count($keys($steps)) %}' };
  await data(keys.acmeOther.secret, `mutation($spec: JSON!) { saveDefinition(spec: $spec) { version } }`, { spec: { name, steps } });
  const { startRun } = await data(keys.acmeOther.secret, `mutation($name: String!) { startRun(definition: $name) { id } }`, { name });
  await until('the run waits for its signal', async () => {
    const { run } = await data(keys.acmeOther.secret, `query($id: ID!) { run(id: $id) { steps { id status } } }`, { id: startRun.id });
    return run.steps.some((s: { id: string; status: string }) => s.id === 'gate' && s.status === 'WAITING');
  });
  return startRun.id;
}

function signal(runId: string): Promise<unknown> {
  return data(keys.acmeOther.secret, `mutation($id: ID!) { signalRun(id: $id, signal: "go") { id } }`, { id: runId });
}

const RUN_EVENTS = 'subscription($runId: ID!, $afterSeq: Int) { runEvents(runId: $runId, afterSeq: $afterSeq) { seq type stepId } }';
const RUN_EVENT_BATCHES = 'subscription($runId: ID!, $afterSeq: Int) { runEventBatches(runId: $runId, afterSeq: $afterSeq) { seq type stepId } }';
const RUN_UPDATED = 'subscription($runId: ID!) { runUpdated(runId: $runId, changedStepsOnly: true) { id status steps { id status output } } }';

type WatchAnswer = { run: RunView; events: EventView[] };

/**
 * A tab of the run page: its runWatch stream (the dashboard's own document), or the two streams
 * other clients may follow a run with (runUpdated with changed steps, and runEventBatches or,
 * `oneByOne`, runEvents), collected until the server ends them.
 */
function tab(client: Client, runId: string, options: { streams?: 'watch' | 'batches' | 'oneByOne' } = {}) {
  const updates: RunView[] = [];
  const events: EventView[] = [];
  const answers: WatchAnswer[] = [];
  const streams = options.streams ?? 'watch';
  const ended =
    streams === 'watch'
      ? collectSubscription<{ runWatch: WatchAnswer }>(client, RUN_WATCH, { runId, afterSeq: 0 }, ({ runWatch }) => {
          answers.push(runWatch);
          updates.push(runWatch.run);
          events.push(...runWatch.events);
        })
      : Promise.all([
          collectSubscription<{ runUpdated: RunView }>(client, RUN_UPDATED, { runId }, ({ runUpdated }) => updates.push(runUpdated)),
          streams === 'oneByOne'
            ? collectSubscription<{ runEvents: EventView }>(client, RUN_EVENTS, { runId, afterSeq: 0 }, ({ runEvents }) => events.push(runEvents))
            : collectSubscription<{ runEventBatches: EventView[] }>(client, RUN_EVENT_BATCHES, { runId, afterSeq: 0 }, ({ runEventBatches }) => {
                expect(runEventBatches.length).toBeGreaterThan(0);
                events.push(...runEventBatches);
              }),
        ]);
  return { updates, events, answers, ended };
}

async function storedEvents(runId: string): Promise<EventView[]> {
  const rows = await ctx.trellis.db.selectFrom('audit_events').select(['seq', 'type', 'step_id']).where('run_id', '=', runId).orderBy('seq').execute();
  return rows.map((row) => ({ seq: row.seq, type: row.type, stepId: row.step_id }));
}

const trail = (events: EventView[]) => events.map((e) => `#${e.seq} ${e.type}${e.stepId ? `:${e.stepId}` : ''}`);

describe('many subscribers of one run', () => {
  it('each get every event once in seq order (in one stream with the run, in batches or one by one), and the final state of the run and of every step', async () => {
    const runId = await waitingRun('watched-by-many');
    const streams = ['watch', 'batches', 'oneByOne'] as const;
    const tabs = Array.from({ length: 12 }, (_, i) => tab(clientOf(i % 2 ? keys.acme.secret : keys.acmeOther.secret), runId, { streams: streams[i % 3] }));
    await until('every tab has the run waiting', () => tabs.every((t) => t.updates.length > 0 && t.events.some((e) => e.type === 'STEP_STARTED' && e.stepId === 'gate')));
    await signal(runId);
    await Promise.all(tabs.map((t) => t.ended));

    const stored = trail(await storedEvents(runId));
    expect(stored.at(-1)).toMatch(/RUN_COMPLETED$/);
    const { run } = await data(keys.acmeOther.secret, `query($id: ID!) { run(id: $id) { id status steps { id status output } } }`, { id: runId });
    for (const t of tabs) {
      expect(trail(t.events)).toEqual(stored);
      // The dashboard's document asks for the steps that changed: folded as the page folds them.
      const folded = t.updates.reduce<RunView | undefined>((state, update) => mergeRunUpdate(state as never, update as never) as never, undefined)!;
      expect(folded).toMatchObject(run);
      expect(folded.steps.every((s) => s.status === 'SUCCEEDED')).toBe(true);
      // runWatch: the first answer lists every step; no later one comes with nothing new.
      if (t.answers.length > 0) {
        expect(t.answers[0]!.run.steps.map((step) => step.id).sort()).toEqual(run.steps.map((step: { id: string }) => step.id).sort());
        for (const answer of t.answers.slice(1)) expect(answer.events.length + answer.run.steps.length).toBeGreaterThan(0);
      }
    }
    expect(tabs.filter((t) => t.answers.length > 0)).toHaveLength(4);
    // Resumed after an event, a finished run's trail comes in batches from the next one to its end.
    const resumed = await collectSubscription<{ runEventBatches: EventView[] }>(clientOf(keys.acme.secret), RUN_EVENT_BATCHES, { runId, afterSeq: 3 });
    expect(trail(resumed.flatMap((answer) => answer.runEventBatches))).toEqual(stored.slice(3));
    // So it does in runWatch, with the finished run and every step in the first answer; resumed
    // after the final event, one answer with the run and no event, then the end (not a wait).
    for (const afterSeq of [3, stored.length]) {
      const watched = await collectSubscription<{ runWatch: WatchAnswer }>(clientOf(keys.acme.secret), RUN_WATCH, { runId, afterSeq });
      expect(watched[0]!.runWatch.run).toMatchObject(run);
      expect(trail(watched.flatMap((answer) => answer.runWatch.events))).toEqual(stored.slice(afterSeq));
      if (afterSeq === stored.length) expect(watched).toHaveLength(1);
    }
  });

  it('with changedStepsOnly get every step first, then only the steps that changed; folded, the run as a query reads it', async () => {
    // A step that has finished before anyone subscribes: no answer after the first lists it.
    const runId = await waitingRun('watched-for-changes', { stepBefore: true });
    const STEPS = 'id status attempts startedAt finishedAt output error';
    const document = (changedStepsOnly: boolean) => `subscription($runId: ID!) { runUpdated(runId: $runId${changedStepsOnly ? ', changedStepsOnly: true' : ''}) { status steps { ${STEPS} } } }`;
    type Answer = { status: string; steps: Array<{ id: string } & Record<string, unknown>> };
    const collect = (changedStepsOnly: boolean) => {
      const answers: Answer[] = [];
      const ended = collectSubscription<{ runUpdated: Answer }>(clientOf(keys.acme.secret), document(changedStepsOnly), { runId }, ({ runUpdated }) => answers.push(runUpdated));
      return { answers, ended };
    };
    const changes = [collect(true), collect(true)];
    const whole = collect(false);
    await until('every subscriber has the waiting run', () => [...changes, whole].every((c) => c.answers.length > 0));
    await signal(runId);
    await Promise.all([...changes, whole].map((c) => c.ended));

    const { run } = await data<{ run: Answer }>(keys.acme.secret, `query($id: ID!) { run(id: $id) { status steps { ${STEPS} } } }`, { id: runId });
    expect(run.steps).toHaveLength(11);
    for (const { answers } of changes) {
      expect(answers[0]!.steps.map((step) => step.id)).toEqual(run.steps.map((step) => step.id));
      expect(answers.length).toBeGreaterThanOrEqual(2);
      // Every step an answer lists differs from what the answers before it said; none is repeated unchanged.
      const state = new Map<string, string>();
      for (const [i, answer] of answers.entries()) {
        if (i > 0) expect(answer.steps.map((step) => step.id)).not.toContain('before');
        for (const step of answer.steps) {
          expect(JSON.stringify(step)).not.toBe(state.get(step.id));
          state.set(step.id, JSON.stringify(step));
        }
      }
      expect(answers.at(-1)!.status).toBe('COMPLETED');
      expect(run.steps.map((step) => JSON.parse(state.get(step.id)!))).toEqual(run.steps);
    }
    // Without it, every answer lists every step.
    expect(whole.answers.every((answer) => answer.steps.length === run.steps.length)).toBe(true);
    expect(whole.answers.at(-1)).toEqual(run);
  });

  it('runWatch sends nothing for a wake-up that brings nothing new', async () => {
    const runId = await waitingRun('watched-without-news');
    const watcher = tab(clientOf(keys.acme.secret), runId);
    // runUpdated answers at every wake-up: its next answer shows that the wake-up happened.
    const updated: RunView[] = [];
    const updatesEnded = collectSubscription<{ runUpdated: RunView }>(clientOf(keys.acme.secret), RUN_UPDATED, { runId }, ({ runUpdated }) => updated.push(runUpdated));
    await until('both have the waiting run', () => updated.length > 0 && watcher.events.some((e) => e.type === 'STEP_STARTED' && e.stepId === 'gate'));
    const answersBefore = watcher.answers.length;
    // What a map step's unchanged counter sends: a notification of the run with nothing behind it.
    const note = { tenantId: 'acme', runId, seq: 0, type: 'STEP_PROGRESS' };
    await sql`select pg_notify(${AUDIT_CHANNEL}, ${JSON.stringify(note)})`.execute(ctx.trellis.db);
    await until('the run\'s subscribers were woken', () => updated.length > 1);
    expect(watcher.answers.length).toBe(answersBefore);

    await signal(runId);
    await Promise.all([watcher.ended, updatesEnded]);
    for (const answer of watcher.answers.slice(1)) expect(answer.events.length + answer.run.steps.length).toBeGreaterThan(0);
    expect(watcher.answers.at(-1)!.run.status).toBe('COMPLETED');
  });

  it('never serve another tenant: its subscription with the same document and variables is refused while the owner\'s are live', async () => {
    const runId = await waitingRun('watched-across-tenants');
    const owner = tab(clientOf(keys.acme.secret), runId);
    await until('the owner\'s tab has the run', () => owner.updates.length > 0 && owner.events.length > 0);

    const globex = clientOf(keys.globex.secret);
    await expect(collectSubscription(globex, RUN_WATCH, { runId, afterSeq: 0 })).rejects.toThrow(/NOT_FOUND/);
    await expect(collectSubscription(globex, RUN_UPDATED, { runId })).rejects.toThrow(/NOT_FOUND/);
    await expect(collectSubscription(globex, RUN_EVENT_BATCHES, { runId, afterSeq: 0 })).rejects.toThrow(/NOT_FOUND/);
    await expect(collectSubscription(globex, RUN_EVENTS, { runId, afterSeq: 0 })).rejects.toThrow(/NOT_FOUND/);

    await signal(runId);
    await owner.ended;
    expect(owner.updates.at(-1)!.status).toBe('COMPLETED');
  });

  it('close the sockets of a revoked key at once, while another key of the tenant keeps receiving the run to its end', async () => {
    const runId = await waitingRun('watched-by-two-keys');
    const revoked = await GraphQLSocket.connect(ctx.graphqlUrl, keys.acme.secret);
    sockets.push(revoked);
    const updated = revoked.subscribe(RUN_UPDATED, { runId });
    const streamed = revoked.subscribe(RUN_EVENT_BATCHES, { runId, afterSeq: 0 });
    const kept = tab(clientOf(keys.acmeOther.secret), runId);
    await until('both keys\' tabs have the run', () => revoked.about(updated).length > 0 && revoked.about(streamed).length > 0 && kept.updates.length > 0);

    expect((await keysCli(ctx.trellis.databaseUrl, 'revoke', '--id', keys.acme.id)).code).toBe(0);
    expect(await revoked.closedBy(10_000)).toEqual({ code: 4403, reason: 'API key revoked' });
    const before = revoked.messages.length;

    await signal(runId);
    await kept.ended;
    expect(kept.updates.at(-1)!.status).toBe('COMPLETED');
    expect(trail(kept.events)).toEqual(trail(await storedEvents(runId)));
    // Nothing reached the revoked key's socket after it was closed, nor any final state.
    expect(revoked.messages.length).toBe(before);
    expect(revoked.about(updated).some((m) => m.payload?.data?.runUpdated?.status === 'COMPLETED')).toBe(false);
  });
});
