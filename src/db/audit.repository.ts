import { sql, type Kysely, type Transaction } from 'kysely';
import { FINAL_RUN_STATUSES, FINISHED_STEP_STATUSES } from '../../definition/step-types';
import type { AuditEventInput } from '../../interpreter/run-types';
import type { Database } from './database';

/** The channel every API process LISTENs on; the payload is {@link AuditNotification}. */
export const AUDIT_CHANNEL = 'trellis_audit';

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
 * cancelled during its backoff). A run emits each key at most once.
 */
export function eventKey(event: Pick<AuditEventRecord, 'type' | 'stepId' | 'attempt' | 'error'>): string {
  const variant = event.type === 'STEP_FAILED' && event.error?.type === 'Cancelled' ? 'cancelled' : '';
  return `${event.type}:${event.stepId ?? ''}:${event.attempt ?? ''}:${variant}`;
}


const json = (value: unknown): string | null => (value === undefined ? null : JSON.stringify(value));

/**
 * Stores one audit event and projects it onto the run index (`runs`, `run_steps`), then notifies
 * listeners — all in one transaction. The run's row must exist: it is never created here (see
 * `RunVerifier`). The event's `seq` is the run's next one, assigned here under a lock on the run,
 * so the trail has no gap. Idempotent on {@link eventKey}: a retried
 * write, or the same event written again by a worker that redid a workflow task another worker
 * died in, changes nothing and notifies no one, so events are never duplicated.
 * @returns whether the event was new
 */
export async function recordAuditEvent(db: Kysely<Database>, event: AuditEventRecord): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    // One writer per run at a time: seq is read and taken under this lock.
    await trx.selectFrom('runs').select('id').where('id', '=', event.runId).forNoKeyUpdate().executeTakeFirstOrThrow();
    const key = eventKey(event);
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
      .returning('seq')
      .executeTakeFirstOrThrow();
    if (event.stepId && event.stepStatus) await projectStep(trx, event);
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
  });
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
