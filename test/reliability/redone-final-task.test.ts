import pg from 'pg';
import { Gate } from '../support/gate';
import { collectSubscription, wsClient } from '../support/graphql-client';
import { HttpStub } from '../support/http-stub';
import { finished, getRun, startRunOf, type StartedRun } from '../support/runs';
import { createTestContext, type TestContext } from '../support/test-context';
import { until } from '../support/until';

// The workflow task that writes a run's final event can be redone after that event committed:
// here, news (an activity's completion) reaches Temporal while the task's last audit write is
// held, so Temporal refuses to let that task complete the workflow and hands the workflow a new
// task over the longer history. The redone task decides differently (the step it had cancelled
// has in fact succeeded, and is compensated). The test holds an uncommitted row with the final
// event's seq, so the worker's write of it waits at that exact point.

let ctx: TestContext;
let stub: HttpStub;

beforeAll(async () => {
  stub = await new HttpStub().start();
  ctx = await createTestContext();
});

afterAll(async () => {
  await ctx?.stop();
  await stub?.stop();
});

async function trail(run: StartedRun): Promise<string[]> {
  const rows = await ctx.trellis.db.selectFrom('audit_events').selectAll().where('run_id', '=', run.id).orderBy('seq').execute();
  return rows.map((e) => `${e.seq} ${e.type}${e.step_id ? ` ${e.step_id}` : ''}${e.superseded ? ' (superseded)' : ''}`);
}

describe('a workflow task redone after it wrote the final event', () => {
  it('supersedes that final event and records the redone task’s events and its own final event, with a truthful run status', async () => {
    const chargeGate = new Gate();
    const shipGate = new Gate();
    stub.on('POST /redone/charge', async () => (await chargeGate.passed(), { body: { id: 'ch_1' } }));
    stub.on('POST /redone/ship', async () => (await shipGate.passed(), { status: 400, body: { error: 'no address' } }));
    stub.on('POST /redone/refund', { body: { ok: true } });
    const run = await startRunOf(ctx, {
      name: 'redone-final-task',
      steps: {
        charge: { type: 'http', method: 'POST', url: `${stub.url}/redone/charge`, compensate: { type: 'http', method: 'POST', url: `${stub.url}/redone/refund` } },
        ship: { type: 'http', method: 'POST', url: `${stub.url}/redone/ship` },
      },
    });
    await until('charge and ship are in flight', async () => (await trail(run)).length === 3 && stub.received('POST /redone/ship').length === 1);

    // Seq 4 will be STEP_FAILED ship, 5 STEP_FAILED charge (cancelled), 6 RUN_FAILED: held here.
    const blocker = new pg.Client({ connectionString: ctx.trellis.databaseUrl });
    await blocker.connect();
    try {
      await blocker.query('BEGIN');
      await blocker.query(`INSERT INTO audit_events (run_id, seq, tenant_id, at, type, actor, event_key) VALUES ($1, 6, 'default', now(), 'BLOCKER', '{}', 'BLOCKER')`, [run.id]);
      shipGate.open();
      await until('the worker has written seq 5 and waits on seq 6', async () => (await trail(run)).length === 5);
      // charge completes while the task is still open: Temporal records it before the task ends.
      chargeGate.open();
      const handle = ctx.trellis.client.workflow.getHandle(run.temporal.workflowId);
      await until('charge has completed', async () => ((await handle.describe()).raw.pendingActivities ?? []).length === 0);
      await blocker.query('ROLLBACK');
    } finally {
      await blocker.end();
    }

    const done = await finished(ctx, run);
    const events = await trail(run);
    expect(events.slice(0, 6)).toEqual(expect.arrayContaining(['4 STEP_FAILED ship', '5 STEP_FAILED charge', '6 RUN_FAILED (superseded)']));
    expect(events.slice(6)).toEqual(['7 STEP_SUCCEEDED charge', '8 COMPENSATION_STARTED', '9 STEP_COMPENSATED charge', '10 RUN_FAILED']);
    expect(done.status).toBe('COMPENSATED');
    expect(Object.fromEntries(done.steps.map((step) => [step.id, step.status]))).toEqual({ charge: 'COMPENSATED', ship: 'FAILED' });
    expect(stub.received('POST /redone/refund')).toHaveLength(1);

    // A subscriber reading the trail from the start goes past the superseded event to the real end.
    const client = wsClient(ctx.graphqlUrl);
    const streamed = await collectSubscription<{ runEvents: { seq: number; type: string; superseded: boolean } }>(
      client,
      `subscription($id: ID!) { runEvents(runId: $id) { seq type superseded } }`,
      { id: run.id },
    ).finally(() => client.dispose());
    expect(streamed.map((e) => e.runEvents.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(streamed.filter((e) => e.runEvents.superseded).map((e) => e.runEvents.seq)).toEqual([6]);
    expect((await getRun(ctx, run.id)).status).toBe('COMPENSATED');
  }, 90_000);
});
