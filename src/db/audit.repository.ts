import { sql, type Kysely, type Transaction } from 'kysely';
import { FINAL_RUN_STATUSES, FINISHED_STEP_STATUSES } from '../../definition/step-types';
import type { AuditEventInput } from '../../interpreter/run-types';
import type { Database } from './database';

/** The channel every API process LISTENs on; the payload is {@link AuditNotification}. */
export const AUDIT_CHANNEL = 'trellis_audit';

export type AuditNotification = { tenantId: string; runId: string; seq: number; type: string; definition?: string };

/** An audit event ready to store: the input already reduced to its hash, snapshots already capped. */
export type AuditEventRecord = Omit<AuditEventInput, 'input'> & { inputHash?: string; stepOutput?: unknown };


const json = (value: unknown): string | null => (value === undefined ? null : JSON.stringify(value));

/**
 * Stores one audit event and projects it onto the run index (`runs`, `run_steps`), then notifies
 * listeners — all in one transaction. Idempotent on `(run_id, seq)`: a retried or replayed write
 * changes nothing and notifies no one, so events are never duplicated.
 * @returns whether the event was new
 */
export async function recordAuditEvent(db: Kysely<Database>, event: AuditEventRecord): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    if (event.run) await upsertRun(trx, event);
    const inserted = await trx
      .insertInto('audit_events')
      .values({
        run_id: event.runId,
        seq: event.seq,
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
      .onConflict((oc) => oc.columns(['run_id', 'seq']).doNothing())
      .returning('seq')
      .executeTakeFirst();
    if (!inserted) return false;
    if (event.stepId && event.stepStatus) await projectStep(trx, event);
    if (event.runStatus) await projectRun(trx, event);
    const notification: AuditNotification = {
      tenantId: event.tenantId,
      runId: event.runId,
      seq: event.seq,
      type: event.type,
      definition: event.run?.definitionName,
    };
    await sql`select pg_notify(${AUDIT_CHANNEL}, ${JSON.stringify(notification)})`.execute(trx);
    return true;
  });
}

async function upsertRun(trx: Transaction<Database>, event: AuditEventRecord): Promise<void> {
  const run = event.run!;
  await trx
    .insertInto('runs')
    .values({
      id: event.runId,
      tenant_id: event.tenantId,
      definition_name: run.definitionName,
      definition_version: run.definitionVersion,
      status: 'RUNNING',
      input: JSON.stringify(run.input ?? null),
      trigger: JSON.stringify(run.trigger),
      workflow_id: run.workflowId,
      temporal_run_id: run.temporalRunId,
      started_at: run.startedAt,
    })
    .onConflict((oc) => oc.column('id').doUpdateSet({ temporal_run_id: run.temporalRunId }))
    .execute();
}

async function projectStep(trx: Transaction<Database>, event: AuditEventRecord): Promise<void> {
  const status = event.stepStatus!;
  const finished = FINISHED_STEP_STATUSES.has(status) ? event.at : null;
  const output = status === 'SUCCEEDED' ? json(event.stepOutput) : null;
  const error = event.error ? json(event.error) : null;
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
