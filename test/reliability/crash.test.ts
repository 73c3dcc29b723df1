import { randomBytes, randomUUID } from 'node:crypto';
import pg from 'pg';
import type { AuditEventRow } from '../../src/db/database';
import { Gate } from '../support/gate';
import { HttpStub, type StubRequest } from '../support/http-stub';
import { finished, save, type RunView, type StartedRun } from '../support/runs';
import { createTestContext, type TestContext } from '../support/test-context';
import { until } from '../support/until';
import { TrellisProcess } from '../support/trellis-process';

// The API runs in this process; the worker runs in a child process that the tests SIGKILL while
// HTTP requests it made are held open by the stub. Temporal notices the dead worker only when
// those attempts time out, so steps and compensations get a short timeout and retry quickly.
const FAST = { timeout: '3s', retry: { maxAttempts: 5, initialInterval: '100ms', backoffCoefficient: 1 } } as const;
const FINAL_EVENTS = new Set(['RUN_COMPLETED', 'RUN_FAILED', 'RUN_CANCELLED']);

let ctx: TestContext;
let stub: HttpStub;
let workerEnv: Record<string, string>;
const workers: TrellisProcess[] = [];

beforeAll(async () => {
  stub = await new HttpStub().start();
  const taskQueue = `test-crash-${randomUUID().slice(0, 8)}`;
  const secretKey = randomBytes(32).toString('base64');
  ctx = await createTestContext({ env: { TRELLIS_ROLE: 'api', TRELLIS_TASK_QUEUE: taskQueue, TRELLIS_SECRET_KEY: secretKey } });
  workerEnv = {
    DATABASE_URL: ctx.trellis.databaseUrl,
    TEMPORAL_ADDRESS: ctx.trellis.temporalAddress,
    TEMPORAL_NAMESPACE: process.env.TEMPORAL_NAMESPACE ?? 'default',
    TRELLIS_TASK_QUEUE: taskQueue,
    TRELLIS_SECRET_KEY: secretKey,
  };
});

afterEach(async () => {
  // Whatever a test left running (it failed half-way, or finished with its second worker).
  await Promise.all(workers.splice(0).map((worker) => worker.kill()));
});

afterAll(async () => {
  await Promise.all(workers.splice(0).map((worker) => worker.kill()));
  await ctx?.stop();
  await stub?.stop();
});

async function startWorker(): Promise<TrellisProcess> {
  const worker = await TrellisProcess.start('worker', workerEnv);
  workers.push(worker);
  return worker;
}

/** Starts a run of a saved definition; its requests carry its run id in their bodies. */
async function startRun(definition: string): Promise<StartedRun> {
  const { startRun } = await ctx.gql<{ startRun: StartedRun }>(
    `mutation($name: String!) { startRun(definition: $name, input: {}) { id temporal { workflowId } } }`,
    { name: definition },
  );
  return startRun;
}

/** The run's audit trail as stored, in seq order. */
function storedEvents(runId: string): Promise<AuditEventRow[]> {
  return ctx.trellis.db.selectFrom('audit_events').selectAll().where('run_id', '=', runId).orderBy('seq').execute();
}

/** Requests one run made to one route of the stub (each request body carries its run id). */
function requestsOf(run: StartedRun, route: string): StubRequest[] {
  return stub.received(route).filter((request) => (request.body as { run?: string } | null)?.run === run.id);
}

function idempotencyKeys(requests: StubRequest[]): Set<string> {
  return new Set(requests.map((request) => String(request.headers['idempotency-key'])));
}

/**
 * Checks what SPEC §4 promises of every trail, crash or not: seq 1..N with no gap or duplicate,
 * one RUN_STARTED first and one final event last, and every STEP_STARTED attempt settled by
 * exactly one STEP_SUCCEEDED or STEP_FAILED of that attempt, with no settlement of an attempt
 * that never started.
 */
