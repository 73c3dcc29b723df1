import type { Insertable, Kysely } from 'kysely';
import type { Database, EventRow, EventsTable, TriggerFiringRow, TriggerFiringsTable, TriggerRow, TriggersTable } from '../db/database';

/** The tenant's event triggers, oldest first. */
export function listTriggers(db: Kysely<Database>, tenantId: string): Promise<TriggerRow[]> {
  return db.selectFrom('triggers').selectAll().where('tenant_id', '=', tenantId).orderBy('created_at').orderBy('id').execute();
}

export function findTrigger(db: Kysely<Database>, tenantId: string, id: string): Promise<TriggerRow | undefined> {
  return db.selectFrom('triggers').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();
}

/** The triggers of an event type that existed when the event was published, oldest first. */
export function triggersOfEvent(db: Kysely<Database>, event: Pick<EventRow, 'tenant_id' | 'type' | 'published_at'>): Promise<TriggerRow[]> {
  return db
    .selectFrom('triggers')
    .selectAll()
    .where('tenant_id', '=', event.tenant_id)
    .where('event_type', '=', event.type)
    .where('created_at', '<=', event.published_at)
    .orderBy('created_at')
    .orderBy('id')
    .execute();
}

export async function countTriggers(db: Kysely<Database>, tenantId: string, eventType?: string): Promise<number> {
  let query = db.selectFrom('triggers').select((eb) => eb.fn.countAll<string>().as('count')).where('tenant_id', '=', tenantId);
  if (eventType !== undefined) query = query.where('event_type', '=', eventType);
  return Number((await query.executeTakeFirstOrThrow()).count);
}

export function insertTrigger(db: Kysely<Database>, row: Insertable<TriggersTable>): Promise<TriggerRow> {
  return db.insertInto('triggers').values(row).returningAll().executeTakeFirstOrThrow();
}

/** @returns whether a trigger was deleted (its firings go with it) */
export async function deleteTriggerRow(db: Kysely<Database>, tenantId: string, id: string): Promise<boolean> {
  const result = await db.deleteFrom('triggers').where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
}

export function findEvent(db: Kysely<Database>, tenantId: string, id: string): Promise<EventRow | undefined> {
  return db.selectFrom('events').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();
}

/** Inserts an event unless its id is taken; returns the event of that id either way, and whether it is new. */
export async function insertEvent(db: Kysely<Database>, row: Insertable<EventsTable>): Promise<{ row: EventRow; created: boolean }> {
  const inserted = await db.insertInto('events').values(row).onConflict((oc) => oc.columns(['tenant_id', 'id']).doNothing()).returningAll().executeTakeFirst();
  if (inserted) return { row: inserted, created: true };
  return { row: (await findEvent(db, row.tenant_id, row.id))!, created: false };
}

/** Records what a trigger did with an event, once: the first record stands. */
export async function insertFiring(db: Kysely<Database>, row: Insertable<TriggerFiringsTable>): Promise<void> {
  await db.insertInto('trigger_firings').values(row).onConflict((oc) => oc.columns(['tenant_id', 'event_id', 'trigger_id']).doNothing()).execute();
}

/** An event's firings, in trigger order. */
export function firingsOfEvent(db: Kysely<Database>, tenantId: string, eventId: string): Promise<TriggerFiringRow[]> {
  return db.selectFrom('trigger_firings').selectAll().where('tenant_id', '=', tenantId).where('event_id', '=', eventId).orderBy('at').orderBy('trigger_id').execute();
}

/** A trigger's latest firings, newest first. */
export function firingsOfTrigger(db: Kysely<Database>, triggerId: string, limit: number): Promise<TriggerFiringRow[]> {
  return db.selectFrom('trigger_firings').selectAll().where('trigger_id', '=', triggerId).orderBy('at', 'desc').orderBy('event_id', 'desc').limit(limit).execute();
}
