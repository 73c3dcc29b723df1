import { sql, type ExpressionBuilder, type Kysely, type SelectQueryBuilder } from 'kysely';
import { FINAL_AUDIT_EVENT_TYPES } from '../../definition/step-types';
import { toStorableJson } from '../../definition/storable-json';
import { lastSeq, notifyWatchers } from './audit.repository';
import type { AuditEventRow, Database, NewRun, RunRow, RunStepRow } from './database';

/**
 * Inserts a run. When the tenant already has a run of this definition with the same
 * `idempotency_key`, nothing is inserted and that run is returned with `created: false`.
 */
export async function insertRun(db: Kysely<Database>, run: NewRun): Promise<{ row: RunRow; created: boolean }> {
  const inserted = await db
    .insertInto('runs')
    .values(run)
    .onConflict((oc) =>
      oc.columns(['tenant_id', 'definition_name', 'idempotency_key']).where('idempotency_key', 'is not', null).doNothing(),
    )
    .returningAll()
    .executeTakeFirst();
  if (inserted) return { row: inserted, created: true };
  const existing = await findRunByIdempotencyKey(db, run.tenant_id, run.definition_name, run.idempotency_key ?? '');
  if (!existing) throw new Error(`run with idempotency key "${run.idempotency_key}" conflicted on insert but cannot be found`);
  return { row: existing, created: false };
}

/** The tenant's run of `definition` started with `idempotencyKey`, if any. */
export function findRunByIdempotencyKey(db: Kysely<Database>, tenantId: string, definition: string, idempotencyKey: string): Promise<RunRow | undefined> {
  return db
    .selectFrom('runs')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('definition_name', '=', definition)
    .where('idempotency_key', '=', idempotencyKey)
    .executeTakeFirst();
}

export function findRun(db: Kysely<Database>, tenantId: string, id: string): Promise<RunRow | undefined> {
  return db.selectFrom('runs').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();
}

/**
 * Records the Temporal run id of a run's first execution, unless one is recorded already (the
 * worker records it when it first sees the run, and a reset may have moved the run on since);
 * returns the run as it is now, or undefined when the row is gone.
 */
export async function setTemporalRunId(db: Kysely<Database>, id: string, temporalRunId: string): Promise<RunRow | undefined> {
  await db.updateTable('runs').set({ temporal_run_id: temporalRunId }).where('id', '=', id).where('temporal_run_id', 'is', null).execute();
  return db.selectFrom('runs').selectAll().where('id', '=', id).executeTakeFirst();
}

/**
 * Deletes the row of a run whose workflow could not be started, unless a worker has seen the
 * workflow since (it records the Temporal run id the first time it verifies a run, under the same
 * condition): either the row goes and a workflow that did start after all is refused by every
 * worker, or the row stays because the run is running.
 * @returns whether the row was deleted
 */
export async function deleteUnstartedRun(db: Kysely<Database>, id: string): Promise<boolean> {
  const result = await db.deleteFrom('runs').where('id', '=', id).where('temporal_run_id', 'is', null).executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
}

/**
 * Records the end of a run whose workflow ended without its audit trail recording it (the sink
 * refused even the final event); a run already recorded as finished is left as it is. No event
 * says so, so a notification does: the run's watchers read it again.
 * @returns the run as it is now, or undefined when it does not exist
 */
export async function recordRunEnd(db: Kysely<Database>, id: string, status: string, error: unknown): Promise<RunRow | undefined> {
  const now = new Date();
  await db.transaction().execute(async (trx) => {
    const ended = await trx
      .updateTable('runs')
      .set({ status, error: JSON.stringify(toStorableJson(error)), finished_at: now, updated_at: now })
      .where('id', '=', id)
      .where('status', 'in', ['RUNNING', 'COMPENSATING'])
      .returning(['tenant_id', 'definition_name'])
      .executeTakeFirst();
    if (!ended) return;
    const seq = await lastSeq(trx, id);
    await notifyWatchers(trx, { tenantId: ended.tenant_id, runId: id, seq, type: 'RUN_END_RECORDED', definition: ended.definition_name });
  });
  return db.selectFrom('runs').selectAll().where('id', '=', id).executeTakeFirst();
}

export function listRunSteps(db: Kysely<Database>, runId: string): Promise<RunStepRow[]> {
  return db.selectFrom('run_steps').selectAll().where('run_id', '=', runId).orderBy('started_at').orderBy('step_id').execute();
}

/** The event that closed a run's audit trail (RUN_COMPLETED, RUN_FAILED, RUN_CANCELLED…), if any. */
export function findFinalEvent(db: Kysely<Database>, runId: string): Promise<AuditEventRow | undefined> {
  return db
    .selectFrom('audit_events')
    .selectAll()
    .where('run_id', '=', runId)
    .where('type', 'in', [...FINAL_AUDIT_EVENT_TYPES])
    .orderBy('seq', 'desc')
    .limit(1)
    .executeTakeFirst();
}

/**
 * Audit events of a run with `seq > afterSeq`, in `seq` order; with `logLevels`, only its LOG
 * events of those levels (see `audit_events_logs_idx`); with `passLevels`, its LOG events of
 * those levels and every other event.
 */
