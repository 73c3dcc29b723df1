import { sql, type Kysely, type Transaction } from 'kysely';
import { FINAL_RUN_STATUSES, FINISHED_STEP_STATUSES, STEP_STATUSES } from '../../definition/step-types';
import type { AuditEventInput } from '../../interpreter/run-types';
import type { Database } from './database';

/** The channel every API process LISTENs on; the payload is {@link AuditNotification}. */
export const AUDIT_CHANNEL = 'trellis_audit';

/** Step statuses of a step that has not settled. */
const OPEN_STEP_STATUSES = STEP_STATUSES.filter((status) => status !== 'PENDING' && !FINISHED_STEP_STATUSES.has(status));

export type AuditNotification = { tenantId: string; runId: string; seq: number; type: string; definition?: string };

/** An audit event ready to store: the input already reduced to its hash, snapshots already capped. */
export type AuditEventRecord = Omit<AuditEventInput, 'input'> & {
  inputHash?: string;
  stepOutput?: unknown;
  /** On STEP_STARTED: the step's resolved input, already capped, kept on the run index (not in the event). */
  stepInput?: unknown;
};

/**
 * What an event records, independent of when it was written: its type, step and attempt, and
 * whether a STEP_FAILED is a cancellation (an attempt that failed and was to be retried may be
 * cancelled during its backoff). An execution emits each key at most once. `generation` is the
 * number of resets in Temporal the run had taken when the writing execution began (see
 * `runs.reset_count`): a reset runs steps again, whose events then differ from the first ones by
 * their generation, while a workflow task redone within one execution repeats its keys exactly.
 * @default generation 0 (keys of runs never reset are unchanged)
 */
export function eventKey(event: Pick<AuditEventRecord, 'type' | 'stepId' | 'attempt' | 'error'>, generation = 0): string {
  const variant = event.type === 'STEP_FAILED' && event.error?.type === 'Cancelled' ? 'cancelled' : '';
  const key = `${event.type}:${event.stepId ?? ''}:${event.attempt ?? ''}:${variant}`;
  return generation > 0 ? `${key}@${generation}` : key;
}

/**
 * An execution that is no longer the run's wrote an event: a reset has replaced it (see
 * run-resets.ts). Its write is refused, so nothing it still does lands in the trail.
 */
export class SupersededExecutionError extends Error {
  readonly code = 'SUPERSEDED_EXECUTION';
  constructor(runId: string, temporalRunId: string, current: string | null) {
    super(`run ${runId} is now Temporal run ${current}, not ${temporalRunId}: a reset replaced that execution`);
    this.name = 'SupersededExecutionError';
  }
}

/** Conditions {@link recordAuditEvent} checks under the run's lock before it writes. */
export type RecordConditions = {
  /**
   * The Temporal run id of the execution writing the event: refused with
   * {@link SupersededExecutionError} unless it is still the run's (`runs.temporal_run_id`).
   */
  temporalRunId?: string;
  /** Write only while the run is in flight (RUNNING or COMPENSATING); otherwise nothing is written. */
  ifInFlight?: boolean;
};

const json = (value: unknown): string | null => (value === undefined ? null : JSON.stringify(value));

/**
 * Stores one audit event and projects it onto the run index (`runs`, `run_steps`), then notifies
 * listeners — all in one transaction. The run's row must exist: it is never created here (see
 * `RunVerifier`). The event's `seq` is the run's next one, assigned here under a lock on the run,
 * so the trail has no gap. Idempotent on {@link eventKey} (with the run's reset generation): a
 * retried write, or the same event written again by a worker that redid a workflow task another
 * worker died in, changes nothing and notifies no one, so events are never duplicated.
 * @returns whether the event was new (false also when `conditions.ifInFlight` did not hold)
 * @throws SupersededExecutionError when `conditions.temporalRunId` is no longer the run's execution
 */
export async function recordAuditEvent(db: Kysely<Database>, event: AuditEventRecord, conditions: RecordConditions = {}): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    const run = await lockRun(trx, event.runId);
    if (conditions.temporalRunId !== undefined && run.temporal_run_id !== conditions.temporalRunId) {
      throw new SupersededExecutionError(event.runId, conditions.temporalRunId, run.temporal_run_id);
    }
    if (conditions.ifInFlight && FINAL_RUN_STATUSES.has(run.status)) return false;
    return insertEvent(trx, event, run.reset_count);
  });
}

/** A reset Temporal confirmed: the execution it replaced, the one it started, and its RUN_RESET event. */
export type ResetRecord = { fromTemporalRunId: string; toTemporalRunId: string; event: AuditEventRecord };

/** What {@link recordReset} did: recorded it, found it recorded already, or found the run no longer as the reset found it. */
export type ResetOutcome = { outcome: 'recorded' | 'already-recorded' } | { outcome: 'run-changed'; status: string; temporalRunId: string | null };

/**
 * Moves a run in flight to the execution a reset started, and records RUN_RESET, in one
 * transaction: from then on only that execution acts for the run, and its events belong to the
 * next generation (see {@link eventKey}). Only a run still at `fromTemporalRunId` and in flight
 * moves; recording the same reset twice records it once.
 */
