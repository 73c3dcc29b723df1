import type { Kysely } from 'kysely';
import { FINAL_RUN_STATUSES } from '../../definition/step-types';
import { toStorableText } from '../../definition/storable-json';
import { lastSeq, notifyWatchers, type AuditNotification } from '../db/audit.repository';
import type { Database } from '../db/database';

/** A refusal to record on the run whose request a trigger refused (see {@link recordTriggerRefusal}). */
export type TriggerRefusal = {
  tenantId: string;
  /** The run the refused request's chain names last. */
  runId: string;
  /** Identifies the refusal (`webhook:<delivery id>`, `event:<event id>:<trigger id>`, `start:<uuid>`): recorded once. */
  key: string;
  message: string;
};

/**
 * Records a `TRIGGER_REFUSED` audit event on the run a refused request came from (its chain's last
 * run), so the run's owner finds the loop in that run's trail, when the run is the tenant's own
 * and has not finished: a finished run's trail ends with its final event, and a run of another
 * tenant is none of this tenant's business. Takes the run's lock and next `seq` as the audit sink
 * does, so events stay gap-free; idempotent on `key`. The event's actor is the run's trigger, as
 * on every event of the run; the message says what was refused.
 * @returns whether an event was recorded
 */
export async function recordTriggerRefusal(db: Kysely<Database>, refusal: TriggerRefusal): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    const run = await trx
      .selectFrom('runs')
      .select(['status', 'trigger', 'definition_name'])
      .where('id', '=', refusal.runId)
      .where('tenant_id', '=', refusal.tenantId)
      .forNoKeyUpdate()
      .executeTakeFirst();
    if (!run || FINAL_RUN_STATUSES.has(run.status)) return false;
    const eventKey = `TRIGGER_REFUSED:${refusal.key}`;
    const existing = await trx.selectFrom('audit_events').select('seq').where('run_id', '=', refusal.runId).where('event_key', '=', eventKey).executeTakeFirst();
    if (existing) return false;
    const seq = (await lastSeq(trx, refusal.runId)) + 1;
    await trx
      .insertInto('audit_events')
      .values({
        run_id: refusal.runId,
        seq,
        event_key: eventKey,
        tenant_id: refusal.tenantId,
        at: new Date(),
        type: 'TRIGGER_REFUSED',
        step_id: null,
        attempt: null,
        input_hash: null,
        output: null,
        error: null,
        message: toStorableText(refusal.message),
        actor: JSON.stringify(run.trigger),
      })
      .execute();
    const notification: AuditNotification = { tenantId: refusal.tenantId, runId: refusal.runId, seq, type: 'TRIGGER_REFUSED', definition: run.definition_name };
    await notifyWatchers(trx, notification);
    return true;
  });
}
