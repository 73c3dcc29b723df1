import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { sql } from 'kysely';
import type { RetentionSummary } from '../interpreter/retention.workflow';
import { recordAuditEvent } from '../src/db/audit.repository';
import globalSetup from '../test/support/global-setup';
import globalTeardown from '../test/support/global-teardown';
import { createTestContext, type TestContext } from '../test/support/test-context';
import { percentile } from './stats';

/**
 * `npx tsx bench/retention.ts [--runs 10000] [--events 100] [--batch 10000] [--writers 4]`: how fast
 * the retention workflow deletes expired runs (default: 10,000 runs of 100 audit events, 1 million
 * events), and what it costs audit writes of runs in flight meanwhile (not part of CI; prints
 * figures, asserts nothing). The writers write through `recordAuditEvent`, the activity's own
 * path (row lock, seq, insert, projection, NOTIFY), one event at a time each, first alone for as
 * long as the deletion will take, then during it.
 */
const log = (message: string) => process.stdout.write(`${message}\n`);

function option(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? Number(process.argv[index + 1]) : fallback;
}

const RUNS = option('runs', 10_000);
const EVENTS = option('events', 100);
const BATCH = option('batch', 10_000);
const WRITERS = option('writers', 4);

async function seedExpired(ctx: TestContext): Promise<void> {
  const started = performance.now();
  await sql`
    insert into runs (id, tenant_id, definition_name, definition_version, status, input, trigger, workflow_id, started_at, finished_at)
    select id, 'default', 'old', 1, 'COMPLETED', '{}', '{"type":"api","id":"default"}', 'default/old/' || id, now() - interval '40 days', now() - interval '40 days'
    from (select gen_random_uuid() as id from generate_series(1, ${RUNS})) ids`.execute(ctx.trellis.db);
  // In chunks of runs, so no single statement holds a huge transaction.
  const ids = (await sql<{ id: string }>`select id from runs where definition_name = 'old'`.execute(ctx.trellis.db)).rows.map((row) => row.id);
  for (let i = 0; i < ids.length; i += 1_000) {
    const chunk = ids.slice(i, i + 1_000);
    await sql`
      insert into audit_events (run_id, seq, event_key, tenant_id, at, type, step_id, attempt, output, message, actor)
      select id, s, 'STEP_SUCCEEDED:s' || s || ':1:', 'default', now() - interval '40 days', 'STEP_SUCCEEDED', 's' || s, 1,
             '{"status":200,"body":{"id":"ch_1","amount":4200,"currency":"eur"}}', 'attempt 1 of 3 succeeded', '{"type":"api","id":"default"}'
      from unnest(${chunk}::uuid[]) as id cross join generate_series(1, ${EVENTS}) as s`.execute(ctx.trellis.db);
    await sql`
      insert into run_steps (run_id, step_id, tenant_id, type, status)
      select id, 's1', 'default', 'http', 'SUCCEEDED' from unnest(${chunk}::uuid[]) as id`.execute(ctx.trellis.db);
  }
  await sql`analyze`.execute(ctx.trellis.db);
  log(`seeded ${RUNS} expired runs with ${RUNS * EVENTS} audit events and ${RUNS} steps in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

/** Runs in flight the writers append to. */
async function seedLive(ctx: TestContext): Promise<string[]> {
  const ids = Array.from({ length: WRITERS }, () => randomUUID());
  await sql`
    insert into runs (id, tenant_id, definition_name, definition_version, status, input, trigger, workflow_id, started_at)
    select id, 'default', 'live', 1, 'RUNNING', '{}', '{"type":"api","id":"default"}', 'default/live/' || id, now()
    from unnest(${ids}::uuid[]) as id`.execute(ctx.trellis.db);
  return ids;
}

/** Writes audit events to `runIds`, one writer per run, until `until` settles; returns each write's latency (ms). */
async function write(ctx: TestContext, runIds: string[], until: Promise<unknown>, attemptBase: number): Promise<number[]> {
  const latencies: number[] = [];
  let done = false;
  void until.finally(() => {
    done = true;
  });
  await Promise.all(
    runIds.map(async (runId) => {
      for (let attempt = attemptBase; !done; attempt++) {
        const started = performance.now();
        await recordAuditEvent(ctx.trellis.db, {
          runId,
          tenantId: 'default',
          at: new Date().toISOString(),
          type: 'STEP_STARTED',
          stepId: 'loop',
          attempt,
          actor: { type: 'api', id: 'default' },
        });
        latencies.push(performance.now() - started);
      }
    }),
  );
  return latencies;
}

function describe(label: string, latencies: number[], seconds: number): string {
  const sorted = [...latencies].sort((a, b) => a - b);
  return (
    `${label}: ${latencies.length} writes in ${seconds.toFixed(1)} s (${(latencies.length / seconds).toFixed(0)}/s), ` +
    `latency p50 ${percentile(sorted, 50).toFixed(1)} ms, p95 ${percentile(sorted, 95).toFixed(1)} ms, p99 ${percentile(sorted, 99).toFixed(1)} ms, max ${sorted.at(-1)!.toFixed(1)} ms`
  );
}

async function main(): Promise<void> {
  await globalSetup();
  const taskQueue = `bench-retention-${randomUUID()}`;
  const ctx = await createTestContext({ env: { TRELLIS_TASK_QUEUE: taskQueue, TRELLIS_RETENTION_DAYS: '30', TRELLIS_RETENTION_BATCH_SIZE: String(BATCH) } });
  try {
    await seedExpired(ctx);
    const live = await seedLive(ctx);

    // The deletion, with writers running alongside.
    const started = performance.now();
    const deletion = ctx.trellis.client.workflow.execute('trellisRetention', { taskQueue, workflowId: `bench-retention-${randomUUID()}`, args: [] }) as Promise<RetentionSummary>;
    const during = await write(ctx, live, deletion, 1_000_000);
    const summary = await deletion;
    const seconds = (performance.now() - started) / 1000;
    const rows = Object.values(summary.deleted).reduce((sum, n) => sum + n, 0);
    const left = await sql<{ runs: string; events: string; steps: string }>`
      select (select count(*) from runs where definition_name = 'old') as runs,
             (select count(*) from audit_events e join runs r on r.id = e.run_id where r.definition_name = 'old') as events,
             (select count(*) from run_steps s join runs r on r.id = s.run_id where r.definition_name = 'old') as steps`.execute(ctx.trellis.db);
    log(`expired rows left: ${JSON.stringify(left.rows[0])}`);
    log(`retention workflow: ${JSON.stringify(summary.deleted)} in ${summary.batches} batches of at most ${BATCH} rows, ${seconds.toFixed(1)} s: ${(rows / seconds).toFixed(0)} rows/s, ${((summary.deleted.audit_events ?? 0) / seconds).toFixed(0)} audit events/s`);

    // The same writers alone, for as long.
    const alone = await write(ctx, live, new Promise((resolve) => setTimeout(resolve, seconds * 1000)), 0);
    log(describe('audit writes alone', alone, seconds));
    log(describe('audit writes during the deletion', during, seconds));
  } finally {
    await ctx.stop();
    await globalTeardown();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
