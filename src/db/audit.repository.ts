import { sql, type Kysely, type Transaction } from 'kysely';
import { FINAL_AUDIT_EVENT_TYPES, FINAL_RUN_STATUSES, FINISHED_STEP_STATUSES, STEP_STATUSES } from '../../definition/step-types';
import type { AuditEventInput, StepProgress } from '../../interpreter/run-types';
import type { Database } from './database';

/** The channel every API process LISTENs on; the payload is {@link AuditNotification}. */
export const AUDIT_CHANNEL = 'trellis_audit';

/** Step statuses of a step that has not settled. */
const OPEN_STEP_STATUSES = STEP_STATUSES.filter((status) => status !== 'PENDING' && !FINISHED_STEP_STATUSES.has(status));

export type AuditNotification = { tenantId: string; runId: string; seq: number; type: string; definition?: string };

/** The seq of the run's last audit event (0 when it has none); under the run's lock, the next one's is this + 1. */
export async function lastSeq(trx: Transaction<Database>, runId: string): Promise<number> {
  const { last } = await trx
    .selectFrom('audit_events')
    .select((eb) => eb.fn.coalesce(eb.fn.max('seq'), eb.val(0)).as('last'))
    .where('run_id', '=', runId)
    .executeTakeFirstOrThrow();
  return Number(last);
}

/** Wakes the run's watchers (the API's subscriptions) once `trx` commits. */
export async function notifyWatchers(trx: Transaction<Database>, notification: AuditNotification): Promise<void> {
  await sql`select pg_notify(${AUDIT_CHANNEL}, ${JSON.stringify(notification)})`.execute(trx);
}

/** An audit event ready to store: the input already reduced to its hash, snapshots already capped. */
export type AuditEventRecord = Omit<AuditEventInput, 'input'> & {
  inputHash?: string;
  stepOutput?: unknown;
  /** On STEP_STARTED: the step's resolved input, already capped, kept on the run index (not in the event). */
  stepInput?: unknown;
  /** On a map step's STEP_STARTED: how many items it runs (kept on the run index). */
  itemsTotal?: number;
};

/**
 * What an event records, independent of when it was written: its type, step and attempt, and
 * whether a STEP_FAILED is a cancellation (an attempt that failed and was to be retried may be
 * cancelled during its backoff), and a LOG's line number. An execution emits each key at most once. `generation` is the
 * number of resets in Temporal the run had taken when the writing execution began (see
 * `runs.reset_count`): a reset runs steps again, whose events then differ from the first ones by
 * their generation, while a workflow task redone within one execution repeats its keys exactly.
 * @default generation 0 (keys of runs never reset are unchanged)
 */
