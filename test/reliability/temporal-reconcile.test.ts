import { randomUUID } from 'node:crypto';
import { WorkflowFailedError, type Client } from '@temporalio/client';
import type { RunSnapshot } from '../../interpreter/run-types';
import { insertRun } from '../../src/db/runs.repository';
import { graphql } from '../support/graphql-client';
import { HttpStub } from '../support/http-stub';
import { deleteExecution, rawTemporalClient, resetExecution, taskThatScheduled } from '../support/raw-temporal';
import { eventTrail, getRun, save, startRunOf, stepOf, type RunView, type StartedRun } from '../support/runs';
import { createTestContext, type TestContext } from '../support/test-context';
import { until } from '../support/until';

/**
 * What an operator can do to a run's workflow in Temporal's Web UI or CLI, behind Trellis's back:
 * terminate it, reset it, delete it, or have it time out. Trellis must notice within seconds and
 * say what happened, and every control mutation must answer clearly afterwards.
 */

/** How long Trellis may take to notice (the reconciler asks Temporal every second here). */
const NOTICED_WITHIN_MS = 15_000;

let ctx: TestContext;
/** A Trellis whose reconciler looks only once a minute: what control mutations find out by themselves. */
let slow: TestContext;
let stub: HttpStub;
let operator: { client: Client; close(): Promise<void> };

const pay = () => ({
  name: 'pay',
  steps: {
    settle: { type: 'delay', duration: '50ms' },
    charge: {
      type: 'http', needs: ['settle'], method: 'POST', url: `${stub.url}/charges`, retry: { maxAttempts: 1 },
      compensate: { type: 'http', method: 'POST', url: `${stub.url}/refunds` },
    },
    approve: { type: 'wait', needs: ['charge'], signal: 'approval' },
  },
});

beforeAll(async () => {
  [ctx, slow, stub, operator] = await Promise.all([
    createTestContext({ env: { TRELLIS_RECONCILE_SWEEP_INTERVAL: '1s' } }),
    createTestContext({ env: { TRELLIS_RECONCILE_INTERVAL: '60s', TRELLIS_RECONCILE_SWEEP_INTERVAL: '24h' } }),
    new HttpStub().start(),
    rawTemporalClient(),
  ]);
  stub.on('POST /charges', (_request, n) => ({ status: 201, body: { id: `ch_${n}` } }));
  stub.on('POST /refunds', { body: { refunded: true } });
});

afterAll(async () => {
  await Promise.all([ctx?.stop(), slow?.stop(), stub?.stop(), operator?.close()]);
});

async function waitingRun(on: TestContext): Promise<StartedRun> {
  const run = await startRunOf(on, pay(), {});
  await until('the run waits for approval', async () => stepOf(await getRun(on, run.id), 'approve').status === 'WAITING');
  return run;
}

async function recorded(on: TestContext, run: StartedRun, status: string): Promise<RunView> {
  await until(`the run is recorded ${status}`, async () => (await getRun(on, run.id)).status === status, NOTICED_WITHIN_MS);
  return getRun(on, run.id);
}

/** The interpreter's task queue of a Trellis, as Temporal knows it from a run. */
async function taskQueueOf(on: TestContext): Promise<string> {
  const run = await startRunOf(on, { name: 'probe', steps: { t: { type: 'transform', value: 1 } } });
  return (await on.trellis.client.workflow.getHandle(run.temporal.workflowId).describe()).taskQueue;
}

async function temporalRunIdOf(on: TestContext, run: StartedRun): Promise<string> {
  return (await on.trellis.client.workflow.getHandle(run.temporal.workflowId).describe()).runId;
}

/** The GraphQL error of a control mutation that must be refused. */
async function refusal(on: TestContext, mutation: string, variables: Record<string, unknown>): Promise<{ code: unknown; message: string }> {
  const result = await graphql(on.graphqlUrl, mutation, variables);
  expect(result.errors).toHaveLength(1);
  return { code: result.errors![0]!.extensions?.code, message: result.errors![0]!.message };
}

const CANCEL = 'mutation($id: ID!) { cancelRun(id: $id, reason: "too late") { id status } }';
const SIGNAL = 'mutation($id: ID!) { signalRun(id: $id, signal: "approval", payload: {ok: true}) { id } }';
const RETRY_PLAN = 'mutation($id: ID!) { retryRun(id: $id, dryRun: true) { status retryPlan { reused { stepId } rerun } } }';