export function listEvents(
  db: Kysely<Database>,
  runId: string,
  options: { afterSeq?: number; limit?: number; logLevels?: readonly string[]; passLevels?: readonly string[] } = {},
): Promise<AuditEventRow[]> {
  let query = db
    .selectFrom('audit_events')
    .selectAll()
    .where('run_id', '=', runId)
    .where('seq', '>', options.afterSeq ?? 0)
    .orderBy('seq');
  if (options.logLevels !== undefined) {
    if (options.logLevels.length === 0) return Promise.resolve([]);
    query = query.where('level', 'in', [...options.logLevels]);
  }
  const pass = options.passLevels;
  if (pass !== undefined) query = query.where((eb) => (pass.length === 0 ? eb('level', 'is', null) : eb.or([eb('level', 'is', null), eb('level', 'in', [...pass])])));
  if (options.limit !== undefined) query = query.limit(options.limit);
  return query.execute();
}

/** Which runs {@link listRuns} returns. */
export type RunFilter = {
  definition?: string | null;
  version?: number | null;
  /** The trigger's type (`api`, `test`, `workflow`, …). */
  trigger?: string | null;
  status?: string[] | null;
  startedAfter?: Date | null;
  startedBefore?: Date | null;
  /** true: runs with a step WAITING for a signal; false: runs without one. */
  waiting?: boolean | null;
  /** List test runs too; they are left out unless this, `trigger: 'test'` or `version: 0` asks for them. */
  includeTests?: boolean | null;
};

/** Whether a filter lists test runs (see {@link RunFilter.includeTests}). */
export function filterIncludesTests(filter: RunFilter): boolean {
  return filter.includeTests === true || filter.trigger === 'test' || filter.version === 0;
}

/** `query` narrowed to the runs `filter` selects (every condition given must hold). */
function filterRuns<Q extends SelectQueryBuilder<Database, 'runs', object>>(query: Q, filter: RunFilter): Q {
  let q: SelectQueryBuilder<Database, 'runs', object> = query;
  if (filter.definition) q = q.where('definition_name', '=', filter.definition);
  if (filter.version != null) q = q.where('definition_version', '=', filter.version);
  if (filter.trigger) q = q.where(sql<string>`trigger->>'type'`, '=', filter.trigger);
  if (!filterIncludesTests(filter)) q = q.where(sql<string>`trigger->>'type'`, '<>', 'test');
  if (filter.status && filter.status.length > 0) q = q.where('status', 'in', filter.status);
  if (filter.startedAfter) q = q.where('started_at', '>=', filter.startedAfter);
  if (filter.startedBefore) q = q.where('started_at', '<', filter.startedBefore);
  if (filter.waiting != null) {
    const waiting = (eb: ExpressionBuilder<Database, 'runs'>) =>
      eb.exists(eb.selectFrom('run_steps').select('run_steps.step_id').whereRef('run_steps.run_id', '=', 'runs.id').where('run_steps.status', '=', 'WAITING'));
    q = q.where((eb) => (filter.waiting ? waiting(eb) : eb.not(waiting(eb))));
  }
  return q as Q;
}

/** How many of the tenant's runs `filter` selects, by status (statuses with none left out). */
export async function countRunsByStatus(db: Kysely<Database>, tenantId: string, filter: RunFilter): Promise<Array<{ status: string; count: number }>> {
  const rows = await filterRuns(db.selectFrom('runs').where('tenant_id', '=', tenantId), filter)
    .select((eb) => ['status', eb.fn.countAll<string>().as('count')])
    .groupBy('status')
    .execute();
  return rows.map((row) => ({ status: row.status, count: Number(row.count) }));
}

/** A tenant's runs, newest first, after the `(startedAt, id)` keyset position `after`. */
export function listRuns(
  db: Kysely<Database>,
  tenantId: string,
  filter: RunFilter,
  options: { after?: { startedAt: Date; id: string }; limit: number },
): Promise<RunRow[]> {
  let query = db
    .selectFrom('runs')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .orderBy('started_at', 'desc')
    .orderBy('id', 'desc')
    .limit(options.limit);
  query = filterRuns(query, filter);
  const after = options.after;
  if (after) {
    query = query.where((eb) =>
      eb.or([eb('started_at', '<', after.startedAt), eb.and([eb('started_at', '=', after.startedAt), eb('id', '<', after.id)])]),
    );
  }
  return query.execute();
}

/** The run's top-level steps as the index recorded them, with the seq of each one's success. */
export async function listRecordedSteps(db: Kysely<Database>, runId: string): Promise<Array<RunStepRow & { succeeded_seq: number | null }>> {
  return db
    .selectFrom('run_steps')
    .selectAll('run_steps')
    .select((eb) =>
      eb
        .selectFrom('audit_events')
        .select((inner) => inner.fn.max('audit_events.seq').as('seq'))
        .whereRef('audit_events.run_id', '=', 'run_steps.run_id')
        .whereRef('audit_events.step_id', '=', 'run_steps.step_id')
        .where('audit_events.type', '=', 'STEP_SUCCEEDED')
        .as('succeeded_seq'),
    )
    .where('run_steps.run_id', '=', runId)
    .execute();
}