export function eventKey(event: Pick<AuditEventRecord, 'type' | 'stepId' | 'attempt' | 'error' | 'line'>, generation = 0): string {
  // An attempt may log many lines: each is its own event.
  const variant = event.type === 'STEP_FAILED' && event.error?.type === 'Cancelled' ? 'cancelled' : event.type === 'LOG' ? `line-${event.line ?? 0}` : '';
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
 * Stores one audit event and projects it onto the run index; see {@link recordAuditEvents}.
 * @returns whether the event was new (false also when `conditions.ifInFlight` did not hold)
 * @throws the database's error when PostgreSQL refuses the event
 * @throws SupersededExecutionError when `conditions.temporalRunId` is no longer the run's execution
 */
export async function recordAuditEvent(db: Kysely<Database>, event: AuditEventRecord, conditions: RecordConditions = {}): Promise<boolean> {
  try {
    const [isNew] = await recordAuditEvents(db, [event], [], conditions);
    return isNew!;
  } catch (err) {
    // One event: callers get PostgreSQL's own error, as they would from a single insert.
    throw err instanceof AuditBatchError ? err.cause : err;
  }
}

/**
 * Where a batch stopped: the index of the event PostgreSQL refused, and its error. The whole
 * batch is rolled back (one transaction), so none of its events was stored.
 */
export class AuditBatchError extends Error {
  readonly code = 'AUDIT_BATCH_FAILED';
  constructor(
    readonly index: number,
    override readonly cause: unknown,
  ) {
    super(`audit event ${index} of the batch was refused: ${cause instanceof Error ? cause.message : String(cause)}`);
  }
}

/**
 * Stores audit events of ONE run, in order, and projects each onto the run index (`runs`,
 * `run_steps`), then notifies listeners — all in one transaction, so a batch is stored whole or
 * not at all. The run's row must exist: it is never created here (see `RunVerifier`). Each
 * event's `seq` is the run's next one, assigned here under a lock on the run, so the trail has no
 * gap. Idempotent on {@link eventKey}: a retried write, or the same event written again by a
 * worker that redid a workflow task another worker died in, changes nothing and notifies no one,
 * so events are never duplicated.
 * The run's reset generation is part of each key (see {@link eventKey}).
 * @returns for each event, whether it was new (all false when `conditions.ifInFlight` did not hold)
 * @throws AuditBatchError naming the event PostgreSQL refused (the batch is rolled back)
 * @throws SupersededExecutionError when `conditions.temporalRunId` is no longer the run's execution
 */
export async function recordAuditEvents(
  db: Kysely<Database>,
  events: readonly AuditEventRecord[],
  progress: readonly StepProgress[] = [],
  conditions: RecordConditions = {},
): Promise<boolean[]> {
  const runId = (events[0] ?? progress[0])?.runId;
  if (runId === undefined) return [];
  if ([...events, ...progress].some((event) => event.runId !== runId)) throw new Error('an audit batch holds the events of one run');
  return db.transaction().execute(async (trx) => {
    const run = await lockRun(trx, runId);
    if (conditions.temporalRunId !== undefined && run.temporal_run_id !== conditions.temporalRunId) {
      throw new SupersededExecutionError(runId, conditions.temporalRunId, run.temporal_run_id);
    }
    if (conditions.ifInFlight && FINAL_RUN_STATUSES.has(run.status)) return events.map(() => false);
    // Terminated in Temporal: no code of the run runs any more, and what a write still in flight
    // from before the termination brings must not reopen it (see supersedeFinalEvents).
    if (run.status === 'TERMINATED') return events.map(() => false);
    let finished = FINAL_RUN_STATUSES.has(run.status);
    const keys = events.map((event) => eventKey(event, run.reset_count));
    const existing = new Set(
      keys.length === 0 ? [] : (await trx.selectFrom('audit_events').select('event_key').where('run_id', '=', runId).where('event_key', 'in', keys).execute()).map((row) => row.event_key),
    );
    let seq = await lastSeq(trx, runId);
    const stored: boolean[] = [];
    for (const [index, event] of events.entries()) {
      const key = keys[index]!;
      // Also a repeat of a key earlier in this same batch (a redone task resending it).
      if (existing.has(key)) {
        stored.push(false);
        continue;
      }
      if (finished) {
        // A workflow emits nothing after its final event, and completes in the task that wrote it:
        // a NEW event after it proves that task was aborted and redone. Its final event steps aside.
        for (const superseded of await supersedeFinalEvents(trx, runId)) existing.delete(superseded);
        finished = false;
        if (existing.has(key)) {
          stored.push(false);
          continue;
        }
      }
      existing.add(key);
      seq += 1;
      try {
        await insertEvent(trx, event, key, seq);
      } catch (err) {
        throw new AuditBatchError(index, err);
      }
      stored.push(true);
      if (event.runStatus && FINAL_RUN_STATUSES.has(event.runStatus)) finished = true;
    }
    if (progress.length > 0) await recordProgress(trx, progress, seq);
    return stored;
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
    await insertNext(trx, reset.event, generation);
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

/** Inserts `event` as the run's next one unless its key (in `generation`) is stored already; the run is locked. */
async function insertNext(trx: Transaction<Database>, event: AuditEventRecord, generation: number): Promise<boolean> {
  const key = eventKey(event, generation);
  const existing = await trx.selectFrom('audit_events').select('seq').where('run_id', '=', event.runId).where('event_key', '=', key).executeTakeFirst();
  if (existing) return false;
  await insertEvent(trx, event, key, (await lastSeq(trx, event.runId)) + 1);
  return true;
}

/**
 * Records how far map steps are (never fewer items done than already recorded: a redone task may
 * send an older figure), and wakes the run's watchers. Not an audit event: the trail says when the
 * step started and ended; this only moves its counter.
 */
async function recordProgress(trx: Transaction<Database>, progress: readonly StepProgress[], seq: number): Promise<void> {
  for (const { runId, stepId, done, total } of progress) {
    await trx
      .updateTable('run_steps')
      .set({ items_done: sql<number>`greatest(coalesce(items_done, 0), ${done}::int)`, items_total: total })
      .where('run_id', '=', runId)
      .where('step_id', '=', stepId)
      .execute();
  }
  const { runId, tenantId } = progress[0]!;
  const notification: AuditNotification = { tenantId, runId, seq, type: 'STEP_PROGRESS' };
  await notifyWatchers(trx, notification);
}

/**
 * Flags the run's final events `superseded` (their key gets a `#superseded-<seq>` suffix, so the
 * redone task's own final event can be written), and puts the run back to the status it had
 * before them: COMPENSATING when a roll-back had started, RUNNING otherwise.
 * @returns the keys the superseded events had
 */
async function supersedeFinalEvents(trx: Transaction<Database>, runId: string): Promise<string[]> {
  const finals = await trx
    .selectFrom('audit_events')
    .select(['seq', 'event_key'])
    .where('run_id', '=', runId)
    .where('type', 'in', [...FINAL_AUDIT_EVENT_TYPES])
    .where('superseded', '=', false)
    .execute();
  if (finals.length === 0) return [];
  await trx
    .updateTable('audit_events')
    .set({ superseded: true, event_key: sql<string>`event_key || '#superseded-' || seq` })
    .where('run_id', '=', runId)
    .where('seq', 'in', finals.map((row) => row.seq))
    .execute();
  const compensating = await trx
    .selectFrom('audit_events')
    .select('seq')
    .where('run_id', '=', runId)
    .where('type', '=', 'COMPENSATION_STARTED')
    .executeTakeFirst();
  await trx
    .updateTable('runs')
    .set({ status: compensating ? 'COMPENSATING' : 'RUNNING', finished_at: null, output: null, error: null, updated_at: new Date() })
    .where('id', '=', runId)
    .execute();
  return finals.map((row) => row.event_key);
}

async function insertEvent(trx: Transaction<Database>, event: AuditEventRecord, key: string, seq: number): Promise<void> {
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
      level: event.level ?? null,
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
  await notifyWatchers(trx, notification);
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
      items_total: event.itemsTotal ?? null,
      items_done: event.itemsTotal === undefined ? null : 0,
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
        // A map step's counter: reset by a new attempt, full once it succeeds.
        items_total: event.itemsTotal === undefined ? eb.ref('run_steps.items_total') : event.itemsTotal,
        items_done:
          event.itemsTotal !== undefined ? 0 : status === 'SUCCEEDED' ? eb.ref('run_steps.items_total') : eb.ref('run_steps.items_done'),
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