/** Every (type, step, attempt) at most once on each side of RUN_RESET, and seqs 1, 2, 3… */
function expectNoGapNorRepeat(run: RunView): void {
  expect(run.events.map((event) => event.seq)).toEqual(run.events.map((_, i) => i + 1));
  const resetAt = run.events.findIndex((event) => event.type === 'RUN_RESET');
  for (const part of resetAt < 0 ? [run.events] : [run.events.slice(0, resetAt), run.events.slice(resetAt + 1)]) {
    const keys = part.map((event) => `${event.type}:${event.stepId}:${event.attempt}`);
    expect(new Set(keys).size).toBe(keys.length);
  }
}

describe('a run terminated in Temporal', () => {
  let run: StartedRun;
  let terminated: RunView;

  beforeAll(async () => {
    run = await waitingRun(ctx);
    await operator.client.workflow.getHandle(run.temporal.workflowId).terminate('operator says stop');
    terminated = await recorded(ctx, run, 'TERMINATED');
  });

  it('is recorded TERMINATED within seconds, saying who ended it, why, and what was not rolled back', () => {
    expect(eventTrail(terminated)).toEqual([
      'RUN_STARTED', 'STEP_STARTED:settle', 'STEP_SUCCEEDED:settle', 'STEP_STARTED:charge', 'STEP_SUCCEEDED:charge', 'STEP_STARTED:approve', 'RUN_TERMINATED',
    ]);
    const last = terminated.events.at(-1)!;
    expect(last.error).toMatchObject({
      type: 'Terminated',
      retryable: false,
      details: { reason: 'operator says stop', identity: expect.any(String), notCompensated: ['charge'], stopped: ['approve'] },
    });
    expect(last.message).toMatch(/^terminated in Temporal by ".+": operator says stop\. Temporal runs no more of it: nothing was rolled back \(not compensated: charge\), and approve stopped where it stood\. retryRun runs what it left undone/);
    expect(terminated.error).toMatchObject({ type: 'Terminated', message: expect.stringMatching(/operator says stop$/) });
    expect(stepOf(terminated, 'charge').status).toBe('SUCCEEDED');
    expect(stepOf(terminated, 'approve')).toMatchObject({ status: 'CANCELLED', error: { type: 'Cancelled' } });
    expect(stub.received('POST /refunds')).toHaveLength(0);
  });

  it('refuses cancelRun and signalRun, saying it was terminated in Temporal, by whom, why and when', async () => {
    const at = (await ctx.trellis.db.selectFrom('runs').select('finished_at').where('id', '=', run.id).executeTakeFirstOrThrow()).finished_at!.toISOString();
    const cancel = await refusal(ctx, CANCEL, { id: run.id });
    expect(cancel.code).toBe('CONFLICT');
    expect(cancel.message).toMatch(
      new RegExp(`^run ${run.id} is already TERMINATED \\(terminated in Temporal by ".+": operator says stop\\. .*retryRun runs what it left undone.*, at ${at}\\): only a running run can be cancelled$`),
    );
    const signal = await refusal(ctx, SIGNAL, { id: run.id });
    expect(signal).toEqual({ code: 'CONFLICT', message: expect.stringMatching(new RegExp(`^run ${run.id} was terminated in Temporal at ${at} .*: only a running run takes signals$`)) });
  });

  it('is retried from where it stopped: the charge is reused, and cancelling the retry refunds it', async () => {
    const plan = await ctx.gql(RETRY_PLAN, { id: run.id });
    expect(plan.retryRun).toEqual({ status: 'PLANNED', retryPlan: { reused: [{ stepId: 'settle' }, { stepId: 'charge' }], rerun: ['approve'] } });
    const { retryRun } = await ctx.gql<{ retryRun: StartedRun }>('mutation($id: ID!) { retryRun(id: $id) { id temporal { workflowId } } }', { id: run.id });
    await until('the retry waits for approval', async () => stepOf(await getRun(ctx, retryRun.id), 'approve').status === 'WAITING');
    expect(stub.received('POST /charges')).toHaveLength(1);
    await ctx.gql(CANCEL, { id: retryRun.id });
    const cancelled = await recorded(ctx, retryRun, 'CANCELLED');
    expect(stepOf(cancelled, 'charge').status).toBe('COMPENSATED');
    expect(stub.received('POST /refunds')).toHaveLength(1);
  });
});

