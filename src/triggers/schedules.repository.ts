import type { Insertable, Kysely } from 'kysely';
import { toStorableText } from '../../definition/storable-json';
import type { Database, ScheduleRow, SchedulesTable } from '../db/database';

/** The tenant's schedules, oldest first. */
export function listSchedules(db: Kysely<Database>, tenantId: string): Promise<ScheduleRow[]> {
  return db.selectFrom('schedules').selectAll().where('tenant_id', '=', tenantId).orderBy('created_at').orderBy('id').execute();
}

export function findSchedule(db: Kysely<Database>, tenantId: string, id: string): Promise<ScheduleRow | undefined> {
  return db.selectFrom('schedules').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();
}

export async function countSchedules(db: Kysely<Database>, tenantId: string): Promise<number> {
  const { count } = await db.selectFrom('schedules').select((eb) => eb.fn.countAll<string>().as('count')).where('tenant_id', '=', tenantId).executeTakeFirstOrThrow();
  return Number(count);
}

export function insertSchedule(db: Kysely<Database>, row: Insertable<SchedulesTable>): Promise<ScheduleRow> {
  return db.insertInto('schedules').values(row).returningAll().executeTakeFirstOrThrow();
}

export function setSchedulePaused(db: Kysely<Database>, tenantId: string, id: string, paused: boolean): Promise<ScheduleRow | undefined> {
  return db.updateTable('schedules').set({ paused }).where('tenant_id', '=', tenantId).where('id', '=', id).returningAll().executeTakeFirst();
}

/** @returns whether a row was deleted */
export async function deleteScheduleRow(db: Kysely<Database>, tenantId: string, id: string): Promise<boolean> {
  const result = await db.deleteFrom('schedules').where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
}

/**
 * Records how a fire went: `error` says why it started no run (kept, with its time, until a fire
 * starts one); undefined clears an earlier error.
 */
export async function recordScheduleOutcome(db: Kysely<Database>, id: string, error: string | undefined): Promise<void> {
  if (error === undefined) {
    await db.updateTable('schedules').set({ last_error: null, last_error_at: null }).where('id', '=', id).where('last_error', 'is not', null).execute();
  } else {
    await db.updateTable('schedules').set({ last_error: toStorableText(error), last_error_at: new Date() }).where('id', '=', id).execute();
  }
}
