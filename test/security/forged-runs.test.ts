import { randomUUID } from 'node:crypto';
import { WorkflowFailedError, type Client } from '@temporalio/client';
import type { MapBatch } from '../../interpreter/map-step';
import type { RunSnapshot } from '../../interpreter/run-types';
import { createApiKey } from '../../src/api/api-keys';
import { graphql } from '../support/graphql-client';
import { HttpStub } from '../support/http-stub';
import { rawTemporalClient } from '../support/raw-temporal';
import { createTestContext, type TestContext } from '../support/test-context';
import { until } from '../support/until';

/**
 * Someone who reaches Temporal directly (as tenant B did through the Web UI's HTTP API from an
 * `http` step) starts Trellis's workflows with snapshots of their own making. The worker must not
 * act for any of them: no secret resolved, no request sent, no row or audit event written.
 */

const SECRET = 'a-pay-token-5c81e0f3d9b7';

let ctx: TestContext;
let stub: HttpStub;
let attacker: { client: Client; close(): Promise<void> };
let taskQueue: string;
const keys = { a: '', b: '' };
/** Tenant a's genuine runs: a finished one of "charge", and a "parent" waiting for a signal. */
let charged: { id: string; workflowId: string; temporalRunId: string };
let waiting: { id: string; workflowId: string };

async function as<T = any>(tenant: 'a' | 'b', query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const result = await graphql<T>(ctx.graphqlUrl, query, variables, keys[tenant]);
  if (result.errors?.length || !result.data) throw new Error(`GraphQL errors: ${JSON.stringify(result.errors)}`);
  return result.data;
}

const chargeSpec = (path: string) => ({
  name: 'charge',
  steps: {
    charge: { type: 'http', method: 'POST', url: `${stub.url}${path}`, headers: { authorization: "Bearer {% $secret('PAY_TOKEN') %}" }, retry: { maxAttempts: 1 } },
  },
});

beforeAll(async () => {
  [ctx, stub, attacker] = await Promise.all([
    createTestContext(),
    new HttpStub().start(),
    rawTemporalClient(),
  ]);
  stub.on('POST /charge', { body: { ok: true } });
  stub.on('POST /steal', { body: { ok: true } });
  keys.a = (await createApiKey(ctx.trellis.db, 'a', 'test', true)).secret;
  keys.b = (await createApiKey(ctx.trellis.db, 'b', 'test', true)).secret;
  await as('a', 'mutation($value: String!) { setSecret(name: "PAY_TOKEN", value: $value) }', { value: SECRET });
  await as('a', 'mutation($spec: JSON!) { saveDefinition(spec: $spec) { version } }', { spec: chargeSpec('/charge') });
  await as('a', 'mutation($spec: JSON!) { saveDefinition(spec: $spec) { version } }', { spec: { name: 'parent', steps: { approve: { type: 'wait', signal: 'go', timeout: '1h' } } } });

  const { startRun } = await as('a', 'mutation { startRun(definition: "charge") { id temporal { workflowId } } }');
  const handle = ctx.trellis.client.workflow.getHandle(startRun.temporal.workflowId);
  await handle.result();
  const description = await handle.describe();
  taskQueue = description.taskQueue;
  charged = { id: startRun.id, workflowId: startRun.temporal.workflowId, temporalRunId: description.runId };
  const parent = await as('a', 'mutation { startRun(definition: "parent") { id temporal { workflowId } } }');
  waiting = { id: parent.startRun.id, workflowId: parent.startRun.temporal.workflowId };
  await until('the parent run waits', async () => (await as('a', 'query($id: ID!) { run(id: $id) { steps { status } } }', { id: waiting.id })).run.steps[0]?.status === 'WAITING');
});

afterAll(async () => {
  if (waiting) await as('a', 'mutation($id: ID!) { cancelRun(id: $id) { id } }', { id: waiting.id }).catch(() => undefined);
  await Promise.all([ctx?.stop(), stub?.stop(), attacker?.close()]);
});

/** A snapshot as the attacker writes it: tenant a's run of "charge", sending a's secret to the attacker. */
function forgedSnapshot(overrides: Partial<RunSnapshot> = {}): RunSnapshot {
  return {
    runId: randomUUID(),
    tenantId: 'a',
    definitionName: 'charge',
    definitionVersion: 1,
    definition: chargeSpec('/steal') as RunSnapshot['definition'],
    input: {},
    trigger: { type: 'api', id: 'attacker' },
    requestedAt: new Date().toISOString(),
    library: {},
    depth: 1,
    ...overrides,
  };
}

/** Starts a workflow as the attacker does: no Trellis data converter, plaintext input. */
async function startAsAttacker(workflowType: 'trellisRun' | 'trellisMapBatch', workflowId: string, input: unknown): Promise<string> {
  const handle = await attacker.client.workflow.start(workflowType, { taskQueue, workflowId, args: [input] });
  return handle.firstExecutionRunId;
}

/** Waits for the forged execution to end and returns how it failed. */
async function failureOf(workflowId: string, runId: string): Promise<string> {
  const outcome = await ctx.trellis.client.workflow.getHandle(workflowId, runId).result().then(
    () => 'completed',
    (err: unknown) => err,
  );
  expect(outcome).toBeInstanceOf(WorkflowFailedError);
  const messages: string[] = [];
  for (let cause: unknown = outcome; cause instanceof Error; cause = cause.cause) messages.push(cause.message);
  return messages.join(' <- ');
}

async function runIds(tenant: 'a' | 'b'): Promise<string[]> {
  const { runs } = await as(tenant, '{ runs(first: 100) { edges { node { id } } } }');
  return runs.edges.map((edge: { node: { id: string } }) => edge.node.id).sort();
}