function expectCompleteTrail(events: AuditEventRow[]): void {
  expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
  expect(events.filter((e) => e.type === 'RUN_STARTED')).toHaveLength(1);
  expect(events[0]?.type).toBe('RUN_STARTED');
  expect(events.filter((e) => FINAL_EVENTS.has(e.type))).toHaveLength(1);
  expect(FINAL_EVENTS.has(events.at(-1)!.type)).toBe(true);

  const attempt = (e: AuditEventRow) => `${e.step_id}#${e.attempt}`;
  const started = events.filter((e) => e.type === 'STEP_STARTED').map(attempt);
  const settled = events.filter((e) => e.type === 'STEP_SUCCEEDED' || e.type === 'STEP_FAILED').map(attempt);
  expect(new Set(started).size).toBe(started.length);
  expect([...settled].sort()).toEqual([...started].sort());
}

/** The attempts of one step, as `SUCCEEDED` or `FAILED(retried)` / `FAILED(for good)`, in order. */
function attemptsOf(events: AuditEventRow[], stepId: string): string[] {
  return events
    .filter((e) => e.step_id === stepId && (e.type === 'STEP_SUCCEEDED' || e.type === 'STEP_FAILED'))
    .map((e) => (e.type === 'STEP_SUCCEEDED' ? 'SUCCEEDED' : `FAILED(${(e.error as { retryable?: boolean } | null)?.retryable ? 'retried' : 'for good'})`));
}

