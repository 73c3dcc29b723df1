import { randomBytes, randomUUID } from 'node:crypto';
import type { Client } from 'graphql-ws';
import type WebSocket from 'ws';
import { TrellisProcess } from '../support/trellis-process';
import { Gate } from '../support/gate';
import { collectSubscription, graphqlData, wsClient } from '../support/graphql-client';
import { HttpStub } from '../support/http-stub';
import { createTestContext, type TestContext } from '../support/test-context';
import { until } from '../support/until';

// Two API processes, A and B, and a worker (in this process) share one database and one task
// queue, as instances behind a load balancer would. Runs are started through A; the worker writes
// their events; B learns of each one only through its own LISTEN connection, because a runEvents
// stream reads the database again only when a notification wakes it.

type EventView = { seq: number; type: string; stepId: string | null };
type StartedRun = { id: string; temporal: { workflowId: string } };
type EventSubscriber = ReturnType<typeof subscribeToEvents>;

const EVENTS = `subscription($id: ID!, $after: Int) { runEvents(runId: $id, afterSeq: $after) { seq type stepId } }`;
/** Long enough that a held request never times out and is retried while a test holds it. */
const HELD = { timeout: '60s', retry: { maxAttempts: 1 } } as const;

let worker: TestContext;
let stub: HttpStub;
const apis: TrellisProcess[] = [];
let a: TrellisProcess;
let b: TrellisProcess;
const clients: Client[] = [];

beforeAll(async () => {
  stub = await new HttpStub().start();
  const taskQueue = `test-fan-out-${randomUUID().slice(0, 8)}`;
  const secretKey = randomBytes(32).toString('base64');
  // Creates the file's own database and migrates it before either API starts.
  worker = await createTestContext({ env: { TRELLIS_ROLE: 'worker', TRELLIS_TASK_QUEUE: taskQueue, TRELLIS_SECRET_KEY: secretKey } });
  const env = {
    DATABASE_URL: worker.trellis.databaseUrl,
    TEMPORAL_ADDRESS: worker.trellis.temporalAddress,
    TEMPORAL_NAMESPACE: process.env.TEMPORAL_NAMESPACE ?? 'default',
    TRELLIS_TASK_QUEUE: taskQueue,
    TRELLIS_SECRET_KEY: secretKey,
  };
  const started = await Promise.allSettled([TrellisProcess.start('api', env), TrellisProcess.start('api', env)]);
  for (const result of started) if (result.status === 'fulfilled') apis.push(result.value);
  const failed = started.find((result): result is PromiseRejectedResult => result.status === 'rejected');
  if (failed) throw failed.reason;
  [a, b] = apis as [TrellisProcess, TrellisProcess];
}, 180_000);

afterAll(async () => {
  try {
    await Promise.all(clients.splice(0).map((client) => client.dispose()));
    // Even when a test or the set-up failed: no API process outlives the file.
    await Promise.all(apis.splice(0).map((api) => api.stop()));
  } finally {
    await worker?.stop();
    await stub?.stop();
  }
}, 60_000);

function gql<T = any>(api: TrellisProcess, query: string, variables: Record<string, unknown> = {}): Promise<T> {
  return graphqlData<T>(api.graphqlUrl, query, variables);
}

/** Saves `spec` through `api` and starts a run of it there. */
async function startRun(api: TrellisProcess, spec: { name: string } & Record<string, unknown>): Promise<StartedRun> {
  await gql(api, `mutation($spec: JSON!) { saveDefinition(spec: $spec) { version } }`, { spec });
  const { startRun: run } = await gql<{ startRun: StartedRun }>(
    api,
    `mutation($name: String!) { startRun(definition: $name, input: {n: 1}) { id temporal { workflowId } } }`,
    { name: spec.name },
  );
  return run;
}

/** The run's audit trail as stored, in seq order. */
async function storedEvents(runId: string): Promise<EventView[]> {
  const rows = await worker.trellis.db.selectFrom('audit_events').select(['seq', 'type', 'step_id']).where('run_id', '=', runId).orderBy('seq').execute();
  return rows.map((row) => ({ seq: row.seq, type: row.type, stepId: row.step_id }));
}

/** A graphql-ws client of `api`, disposed after the file if a test leaves it open. */
function clientOf(api: TrellisProcess): Client {
  const client = wsClient(api.graphqlUrl);
  clients.push(client);
  return client;
}