describe('control mutations on a run whose workflow ended in Temporal before Trellis noticed', () => {
  it('cancelRun records the termination and refuses, naming it, instead of an internal error', async () => {
    const run = await waitingRun(slow);
    await operator.client.workflow.getHandle(run.temporal.workflowId).terminate('gone');
    expect((await getRun(slow, run.id)).status).toBe('RUNNING'); // the reconciler has not looked yet
    const cancel = await refusal(slow, CANCEL, { id: run.id });
    expect(cancel).toEqual({ code: 'CONFLICT', message: expect.stringMatching(new RegExp(`^run ${run.id} is already TERMINATED \\(terminated in Temporal by ".+": gone\\. .*\\): only a running run can be cancelled$`)) });
    expect(eventTrail(await getRun(slow, run.id)).at(-1)).toBe('RUN_TERMINATED');
  });

  it('signalRun records the deletion and refuses, naming it', async () => {
    const run = await waitingRun(slow);
    await deleteExecution(operator.client, run.temporal.workflowId);
    const signal = await refusal(slow, SIGNAL, { id: run.id });
    expect(signal).toEqual({ code: 'CONFLICT', message: expect.stringMatching(new RegExp(`^run ${run.id} ended outside Trellis at .*: its workflow was deleted from Temporal: only a running run takes signals$`)) });
    const now = await getRun(slow, run.id);
    expect(now).toMatchObject({ status: 'TERMINATED', error: { type: 'WorkflowDeleted' } });
  });

  it('retryRun plans the retry of a run terminated a moment ago instead of calling it RUNNING', async () => {
    const run = await waitingRun(slow);
    await operator.client.workflow.getHandle(run.temporal.workflowId).terminate('gone');
    const plan = await slow.gql(RETRY_PLAN, { id: run.id });
    expect(plan.retryRun).toEqual({ status: 'PLANNED', retryPlan: { reused: [{ stepId: 'settle' }, { stepId: 'charge' }], rerun: ['approve'] } });
  });

  it('cancelRun of a run already cancelled says so, with who cancelled it', async () => {
    const run = await waitingRun(slow);
    await slow.gql(CANCEL, { id: run.id });
    await recorded(slow, run, 'CANCELLED');
    const again = await refusal(slow, CANCEL, { id: run.id });
    expect(again).toEqual({
      code: 'CONFLICT',
      message: expect.stringMatching(new RegExp(`^run ${run.id} is already CANCELLED \\(cancelled by api default: too late; every compensation succeeded, at .+\\): only a running run can be cancelled$`)),
    });
  });
});

describe('a run whose workflow disappears or times out in Temporal', () => {
  it('is recorded TERMINATED when its workflow is deleted', async () => {
    const run = await waitingRun(ctx);
    await deleteExecution(operator.client, run.temporal.workflowId);
    const now = await recorded(ctx, run, 'TERMINATED');
    expect(now.events.at(-1)).toMatchObject({
      type: 'RUN_TERMINATED',
      error: { type: 'WorkflowDeleted', message: 'its workflow was deleted from Temporal', details: { notCompensated: ['charge'], stopped: ['approve'] } },
    });
  });

  it('is recorded TERMINATED when a workflow execution timeout ends it', async () => {
    // Trellis sets no execution timeout; a run started as the API does, but with one, has it.
    await save(ctx, { name: 'hold', steps: { approve: { type: 'wait', signal: 'approval' } } });
    const taskQueue = await taskQueueOf(ctx);
    const id = randomUUID();
    const workflowId = `default/hold/${id}`;
    const { row } = await insertRun(ctx.trellis.db, {
      id, tenant_id: 'default', definition_name: 'hold', definition_version: 1, status: 'RUNNING', input: '{}',
      trigger: JSON.stringify({ type: 'api', id: 'default' }), workflow_id: workflowId, started_at: new Date(),
    });
    const snapshot: RunSnapshot = {
      runId: id, tenantId: 'default', definitionName: 'hold', definitionVersion: 1, definition: { name: 'hold', steps: { approve: { type: 'wait', signal: 'approval' } } } as RunSnapshot['definition'],
      input: {}, trigger: { type: 'api', id: 'default' }, requestedAt: row.started_at.toISOString(), library: {}, depth: 1,
    };
    await ctx.trellis.client.workflow.start('trellisRun', { taskQueue, workflowId, args: [snapshot], workflowExecutionTimeout: '3s' });
    const run = { id, temporal: { workflowId } };
    const now = await recorded(ctx, run, 'TERMINATED');
    expect(eventTrail(now)).toEqual(['RUN_STARTED', 'STEP_STARTED:approve', 'RUN_TERMINATED']);
    expect(now.error).toMatchObject({ type: 'WorkflowExecutionTimedOut', message: expect.stringMatching(/^its workflow execution timed out in Temporal/) });
    expect(stepOf(now, 'approve').status).toBe('CANCELLED');
  });
});

