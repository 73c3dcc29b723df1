import { WorkflowFailedError, type Client } from '@temporalio/client';
import { createApiKey } from '../../src/api/api-keys';
import { fireActionWorkflowId } from '../../src/triggers/schedule-ids';
import { graphql } from '../support/graphql-client';
import { rawTemporalClient } from '../support/raw-temporal';
import { createTestContext, type TestContext } from '../support/test-context';
import { until } from '../support/until';

/**
 * Schedules on Temporal Schedules (SPEC §7a): every fire is its own run with its own trail,
 * pause/resume, triggerSchedule, checks at creation and at each fire, a forged fire refused,
 * tenants kept apart.
 */

let ctx: TestContext;
let attacker: { client: Client; close(): Promise<void> };
const keys = { a: '', b: '' };

async function as<T = any>(tenant: 'a' | 'b', query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const result = await graphql<T>(ctx.graphqlUrl, query, variables, keys[tenant]);
  if (result.errors?.length || !result.data) throw new Error(`GraphQL errors: ${JSON.stringify(result.errors)}`);
  return result.data;
}

async function errorOf(tenant: 'a' | 'b', query: string, variables: Record<string, unknown> = {}) {
  return (await graphql(ctx.graphqlUrl, query, variables, keys[tenant])).errors?.[0];
}

const SCHEDULE_FIELDS = 'id definition cron every timezone input overlap paused nextFireTimes lastError temporalScheduleId';
const CREATE = `mutation($definition: String!, $cron: String, $every: String, $timezone: String, $input: JSON, $overlap: ScheduleOverlap) {
  createSchedule(definition: $definition, cron: $cron, every: $every, timezone: $timezone, input: $input, overlap: $overlap) { ${SCHEDULE_FIELDS} }
}`;
const SAVE = 'mutation($spec: JSON!) { saveDefinition(spec: $spec) { version } }';

const tick = {
  name: 'tick',
  input: { type: 'object', required: ['n'], properties: { n: { type: 'integer' } } },
  steps: { done: { type: 'transform', value: '{% $input.n + 1 %}' } },
};

const scheduleRuns = (scheduleId: string) =>
  ctx.trellis.db
    .selectFrom('runs')
    .select(['id', 'status', 'trigger', 'tenant_id'])
    .where('trigger', '@>', JSON.stringify({ type: 'schedule', id: scheduleId }) as never)
    .orderBy('started_at')
    .execute();

beforeAll(async () => {
  [ctx, attacker] = await Promise.all([createTestContext(), rawTemporalClient()]);
  keys.a = (await createApiKey(ctx.trellis.db, 'a', 'test', true)).secret;
  keys.b = (await createApiKey(ctx.trellis.db, 'b', 'test', true)).secret;
  await as('a', SAVE, { spec: tick });
  await as('b', SAVE, { spec: tick });
});

afterAll(async () => {
  // Schedules live in the shared Temporal server: delete what this file created.
  for (const tenant of ['a', 'b'] as const) {
    const { schedules } = await as(tenant, '{ schedules { id } }').catch(() => ({ schedules: [] as Array<{ id: string }> }));
    for (const { id } of schedules) await as(tenant, 'mutation($id: ID!) { deleteSchedule(id: $id) }', { id }).catch(() => undefined);
  }
  await Promise.all([ctx?.stop(), attacker?.close()]);
});

