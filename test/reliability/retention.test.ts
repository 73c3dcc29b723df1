import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import type { RetentionSummary } from '../../interpreter/retention.workflow';
import { registerRetentionSchedule, retentionScheduleId } from '../../src/temporal/retention-schedule';
import { createTestContext, type TestContext } from '../support/test-context';
import { until } from '../support/until';

/**
 * Retention: the Temporal Schedule Trellis registers deletes finished runs older than
 * TRELLIS_RETENTION_DAYS with their events and steps, in bounded batches, and nothing else.
 */

const BATCH_SIZE = 100;
const taskQueue = `retention-${randomUUID()}`;
let ctx: TestContext;

beforeAll(async () => {
  ctx = await createTestContext({ env: { TRELLIS_TASK_QUEUE: taskQueue, TRELLIS_RETENTION_DAYS: '30', TRELLIS_RETENTION_BATCH_SIZE: String(BATCH_SIZE) } });
});

afterAll(async () => {
  await ctx?.trellis.client.schedule.getHandle(retentionScheduleId(taskQueue)).delete().catch(() => undefined);
  await ctx?.stop();
});

type Seed = { name: string; status: string; ageDays: number; finished: boolean; events: number; trigger?: object; retryOf?: string };

/** Inserts runs as the worker would have left them, each with `events` audit events and one step. */
async function seed(count: number, run: Seed, on: TestContext = ctx): Promise<string[]> {
  const ids = Array.from({ length: count }, () => randomUUID());
  const at = sql`now() - make_interval(days => ${run.ageDays})`;
  await sql`
    insert into runs (id, tenant_id, definition_name, definition_version, status, input, trigger, workflow_id, retry_of, started_at, finished_at)
    select id, 'default', ${run.name}, 1, ${run.status}, '{}', ${JSON.stringify(run.trigger ?? { type: 'api', id: 'default' })}::jsonb,
           'default/' || ${run.name} || '/' || id, ${run.retryOf ?? null}::uuid, ${at}, ${run.finished ? at : null}
    from unnest(${ids}::uuid[]) as id`.execute(on.trellis.db);
  await sql`
    insert into audit_events (run_id, seq, event_key, tenant_id, at, type, step_id, attempt, actor)
    select id, s, 'STEP_STARTED:s:' || s || ':', 'default', ${at}, 'STEP_STARTED', 's', s, '{"type":"api","id":"default"}'
    from unnest(${ids}::uuid[]) as id cross join generate_series(1, ${run.events}) as s`.execute(on.trellis.db);
  await sql`
    insert into run_steps (run_id, step_id, tenant_id, type, status)
    select id, 's', 'default', 'transform', 'SUCCEEDED' from unnest(${ids}::uuid[]) as id`.execute(on.trellis.db);
  return ids;
}

async function rowsOf(ids: string[], on: TestContext = ctx): Promise<{ runs: number; events: number; steps: number }> {
  const count = async (table: string, column: string) =>
    Number((await sql<{ n: string }>`select count(*) as n from ${sql.table(table)} where ${sql.ref(column)} = any(${ids}::uuid[])`.execute(on.trellis.db)).rows[0]!.n);
  return { runs: await count('runs', 'id'), events: await count('audit_events', 'run_id'), steps: await count('run_steps', 'run_id') };
}

describe('the retention schedule', () => {
  it('is registered once at start, and stays one schedule when another process starts', async () => {
    const handle = ctx.trellis.client.schedule.getHandle(retentionScheduleId(taskQueue));
    const description = await handle.describe();
    expect(description.action).toMatchObject({ type: 'startWorkflow', workflowType: 'trellisRetention', taskQueue });
    expect(description.spec.intervals).toEqual([expect.objectContaining({ every: 3_600_000 })]);
    expect(description.state.note).toContain('more than 30 days ago');

    // What a second process with a worker does at its start.
    expect(await registerRetentionSchedule(ctx.trellis.client, { taskQueue, days: 30 })).toBe('updated');
    const ids: string[] = [];
    for await (const schedule of ctx.trellis.client.schedule.list()) if (schedule.scheduleId.includes(taskQueue)) ids.push(schedule.scheduleId);
    expect(ids).toEqual([retentionScheduleId(taskQueue)]);
  });
});