describe('a run reset in Temporal', () => {
  it('goes on as the new execution: the trail shows the reset, then the steps run again, with nothing dropped or repeated', async () => {
    const run = await waitingRun(ctx);
    const before = await getRun(ctx, run.id);
    const charges = stub.received('POST /charges').length;
    const first = await temporalRunIdOf(ctx, run);
    const resetTo = await taskThatScheduled(operator.client, { workflowId: run.temporal.workflowId, runId: first }, 'httpRequest');
    const second = await resetExecution(operator.client, { workflowId: run.temporal.workflowId, runId: first }, resetTo, 'charge again');

    await until('the run waits for approval again', async () => (await getRun(ctx, run.id)).events.filter((e) => e.type === 'STEP_STARTED' && e.stepId === 'approve').length === 2, NOTICED_WITHIN_MS);
    const reset = await getRun(ctx, run.id);
    expect(reset.events.slice(0, before.events.length)).toEqual(before.events);
    const resetEvent = reset.events[before.events.length]!;
    expect(resetEvent).toMatchObject({ type: 'RUN_RESET', output: { reason: 'charge again', fromTemporalRunId: first, temporalRunId: second, fromEventId: expect.any(Number) } });
    expect(resetEvent.message).toMatch(/^reset in Temporal \(reason: charge again\): the run goes on as Temporal run /);
    expect(eventTrail(reset).slice(before.events.length + 1)).toEqual(expect.arrayContaining(['STEP_STARTED:charge', 'STEP_SUCCEEDED:charge', 'STEP_STARTED:approve']));
    expect(reset).toMatchObject({ status: 'RUNNING', temporal: { runId: second } });
    // The charge was sent again, as the same request to its target.
    const sent = stub.received('POST /charges').slice(charges - 1);
    expect(sent).toHaveLength(2);
    expect(sent[1]!.headers['idempotency-key']).toBe(sent[0]!.headers['idempotency-key']);

    await ctx.gql(SIGNAL, { id: run.id });
    await recorded(ctx, run, 'COMPLETED');
    const done = await getRun(ctx, run.id);
    expect(eventTrail(done).slice(-3)).toEqual(['SIGNAL_RECEIVED:approve', 'STEP_SUCCEEDED:approve', 'RUN_COMPLETED']);
    expectNoGapNorRepeat(done);
  });

  it('is refused when the run has ended: the reset execution fails and the trail stays as it was', async () => {
    const run = await startRunOf(ctx, { name: 'quick', steps: { t: { type: 'transform', value: 1 } } });
    const done = await recorded(ctx, run, 'COMPLETED');
    const first = await temporalRunIdOf(ctx, run);
    const resetTo = (await operator.client.workflow.getHandle(run.temporal.workflowId, first).fetchHistory()).events!.find((e) => e.workflowTaskCompletedEventAttributes)!.eventId!;
    const second = await resetExecution(operator.client, { workflowId: run.temporal.workflowId, runId: first }, Number(resetTo.toString()), 'again');
    const failure = await ctx.trellis.client.workflow.getHandle(run.temporal.workflowId, second).result().then(() => undefined, (err: unknown) => err);
    expect(failure).toBeInstanceOf(WorkflowFailedError);
    expect(String((failure as WorkflowFailedError).cause?.message)).toContain('it is a reset of that execution, but the run has ended COMPLETED: a reset cannot reopen an ended run (use retryRun)');
    expect(await getRun(ctx, run.id)).toEqual(done);
  });

  it('never accepts a workflow merely started with a running run’s workflow id: it is refused and the run is recorded TERMINATED', async () => {
    const run = await waitingRun(ctx);
    const taskQueue = await taskQueueOf(ctx);
    const forged: RunSnapshot = {
      runId: run.id, tenantId: 'default', definitionName: 'pay', definitionVersion: 1,
      definition: { name: 'pay', steps: { steal: { type: 'http', method: 'POST', url: `${stub.url}/steal` } } } as RunSnapshot['definition'],
      input: {}, trigger: { type: 'api', id: 'attacker' }, requestedAt: new Date().toISOString(), library: {}, depth: 1,
    };
    const handle = await operator.client.workflow.start('trellisRun', { taskQueue, workflowId: run.temporal.workflowId, args: [forged], workflowIdConflictPolicy: 'TERMINATE_EXISTING' });
    // Read through Trellis's client: the failure is encrypted in Temporal.
    const failure = await ctx.trellis.client.workflow.getHandle(run.temporal.workflowId, handle.firstExecutionRunId).result().then(() => undefined, (err: unknown) => err);
    expect(failure).toBeInstanceOf(WorkflowFailedError);
    expect(String((failure as WorkflowFailedError).cause?.message)).toContain('Temporal records no reset of that execution into this one');
    const now = await recorded(ctx, run, 'TERMINATED');
    expect(now.events.some((event) => event.type === 'RUN_RESET')).toBe(false);
    expect(stub.received('POST /steal')).toHaveLength(0);
  });
});