/**
 * A `runEvents` subscription: the events received so far, and `ended`, which settles when the
 * stream does (with every event when the server completes it). `drop()` cuts its TCP connection
 * without a goodbye, as a network failure would.
 */
function subscribeToEvents(api: TrellisProcess, runId: string, afterSeq?: number) {
  const client = clientOf(api);
  let socket: WebSocket | undefined;
  client.on('connected', (connected) => {
    socket = connected as WebSocket;
  });
  const events: EventView[] = [];
  let done = false;
  const ended = collectSubscription<{ runEvents: EventView }>(client, EVENTS, { id: runId, after: afterSeq ?? null }, ({ runEvents }) => events.push(runEvents))
    .then((values) => values.map((value) => value.runEvents))
    .finally(() => (done = true));
  return {
    events,
    ended,
    get done() {
      return done;
    },
    saw: (type: string, stepId: string | null = null) => events.some((e) => e.type === type && e.stepId === stepId),
    /** Cuts the connection and resolves, once the client has noticed, with what it had received. */
    async drop(): Promise<EventView[]> {
      if (!socket) throw new Error('the subscription is not connected');
      socket.terminate();
      await ended.catch(() => undefined);
      return [...events];
    },
  };
}

/** 1, 2, …, n. */
const oneTo = (n: number): number[] => Array.from({ length: n }, (_, i) => i + 1);
const trail = (events: EventView[]): string[] => events.map((e) => `#${e.seq} ${e.type}${e.stepId ? `:${e.stepId}` : ''}`);

/** Waits until `subscriber`'s stream has ended; on failure says what it got and what the database holds. */
async function streamEnd(subscriber: EventSubscriber, runId: string, who: string): Promise<EventView[]> {
  try {
    await until(`${who} delivered the run's final event`, () => subscriber.done, 20_000);
    return await subscriber.ended;
  } catch (err) {
    const stored = await storedEvents(runId);
    (err as Error).message += `\n\n${who} delivered:\n  ${trail(subscriber.events).join('\n  ')}\nthe database holds:\n  ${trail(stored).join('\n  ')}`;
    throw err;
  }
}

/** An `http` step to the stub whose request the stub holds until the test opens `gate`. */
function heldStep(route: string, gate: Gate, needs: string[]) {
  stub.on(`POST ${route}`, async () => {
    await gate.passed();
    return { body: { ok: true } };
  });
  return { type: 'http', method: 'POST', url: `${stub.url}${route}`, body: { run: '{% $run.id %}' }, needs, ...HELD };
}

/** Requests one run made to one route of the stub (each request body carries its run id). */
function requestsTo(route: string, run: StartedRun) {
  return stub.received(`POST ${route}`).filter((request) => (request.body as { run?: string } | null)?.run === run.id);
}