async function eventCount(runId: string): Promise<number> {
  const row = await ctx.trellis.db.selectFrom('audit_events').select((eb) => eb.fn.countAll<string>().as('n')).where('run_id', '=', runId).executeTakeFirstOrThrow();
  return Number(row.n);
}

/** What must hold after every forged start: nothing reached the attacker's target, no run list changed. */
async function expectNothingDone(): Promise<void> {
  expect(stub.received('POST /steal')).toEqual([]);
  expect(stub.requests.filter((request) => JSON.stringify(request.headers).includes(SECRET))).toHaveLength(1); // the genuine run's
  expect(await runIds('a')).toEqual([charged.id, waiting.id].sort());
  expect(await runIds('b')).toEqual([]);
}

describe('runs started outside Trellis', () => {
  it("are refused, though a genuine run of the tenant reads its secret and sends it", async () => {
    // The control: the secret path works, so the refusals below are not vacuous.
    expect(stub.received('POST /charge')).toHaveLength(1);
    expect(stub.received('POST /charge')[0]!.headers.authorization).toBe(`Bearer ${SECRET}`);
    const snapshot = forgedSnapshot();
    const workflowId = `a/charge/${snapshot.runId}`;
    const runId = await startAsAttacker('trellisRun', workflowId, snapshot);
    expect(await failureOf(workflowId, runId)).toMatch(/refused: workflow "a\/charge\/[0-9a-f-]+" \(Temporal run [0-9a-f-]+\) is not a run Trellis started: no run has this workflow id/);
    expect(await ctx.trellis.db.selectFrom('runs').select('id').where('id', '=', snapshot.runId).executeTakeFirst()).toBeUndefined();
    expect(await eventCount(snapshot.runId)).toBe(0);
    await expectNothingDone();
  });

  it("are refused when they reuse a real run's id under another workflow id, and the real run is untouched", async () => {
    const before = await eventCount(charged.id);
    const snapshot = forgedSnapshot({ runId: charged.id });
    const workflowId = `a/charge/${randomUUID()}`;
    const runId = await startAsAttacker('trellisRun', workflowId, snapshot);
    expect(await failureOf(workflowId, runId)).toMatch(/refused: .* not a run Trellis started: no run has this workflow id/);
    expect(await eventCount(charged.id)).toBe(before);
    const row = await ctx.trellis.db.selectFrom('runs').selectAll().where('id', '=', charged.id).executeTakeFirstOrThrow();
    expect({ workflowId: row.workflow_id, temporalRunId: row.temporal_run_id, status: row.status }).toEqual({ workflowId: charged.workflowId, temporalRunId: charged.temporalRunId, status: 'COMPLETED' });
    await expectNothingDone();
  });

  it("are refused when they reuse a finished run's workflow id and snapshot, and the real run is untouched", async () => {
    const before = await eventCount(charged.id);
    const snapshot = forgedSnapshot({ runId: charged.id });
    const runId = await startAsAttacker('trellisRun', charged.workflowId, snapshot);
    expect(runId).not.toBe(charged.temporalRunId);
    expect(await failureOf(charged.workflowId, runId)).toContain(`belongs to run ${charged.id}, started as Temporal run ${charged.temporalRunId}, not ${runId}`);
    expect(await eventCount(charged.id)).toBe(before);
    const row = await ctx.trellis.db.selectFrom('runs').selectAll().where('id', '=', charged.id).executeTakeFirstOrThrow();
    expect({ temporalRunId: row.temporal_run_id, status: row.status }).toEqual({ temporalRunId: charged.temporalRunId, status: 'COMPLETED' });
    await expectNothingDone();
  });

  it('are refused when they claim to be the child run of a running parent that never started them', async () => {
    const before = await eventCount(waiting.id);
    const snapshot = forgedSnapshot({ trigger: { type: 'workflow', id: waiting.id, stepId: 'approve' }, depth: 2 });
    const workflowId = `a/charge/${snapshot.runId}`;
    const runId = await startAsAttacker('trellisRun', workflowId, snapshot);
    expect(await failureOf(workflowId, runId)).toContain(`its input names parent run ${waiting.id}, but Temporal records no parent execution`);
    expect(await ctx.trellis.db.selectFrom('runs').select('id').where('id', '=', snapshot.runId).executeTakeFirst()).toBeUndefined();
    expect(await eventCount(snapshot.runId)).toBe(0);
    expect(await eventCount(waiting.id)).toBe(before);
    await expectNothingDone();
  });

  it("are refused when they pose as a map batch of a tenant's running run", async () => {
    const startedAt = new Date().toISOString();
    const batch: MapBatch = {
      job: {
        context: {
          runId: waiting.id,
          tenantId: 'a',
          workflowId: waiting.workflowId,
          input: {},
          run: { id: waiting.id, definition: 'parent', version: 1, startedAt, attempt: 1 },
          library: {},
          depth: 1,
          actor: { type: 'api', id: 'attacker' },
        },
        stepId: 'each',
        action: chargeSpec('/steal').steps.charge as MapBatch['job']['action'],
        outerSteps: {},
        keyPrefix: `${waiting.id}:`,
      },
      items: [1],
      offset: 0,
      concurrency: 1,
    };
    // A workflow id as the run's own batches have.
    const workflowId = `${waiting.workflowId}/each/batch-0`;
    const runId = await startAsAttacker('trellisMapBatch', workflowId, batch);
    expect(await failureOf(workflowId, runId)).toContain('is not a run Trellis started: a map batch that no run started');
    await expectNothingDone();
  });
});