/** Runs the checks of one run; a failure shows the run's trail, which says what went wrong. */
function checkRun(run: RunView, events: AuditEventRow[], checks: () => void): void {
  try {
    checks();
  } catch (err) {
    const trail = events.map((e) => `  #${e.seq} ${e.type} ${e.step_id ?? ''}${e.attempt === null ? '' : `#${e.attempt}`} ${e.message ?? ''}`);
    (err as Error).message += `\n\nrun ${run.id} ended ${run.status}; its trail:\n${trail.join('\n')}`;
    throw err;
  }
}

describe('a worker killed with SIGKILL', () => {
  it('leaves parallel HTTP steps in flight that a new worker retries with the same idempotency keys, completing every run with a gap-free audit trail', async () => {
    const gate = new Gate();
    const parts = { a: 1, b: 2, c: 4 } as const;
    for (const [step, n] of Object.entries(parts)) {
      stub.on(`POST /${step}`, async () => {
        await gate.passed();
        return { body: { n } };
      });
    }
    const httpStep = (step: string) => ({ type: 'http', method: 'POST', url: `${stub.url}/${step}`, body: { run: '{% $run.id %}' }, ...FAST });
    await save(ctx, {
      name: 'crash-parallel',
      output: '{% $steps.total.output %}',
      steps: {
        a: httpStep('a'),
        b: httpStep('b'),
        c: httpStep('c'),
        total: { type: 'transform', needs: ['a', 'b', 'c'], value: '{% $steps.a.output.body.n + $steps.b.output.body.n + $steps.c.output.body.n %}' },
      },
    });

    const first = await startWorker();
    const runs = [await startRun('crash-parallel'), await startRun('crash-parallel'), await startRun('crash-parallel')];
    await until(
      'every run has its three requests in flight',
      () => runs.every((run) => Object.keys(parts).every((step) => requestsOf(run, `POST /${step}`).length > 0)),
      15_000,
    );
    await first.kill();
    // Nothing was answered: every attempt the dead worker made is still unsettled.
    const inFlight = runs.flatMap((run) => Object.keys(parts).flatMap((step) => requestsOf(run, `POST /${step}`)));
    expect(inFlight.filter((r) => r.answeredAt !== undefined)).toEqual([]);

    const second = await startWorker();
    gate.open();
    const results = await Promise.all(runs.map((run) => finished(ctx, run)));

    for (const [i, result] of results.entries()) {
      const run = runs[i]!;
      const events = await storedEvents(run.id);
      checkRun(result, events, () => {
        expect({ status: result.status, output: result.output }).toEqual({ status: 'COMPLETED', output: 7 });
        expectCompleteTrail(events);
        expect(events.at(-1)!.type).toBe('RUN_COMPLETED');
        for (const step of Object.keys(parts)) {
          // The killed attempt timed out and was retried; a later attempt succeeded, once.
          const attempts = attemptsOf(events, step);
          expect(attempts.at(0)).toBe('FAILED(retried)');
          expect(attempts.at(-1)).toBe('SUCCEEDED');
          expect(attempts.filter((a) => a === 'SUCCEEDED')).toHaveLength(1);
          expect(attempts.filter((a) => a === 'FAILED(for good)')).toHaveLength(0);
          // The target saw the request from both workers, always under the same key.
          const requests = requestsOf(run, `POST /${step}`);
          expect(requests.length).toBeGreaterThanOrEqual(2);
          expect(idempotencyKeys(requests)).toEqual(new Set([`${run.id}:${step}`]));
        }
        expect(attemptsOf(events, 'total')).toEqual(['SUCCEEDED']);
      });
    }
    expect(second.running).toBe(true);
  }, 90_000);

  it('leaves a compensation in flight that a new worker finishes with the same idempotency key, ending every run COMPENSATED with a gap-free audit trail', async () => {
    const gate = new Gate();
    stub.on('POST /charge', (request) => ({ body: { id: `ch-${(request.body as { run: string }).run}` } }));
    stub.on('POST /reserve', (request) => ({ body: { id: `rs-${(request.body as { run: string }).run}` } }));
    stub.on('POST /ship', { status: 400, body: { error: 'address rejected' } });
    for (const route of ['POST /refund', 'POST /release']) {
      stub.on(route, async () => {
        await gate.passed();
        return { body: { ok: true } };
      });
    }
    const compensation = (path: string, of: string) => ({
      type: 'http',
      method: 'POST',
      url: `${stub.url}/${path}`,
      body: { run: '{% $run.id %}', id: `{% $steps.${of}.output.body.id %}` },
      ...FAST,
    });
    await save(ctx, {
      name: 'crash-compensation',
      steps: {
        charge: { type: 'http', method: 'POST', url: `${stub.url}/charge`, body: { run: '{% $run.id %}' }, ...FAST, compensate: compensation('refund', 'charge') },
        reserve: { type: 'http', method: 'POST', url: `${stub.url}/reserve`, body: { run: '{% $run.id %}' }, ...FAST, compensate: compensation('release', 'reserve') },
        ship: { type: 'http', method: 'POST', needs: ['charge', 'reserve'], url: `${stub.url}/ship`, body: { run: '{% $run.id %}' }, ...FAST },
      },
    });

    const first = await startWorker();
    const runs = [await startRun('crash-compensation'), await startRun('crash-compensation')];
    // Compensations run one at a time, most recent first: the first one of each run is held.
    await until(
      'every run has a compensation in flight',
      () => runs.every((run) => requestsOf(run, 'POST /refund').length + requestsOf(run, 'POST /release').length > 0),
      15_000,
    );
    await first.kill();
    const compensations = runs.flatMap((run) => [...requestsOf(run, 'POST /refund'), ...requestsOf(run, 'POST /release')]);
    expect(compensations.filter((r) => r.answeredAt !== undefined)).toEqual([]);

    const second = await startWorker();
    gate.open();
    const results = await Promise.all(runs.map((run) => finished(ctx, run)));

    for (const [i, result] of results.entries()) {
      const run = runs[i]!;
      const events = await storedEvents(run.id);
      checkRun(result, events, () => {
        expect(result.status).toBe('COMPENSATED');
        expect(Object.fromEntries(result.steps.map((s) => [s.id, s.status]))).toEqual({ charge: 'COMPENSATED', reserve: 'COMPENSATED', ship: 'FAILED' });
        expectCompleteTrail(events);
        expect(events.at(-1)!.type).toBe('RUN_FAILED');
        expect(attemptsOf(events, 'charge')).toEqual(['SUCCEEDED']);
        expect(attemptsOf(events, 'reserve')).toEqual(['SUCCEEDED']);
        expect(attemptsOf(events, 'ship')).toEqual(['FAILED(for good)']);
        expect(events.filter((e) => e.type === 'COMPENSATION_STARTED')).toHaveLength(1);
        expect(events.filter((e) => e.type === 'COMPENSATION_FAILED')).toEqual([]);
        expect(events.filter((e) => e.type === 'STEP_COMPENSATED').map((e) => e.step_id).sort()).toEqual(['charge', 'reserve']);

        for (const [route, step] of [['POST /charge', 'charge'], ['POST /reserve', 'reserve'], ['POST /ship', 'ship']] as const) {
          expect(idempotencyKeys(requestsOf(run, route))).toEqual(new Set([`${run.id}:${step}`]));
        }
        const refunds = requestsOf(run, 'POST /refund');
        const releases = requestsOf(run, 'POST /release');
        expect(idempotencyKeys(refunds)).toEqual(new Set([`${run.id}:charge:compensate`]));
        expect(idempotencyKeys(releases)).toEqual(new Set([`${run.id}:reserve:compensate`]));
        // The compensation in flight at the kill was sent again by the new worker.
        expect(Math.max(refunds.length, releases.length)).toBeGreaterThanOrEqual(2);
      });
    }
    expect(second.running).toBe(true);
  }, 90_000);
  it('between the audit writes of one workflow task records every event once, when the task is redone over a longer history', async () => {
    // The worker dies after some of a task's audit writes (local activities) committed but before
    // the task completed; another worker redoes the task over a history that has grown since.
    // To stop the worker at that exact point, the test holds an uncommitted row with the next
    // seq, so the worker's insert of that seq waits on it.
    const gateA = new Gate();
    const gateB = new Gate();
    stub.on('POST /mid-task/a', async () => (await gateA.passed(), { body: { n: 1 } }));
    stub.on('POST /mid-task/b', async () => (await gateB.passed(), { body: { n: 2 } }));
    stub.on('POST /mid-task/x', (request) => ({ body: request.body }));
    await save(ctx, {
      name: 'mid-task',
      steps: {
        a: { type: 'http', method: 'POST', url: `${stub.url}/mid-task/a` },
        b: { type: 'http', method: 'POST', url: `${stub.url}/mid-task/b` },
        // A local activity: the task stays open while it runs, between the audit batch holding
        // STEP_STARTED x and the one holding STEP_SUCCEEDED x (a transform's events would share
        // one batch with STEP_SUCCEEDED a: trellis-inline-audit).
        x: { type: 'http', local: true, needs: ['a'], method: 'POST', url: `${stub.url}/mid-task/x`, body: { n: '{% $steps.a.output.body.n %}' } },
      },
    });
    const first = await startWorker();
    const run = await startRun('mid-task');
    const trail = async () => (await storedEvents(run.id)).map((e) => `${e.seq} ${e.type}${e.step_id ? ` ${e.step_id}#${e.attempt}` : ''}`);
    await until('a and b are in flight', async () => (await trail()).length === 3 && stub.received('POST /mid-task/b').length === 1);

    // Seq 4 will be STEP_SUCCEEDED a, 5 STEP_STARTED x; the worker's write of 6 waits on this row.
    const blocker = new pg.Client({ connectionString: ctx.trellis.databaseUrl });
    await blocker.connect();
    try {
      await blocker.query('BEGIN');
      await blocker.query(`INSERT INTO audit_events (run_id, seq, tenant_id, at, type, actor, event_key) VALUES ($1, 6, 'default', now(), 'BLOCKER', '{}', 'BLOCKER')`, [run.id]);
      gateA.open();
      await until('the worker has written seq 5 and waits on seq 6', async () => (await trail()).length === 5);
      // b completes while the workflow task is still open: its completion waits for the next task.
      gateB.open();
      const handle = ctx.trellis.client.workflow.getHandle(run.temporal.workflowId);
      await until('b has completed', async () => ((await handle.describe()).raw.pendingActivities ?? []).length === 0);
      await first.kill();
      await blocker.query('ROLLBACK');
    } finally {
      await blocker.end();
    }

    await startWorker();
    const done = await finished(ctx, run);
    expect(done.status).toBe('COMPLETED');
    const events = await trail();
    expect(events.slice(0, 5)).toEqual(['1 RUN_STARTED', '2 STEP_STARTED a#1', '3 STEP_STARTED b#1', '4 STEP_SUCCEEDED a#1', '5 STEP_STARTED x#1']);
    expect(events.slice(5, 7).map((e) => e.slice(2)).sort()).toEqual(['STEP_SUCCEEDED b#1', 'STEP_SUCCEEDED x#1']);
    expect(events.slice(7)).toEqual(['8 RUN_COMPLETED']);
    expectCompleteTrail(await storedEvents(run.id));
    expect(Object.fromEntries(done.steps.map((step) => [step.id, step.status]))).toEqual({ a: 'SUCCEEDED', b: 'SUCCEEDED', x: 'SUCCEEDED' });
  }, 90_000);
});
