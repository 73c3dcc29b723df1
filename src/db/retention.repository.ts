import { sql, type Kysely, type RawBuilder } from 'kysely';
import { FINAL_RUN_STATUSES } from '../../definition/step-types';
import type { Database } from './database';

/**
 * Every table whose rows belong to one run, with the column naming the run: retention deletes a
 * run's rows from each, in this order, before the run itself. A table added for runs (webhook
 * deliveries, trigger firings…) goes here; rows that age on their own clock rather than their
 * run's need a rule of their own.
 */
export const RUN_TABLES = [
  { table: 'audit_events', runColumn: 'run_id' },
  { table: 'run_steps', runColumn: 'run_id' },
] as const satisfies ReadonlyArray<{ table: keyof Database; runColumn: string }>;

/** A run id as text; anything else in a trigger's id names no run (and must not reach a uuid cast). */
const UUID_PATTERN = '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$';

/** What one {@link deleteExpiredBatch} deleted: rows of one table (none when nothing is left to delete). */
export type RetentionBatch = { table: string; deleted: number };

/**
 * The runs retention may delete, oldest first, at most `limit`: finished before `cutoff` (runs in
 * flight never are), and not started by a `workflow` step of a run that still exists (a child run
 * belongs to its parent's trail, and goes only after the parent: never while the parent runs).
 */
function expiredRuns(cutoff: Date, limit: number): RawBuilder<unknown> {
  return sql`
    select r.id from runs r
    where r.finished_at < ${cutoff}
      and r.status in (${sql.join([...FINAL_RUN_STATUSES])})
      and not (
        r.trigger->>'type' = 'workflow'
        and exists (select 1 from runs parent where parent.id = case when r.trigger->>'id' ~* ${UUID_PATTERN} then (r.trigger->>'id')::uuid end)
      )
    order by r.finished_at, r.id
    limit ${limit}`;
}

/**
 * Deletes at most `batchSize` rows in one statement (one short transaction): rows of the first
 * table of {@link RUN_TABLES} that has some for the oldest expired runs, else those runs
 * themselves once nothing of theirs is left. Called until it deletes nothing, it deletes every
 * run that finished before `cutoff`, with its rows, in bounded steps that never lock a run in
 * flight. Runs as the owner of the tables (row-level security does not apply), across tenants.
 */
export async function deleteExpiredBatch(db: Kysely<Database>, cutoff: Date, batchSize: number): Promise<RetentionBatch> {
  // The window is the same query for every table, so rows are removed run by run, oldest first.
  // Materialized: evaluated once per statement. Inline, the planner may rescan it for every row
  // (a nested loop over a LIMIT subquery): deleting 10,000 runs took minutes instead of a second.
  const window = sql`with expired as materialized (${expiredRuns(cutoff, batchSize)})`;
  for (const { table, runColumn } of RUN_TABLES) {
    const result = await sql`
      ${window}
      delete from ${sql.table(table)} where ctid = any(array(
        select ctid from ${sql.table(table)} where ${sql.ref(runColumn)} in (select id from expired) limit ${batchSize}))`.execute(db);
    const deleted = Number(result.numAffectedRows ?? 0);
    if (deleted > 0) return { table, deleted };
  }
  // Only runs with nothing left (a child that became deletable meanwhile waits for the next window).
  const leftovers = RUN_TABLES.map(({ table, runColumn }) => sql`not exists (select 1 from ${sql.table(table)} t where t.${sql.ref(runColumn)} = runs.id)`);
  const result = await sql`${window} delete from runs where id in (select id from expired) and ${sql.join(leftovers, sql` and `)}`.execute(db);
  return { table: 'runs', deleted: Number(result.numAffectedRows ?? 0) };
}