describe('createSchedule', () => {
  it('refuses every problem at once, located: cron fields, both or neither timing, time zone, input', async () => {
    const fourFields = await errorOf('a', CREATE, { definition: 'tick', cron: '0 3 * *', input: { n: 1 } });
    expect(fourFields?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', errors: [{ path: '/cron', message: expect.stringMatching(/5 fields/) }] });
    const badValue = await errorOf('a', CREATE, { definition: 'tick', cron: '61 3 * * MON', timezone: 'Mars/Olympus', input: { n: 1 } });
    expect(badValue?.extensions?.errors).toEqual([expect.objectContaining({ path: '/cron', message: expect.stringMatching(/minute/) }), expect.objectContaining({ path: '/timezone' })]);
    expect((await errorOf('a', CREATE, { definition: 'tick', cron: '0 3 * * *', every: '30s', input: { n: 1 } }))?.extensions?.errors).toEqual([expect.objectContaining({ path: '/every' })]);
    expect((await errorOf('a', CREATE, { definition: 'tick', input: { n: 1 } }))?.extensions?.errors).toEqual([expect.objectContaining({ path: '/cron' })]);
    expect((await errorOf('a', CREATE, { definition: 'tick', every: '0.1s', input: { n: 1 } }))?.extensions?.errors).toEqual([expect.objectContaining({ path: '/every' })]);
    const input = await errorOf('a', CREATE, { definition: 'tick', every: '1h', input: { n: 'one' } });
    expect(input?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', errors: [expect.objectContaining({ path: expect.stringMatching(/^\/input/) })] });
    expect((await errorOf('a', CREATE, { definition: 'nope', every: '1h' }))?.extensions?.code).toBe('NOT_FOUND');
    expect((await as('a', '{ schedules { id } }')).schedules).toEqual([]);
  });

  it('creates a Temporal Schedule named <tenant>/<definition>/<id> with the cron, time zone and next fire times', async () => {
    const { createSchedule } = await as('a', CREATE, { definition: 'tick', cron: '0 3 * * MON-FRI', timezone: 'Europe/Paris', input: { n: 1 } });
    expect(createSchedule).toMatchObject({ cron: '0 3 * * MON-FRI', timezone: 'Europe/Paris', overlap: 'SKIP', paused: false, temporalScheduleId: `a/tick/${createSchedule.id}` });
    expect(createSchedule.nextFireTimes.length).toBeGreaterThan(0);
    // 03:00 in Paris is 01:00 or 02:00 UTC.
    expect(new Date(createSchedule.nextFireTimes[0]).getUTCHours()).toBeLessThan(3);
    const description = await ctx.trellis.client.schedule.getHandle(createSchedule.temporalScheduleId).describe();
    expect(description.spec.timezone).toBe('Europe/Paris');
    expect(description.action).toMatchObject({ workflowType: 'trellisScheduleFire' });
    expect(await as('a', 'mutation($id: ID!) { deleteSchedule(id: $id) }', { id: createSchedule.id })).toEqual({ deleteSchedule: true });
    await expect(ctx.trellis.client.schedule.getHandle(createSchedule.temporalScheduleId).describe()).rejects.toThrow(/not found/i);
  });
});

describe('a schedule with every', () => {
  it('fires at least twice, two runs with their own trails; paused it does not fire; resumed it fires again', async () => {
    const { createSchedule: schedule } = await as('a', CREATE, { definition: 'tick', every: '2s', input: { n: 41 } });
    await until('two fires have completed their runs', async () => (await scheduleRuns(schedule.id)).filter((run) => run.status === 'COMPLETED').length >= 2, 60_000);
    const runs = (await scheduleRuns(schedule.id)).slice(0, 2);
    expect(new Set(runs.map((run) => run.id)).size).toBe(2);
    const firedAt = runs.map((run) => (run.trigger as { firedAt: string }).firedAt);
    expect(firedAt[0]).not.toBe(firedAt[1]);
    for (const run of runs) {
      const { run: view } = await as('a', 'query($id: ID!) { run(id: $id) { output trigger events(first: 20) { edges { node { type } } } } }', { id: run.id });
      expect(view.trigger).toEqual({ type: 'schedule', id: schedule.id, firedAt: expect.any(String) });
      expect(view.events.edges.map((edge: any) => edge.node.type)).toEqual(['RUN_STARTED', 'STEP_STARTED', 'STEP_SUCCEEDED', 'RUN_COMPLETED']);
    }

    const { pauseSchedule } = await as('a', `mutation($id: ID!) { pauseSchedule(id: $id) { ${SCHEDULE_FIELDS} } }`, { id: schedule.id });
    expect(pauseSchedule).toMatchObject({ paused: true, nextFireTimes: [] });
    const handle = ctx.trellis.client.schedule.getHandle(schedule.temporalScheduleId);
    expect((await handle.describe()).state.paused).toBe(true);
    // A fire already on its way when the pause landed may still record its run: count after it.
    await until('no fire of the schedule is running', async () => (await handle.describe()).info.runningActions.length === 0);
    const taken = (await handle.describe()).info.numActionsTaken;
    const countPaused = (await scheduleRuns(schedule.id)).length;

    const { resumeSchedule } = await as('a', `mutation($id: ID!) { resumeSchedule(id: $id) { paused nextFireTimes } }`, { id: schedule.id });
    expect(resumeSchedule.paused).toBe(false);
    expect(resumeSchedule.nextFireTimes.length).toBeGreaterThan(0);
    await until('a fire after the resume records a run', async () => (await scheduleRuns(schedule.id)).length > countPaused, 30_000);
    expect((await handle.describe()).info.numActionsTaken).toBeGreaterThan(taken);
    await as('a', 'mutation($id: ID!) { deleteSchedule(id: $id) }', { id: schedule.id });
  });
});

describe('triggerSchedule', () => {
  it('fires now and returns the run it started, and refuses a fire whose input the definition no longer accepts', async () => {
    const { createSchedule: schedule } = await as('a', CREATE, { definition: 'tick', cron: '0 0 1 1 *', input: { n: 1 } });
    const { triggerSchedule } = await as('a', 'mutation($id: ID!) { triggerSchedule(id: $id) { id definition input trigger } }', { id: schedule.id });
    expect(triggerSchedule).toMatchObject({ definition: 'tick', input: { n: 1 }, trigger: { type: 'schedule', id: schedule.id, firedAt: expect.any(String) } });
    await until('the triggered run completes', async () => (await as('a', 'query($id: ID!) { run(id: $id) { status } }', { id: triggerSchedule.id })).run.status === 'COMPLETED');

    // The input is checked again at every fire, against the version the fire pins.
    await as('a', SAVE, { spec: { ...tick, input: { type: 'object', required: ['m'], properties: { m: { type: 'string' } } } } });
    try {
      const refused = await errorOf('a', 'mutation($id: ID!) { triggerSchedule(id: $id) { id } }', { id: schedule.id });
      expect(refused).toMatchObject({ extensions: { code: 'BAD_USER_INPUT' }, message: expect.stringMatching(/started no run: input does not match the input schema/) });
      const { schedules } = await as('a', '{ schedules { id lastError } }');
      expect(schedules.find((s: any) => s.id === schedule.id).lastError).toMatch(/input does not match/);
    } finally {
      // The tests after this one schedule `tick` with the input it accepted before.
      await as('a', SAVE, { spec: tick });
    }
  });
});

describe('a forged fire', () => {
  it('is refused: a trellisScheduleFire started by hand, not by the schedule, records no run', async () => {
    const { createSchedule: schedule } = await as('a', CREATE, { definition: 'tick', cron: '0 0 1 1 *', input: { n: 1 } });
    const before = (await scheduleRuns(schedule.id)).length;
    const { taskQueue } = await ctx.trellis.client.schedule.getHandle(schedule.temporalScheduleId).describe().then((d) => d.action as { taskQueue: string });
    const handle = await attacker.client.workflow.start('trellisScheduleFire', {
      taskQueue,
      workflowId: `${fireActionWorkflowId({ tenant_id: 'a', definition_name: 'tick', id: schedule.id })}-2026-01-01T00:00:00Z`,
      args: [{ tenantId: 'a', scheduleId: schedule.id }],
      workflowExecutionTimeout: '2 minutes',
    });
    // Read with Trellis's own client: the worker encrypts what it records (the payload codec).
    const failure = await ctx.trellis.client.workflow.getHandle(handle.workflowId, handle.firstExecutionRunId).result().then(() => undefined, (err: unknown) => err);
    expect(failure).toBeInstanceOf(WorkflowFailedError);
    expect(String((failure as WorkflowFailedError).cause?.message)).toMatch(/not a fire Trellis's schedule started/);
    expect(await scheduleRuns(schedule.id)).toHaveLength(before);
  }, 90_000);
});

describe('tenant isolation', () => {
  it('keeps tenant b from listing, pausing, resuming, triggering or deleting a\'s schedules', async () => {
    const { createSchedule: schedule } = await as('a', CREATE, { definition: 'tick', cron: '0 0 1 1 *', input: { n: 1 } });
    expect((await as('b', '{ schedules { id } }')).schedules.map((s: any) => s.id)).not.toContain(schedule.id);
    for (const mutation of ['pauseSchedule', 'resumeSchedule']) {
      expect((await errorOf('b', `mutation($id: ID!) { ${mutation}(id: $id) { id } }`, { id: schedule.id }))?.extensions?.code).toBe('NOT_FOUND');
    }
    expect((await errorOf('b', 'mutation($id: ID!) { triggerSchedule(id: $id) { id } }', { id: schedule.id }))?.extensions?.code).toBe('NOT_FOUND');
    expect((await as('b', 'mutation($id: ID!) { deleteSchedule(id: $id) }', { id: schedule.id })).deleteSchedule).toBe(false);
    const description = await ctx.trellis.client.schedule.getHandle(schedule.temporalScheduleId).describe();
    expect(description.state.paused).toBe(false);
  });
});