describe('a retention run', () => {
  it('deletes old finished runs in batches, and keeps recent runs, runs in flight and children of runs in flight', async () => {
    const old = await seed(20, { name: 'old', status: 'COMPLETED', ageDays: 40, finished: true, events: 100 });
    const oldFailed = await seed(3, { name: 'old-failed', status: 'TERMINATED', ageDays: 31, finished: true, events: 5 });
    const recent = await seed(3, { name: 'recent', status: 'COMPLETED', ageDays: 29, finished: true, events: 5 });
    const running = await seed(2, { name: 'running', status: 'RUNNING', ageDays: 40, finished: false, events: 5 });
    const compensating = await seed(1, { name: 'compensating', status: 'COMPENSATING', ageDays: 40, finished: false, events: 5 });
    const childOfRunning = await seed(1, { name: 'child', status: 'COMPLETED', ageDays: 40, finished: true, events: 5, trigger: { type: 'workflow', id: running[0], stepId: 'sub' } });
    const childOfOld = await seed(1, { name: 'child', status: 'COMPLETED', ageDays: 40, finished: true, events: 5, trigger: { type: 'workflow', id: old[0], stepId: 'sub' } });
    const retryOfOld = await seed(1, { name: 'old', status: 'COMPLETED', ageDays: 1, finished: true, events: 5, retryOf: old[1] });

    const schedule = ctx.trellis.client.schedule.getHandle(retentionScheduleId(taskQueue));
    await schedule.trigger();
    await until('the schedule started the retention workflow', async () => (await schedule.describe()).info.recentActions.length > 0);
    const { workflow } = (await schedule.describe()).info.recentActions[0]!.action;
    const summary: RetentionSummary = await ctx.trellis.client.workflow.getHandle(workflow.workflowId, workflow.firstExecutionRunId).result();

    const deletedEvents = 20 * 100 + 3 * 5 + 5;
    expect(summary.deleted).toEqual({ audit_events: deletedEvents, run_steps: 20 + 3 + 1, runs: 20 + 3 + 1 });
    // No statement deleted more than the batch size: 2,020 events took at least 21 of them.
    expect(summary.batches).toBeGreaterThanOrEqual(Math.ceil(deletedEvents / BATCH_SIZE) + 2);
    expect(await rowsOf([...old, ...oldFailed, ...childOfOld])).toEqual({ runs: 0, events: 0, steps: 0 });
    for (const kept of [recent, running, compensating, childOfRunning, retryOfOld]) {
      expect(await rowsOf(kept)).toEqual({ runs: kept.length, events: kept.length * 5, steps: kept.length });
    }
    const retry = await ctx.trellis.db.selectFrom('runs').select('retry_of').where('id', '=', retryOfOld[0]!).executeTakeFirstOrThrow();
    expect(retry.retry_of).toBeNull();
  });

  it('deletes nothing when retention is off, even when the workflow is started by hand, and registers no schedule', async () => {
    const offQueue = `retention-off-${randomUUID()}`;
    const off = await createTestContext({ env: { TRELLIS_TASK_QUEUE: offQueue, TRELLIS_RETENTION_DAYS: '0' } });
    try {
      const kept = await seed(2, { name: 'old', status: 'COMPLETED', ageDays: 400, finished: true, events: 3 }, off);
      const summary: RetentionSummary = await off.trellis.client.workflow.execute('trellisRetention', { taskQueue: offQueue, workflowId: `retention-by-hand-${randomUUID()}`, args: [] });
      expect(summary).toEqual({ batches: 0, deleted: {} });
      expect(await rowsOf(kept, off)).toEqual({ runs: 2, events: 6, steps: 2 });
      await expect(off.trellis.client.schedule.getHandle(retentionScheduleId(offQueue)).describe()).rejects.toThrow(/not found/i);
    } finally {
      await off.stop();
    }
  });
});