describe('two API processes on one database', () => {
  it('streams every event of a run started through A to a subscriber on B, live, in seq order with no gap and no duplicate', async () => {
    const gate = new Gate();
    const run = await startRun(a, {
      name: 'fan-out-live',
      output: '{% $steps.join.output %}',
      steps: {
        prepare: { type: 'transform', value: '{% $input.n + 1 %}' },
        hold: heldStep('/live/hold', gate, ['prepare']),
        pause: { type: 'delay', needs: ['hold'], duration: '200ms' },
        left: { type: 'transform', needs: ['pause'], value: '{% $steps.prepare.output * 2 %}' },
        right: { type: 'transform', needs: ['pause'], value: '{% $steps.prepare.output * 3 %}' },
        join: { type: 'transform', needs: ['left', 'right'], value: '{% $steps.left.output + $steps.right.output %}' },
      },
    });
    await until('the run waits on its held request', () => requestsTo('/live/hold', run).length === 1);

    const onB = subscribeToEvents(b, run.id);
    await until('B has replayed what the run stored so far', () => onB.saw('STEP_STARTED', 'hold'));
    const replayed = onB.events.length;
    gate.open();
    const events = await streamEnd(onB, run.id, 'B');

    expect(events.map((e) => e.seq)).toEqual(oneTo(events.length));
    expect(events.at(-1)!.type).toBe('RUN_COMPLETED');
    expect(trail(events)).toEqual(trail(await storedEvents(run.id)));
    // Everything after the held step was written after B subscribed: B had to be told of it.
    const live = events.slice(replayed).map((e) => `${e.type}:${e.stepId ?? ''}`);
    expect(live).toEqual(expect.arrayContaining(['STEP_SUCCEEDED:hold', 'STEP_SUCCEEDED:join', 'RUN_COMPLETED:']));
    const { run: finished } = await gql(b, `query($id: ID!) { run(id: $id) { status output } }`, { id: run.id });
    expect(finished).toEqual({ status: 'COMPLETED', output: 10 });
  });

  it.each([
    ['B', () => b],
    ['A', () => a],
  ])('lets a subscriber whose connection to B drops mid-run resume on %s with afterSeq, losing and repeating nothing', async (target, api) => {
    const first = new Gate();
    const second = new Gate();
    const route = (step: string) => `/resume-${target.toLowerCase()}/${step}`;
    const run = await startRun(a, {
      name: `fan-out-resume-${target.toLowerCase()}`,
      steps: {
        prepare: { type: 'transform', value: '{% $input.n %}' },
        first: heldStep(route('first'), first, ['prepare']),
        middle: { type: 'transform', needs: ['first'], value: '{% $steps.prepare.output + 1 %}' },
        pause: { type: 'delay', needs: ['middle'], duration: '100ms' },
        second: heldStep(route('second'), second, ['pause']),
        finish: { type: 'transform', needs: ['second'], value: '{% $steps.middle.output + 1 %}' },
      },
    });

    const dropped = subscribeToEvents(b, run.id);
    await until('the subscriber on B has seen the run reach its first held request', () => dropped.saw('STEP_STARTED', 'first') && requestsTo(route('first'), run).length === 1);
    const before = await dropped.drop();
    const lastSeen = before.at(-1)!.seq;

    // The run moves on while nobody is subscribed: these events are stored, not delivered.
    first.open();
    await until('the run waits on its second held request', () => requestsTo(route('second'), run).length === 1);
    expect((await storedEvents(run.id)).length).toBeGreaterThan(lastSeen);

    const resumed = subscribeToEvents(api(), run.id, lastSeen);
    await until(`the subscriber on ${target} has caught up with the stored events`, () => resumed.saw('STEP_STARTED', 'second'));
    // The rest is written after the subscriber resumed: it arrives live.
    second.open();
    const after = await streamEnd(resumed, run.id, target);

    expect(after[0]!.seq).toBe(lastSeen + 1);
    const all = [...before, ...after];
    expect(all.map((e) => e.seq)).toEqual(oneTo(all.length));
    expect(all.at(-1)!.type).toBe('RUN_COMPLETED');
    expect(trail(all)).toEqual(trail(await storedEvents(run.id)));
  });

  it("reports a run started through A on B's runsChanged while it runs and once it has finished", async () => {
    type Change = { id: string; definition: string; status: string };
    const changes: Change[] = [];
    const subscription = collectSubscription<{ runsChanged: Change }>(clientOf(b), `subscription { runsChanged { id definition status } }`, {}, ({ runsChanged }) =>
      changes.push(runsChanged),
    );
    subscription.catch(() => undefined); // it ends only when its client is disposed
    const reported = (id: string, status?: string) => changes.some((c) => c.id === id && (status === undefined || c.status === status));

    // A subscription is not acknowledged: runs started one after another until B reports one
    // show that it is live.
    const probes: string[] = [];
    await until("B's runsChanged reports runs", async () => {
      if (probes.some((id) => reported(id))) return true;
      const probe = await startRun(a, { name: 'fan-out-probe', steps: { only: { type: 'transform', value: '{% 1 %}' } } });
      probes.push(probe.id);
      await worker.trellis.client.workflow.getHandle(probe.temporal.workflowId).result();
      return false;
    });

    const gate = new Gate();
    const run = await startRun(a, {
      name: 'fan-out-changes',
      steps: {
        hold: heldStep('/changes/hold', gate, []),
        after: { type: 'transform', needs: ['hold'], value: '{% 1 %}' },
      },
    });
    await until('B reports the run running', () => reported(run.id, 'RUNNING'));
    gate.open();
    await until('B reports the run completed', () => reported(run.id, 'COMPLETED'));
    expect(changes.filter((c) => c.id === run.id).every((c) => c.definition === 'fan-out-changes')).toBe(true);
  });
});