export async function recordReset(db: Kysely<Database>, reset: ResetRecord): Promise<ResetOutcome> {
  return db.transaction().execute(async (trx) => {
    const run = await lockRun(trx, reset.event.runId);
    if (run.temporal_run_id === reset.toTemporalRunId) return { outcome: 'already-recorded' };
    if (run.temporal_run_id !== reset.fromTemporalRunId || FINAL_RUN_STATUSES.has(run.status)) {
      return { outcome: 'run-changed', status: run.status, temporalRunId: run.temporal_run_id };
    }
    const generation = run.reset_count + 1;
    await trx
      .updateTable('runs')
      .set({ temporal_run_id: reset.toTemporalRunId, reset_count: generation, updated_at: new Date() })
      .where('id', '=', run.id)
      .execute();
    await insertEvent(trx, reset.event, generation);
    return { outcome: 'recorded' };
  });
}

/** Locks the run's row: one writer per run at a time, so seq is read and taken under this lock. */
function lockRun(trx: Transaction<Database>, runId: string) {
  return trx
    .selectFrom('runs')
    .select(['id', 'status', 'temporal_run_id', 'reset_count'])
    .where('id', '=', runId)
    .forNoKeyUpdate()
    .executeTakeFirstOrThrow();
}

async function insertEvent(trx: Transaction<Database>, event: AuditEventRecord, generation: number): Promise<boolean> {
  const key = eventKey(event, generation);
  const existing = await trx.selectFrom('audit_events').select('seq').where('run_id', '=', event.runId).where('event_key', '=', key).executeTakeFirst();
  if (existing) return false;
  const { last } = await trx
    .selectFrom('audit_events')
    .select((eb) => eb.fn.coalesce(eb.fn.max('seq'), eb.val(0)).as('last'))
    .where('run_id', '=', event.runId)
    .executeTakeFirstOrThrow();
  const seq = Number(last) + 1;
  await trx
    .insertInto('audit_events')
    .values({
      run_id: event.runId,
      seq,
      event_key: key,
      tenant_id: event.tenantId,
      at: event.at,
      type: event.type,
      step_id: event.stepId ?? null,
      attempt: event.attempt ?? null,
      input_hash: event.inputHash ?? null,
      output: json(event.output),
      error: json(event.error),
      message: event.message ?? null,
      actor: JSON.stringify(event.actor),
    })
    .execute();
  if (event.stepId && event.stepStatus) await projectStep(trx, event);
  if (event.type === 'RUN_TERMINATED') await stopOpenSteps(trx, event);
  if (event.runStatus) await projectRun(trx, event);
  const notification: AuditNotification = {
    tenantId: event.tenantId,
    runId: event.runId,
    seq,
    type: event.type,
    definition: event.run?.definitionName,
  };
  await sql`select pg_notify(${AUDIT_CHANNEL}, ${JSON.stringify(notification)})`.execute(trx);
  return true;
}

/**
 * A run ended outside Trellis (RUN_TERMINATED): no code of it runs any more, so the steps it left
 * running or waiting will never settle by themselves. They become CANCELLED, with why.
 */
async function stopOpenSteps(trx: Transaction<Database>, event: AuditEventRecord): Promise<void> {
  const error = { message: `stopped: ${event.error?.message ?? 'the run ended outside Trellis'}`, type: 'Cancelled', retryable: false };
  await trx
    .updateTable('run_steps')
    .set({ status: 'CANCELLED', finished_at: event.at, error: JSON.stringify(error) })
    .where('run_id', '=', event.runId)
    .where('status', 'in', [...OPEN_STEP_STATUSES])
    .execute();
}

async function projectStep(trx: Transaction<Database>, event: AuditEventRecord): Promise<void> {
  const status = event.stepStatus!;
  const finished = FINISHED_STEP_STATUSES.has(status) ? event.at : null;
  const output = status === 'SUCCEEDED' ? json(event.stepOutput) : null;
  const error = event.error ? json(event.error) : null;
  const input = event.type === 'STEP_STARTED' ? json(event.stepInput) : null;
  await trx
    .insertInto('run_steps')
    .values({
      run_id: event.runId,
      step_id: event.stepId!,
      tenant_id: event.tenantId,
      type: event.stepType ?? 'unknown',
      status,
      attempts: event.type === 'STEP_STARTED' ? (event.attempt ?? 1) : 0,
      started_at: event.type === 'STEP_STARTED' ? event.at : null,
      finished_at: finished,
      input,
      output,
      error,
    })
    .onConflict((oc) =>
      oc.columns(['run_id', 'step_id']).doUpdateSet((eb) => ({
        status,
        attempts:
          event.type === 'STEP_STARTED' ? sql<number>`greatest(run_steps.attempts, ${event.attempt ?? 1})` : eb.ref('run_steps.attempts'),
        started_at: sql`coalesce(run_steps.started_at, ${event.type === 'STEP_STARTED' ? event.at : null}::timestamptz)`,
        finished_at: finished,
        input: input === null ? eb.ref('run_steps.input') : sql`${input}::json`,
        // A success keeps its output through compensation; a new attempt clears the last error.
        output: output === null ? eb.ref('run_steps.output') : sql`${output}::jsonb`,
        error: event.type === 'STEP_STARTED' ? null : error === null ? eb.ref('run_steps.error') : sql`${error}::jsonb`,
      })),
    )
    .execute();
}

async function projectRun(trx: Transaction<Database>, event: AuditEventRecord): Promise<void> {
  const status = event.runStatus!;
  const terminal = FINAL_RUN_STATUSES.has(status);
  await trx
    .updateTable('runs')
    .set({
      status,
      updated_at: new Date(),
      ...(terminal ? { finished_at: event.at } : {}),
      ...(event.type === 'RUN_COMPLETED' ? { output: JSON.stringify(event.output ?? null) } : {}),
      ...(event.error ? { error: JSON.stringify(event.error) } : {}),
    })
    .where('id', '=', event.runId)
    .execute();
}
