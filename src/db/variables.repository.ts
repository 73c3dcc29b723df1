import type { Kysely } from 'kysely';
import type { Database } from './database';

/** A tenant's variable as listed: its name, value and when it was last set. */
export type VariableEntry = { name: string; value: unknown; updatedAt: Date };

/** Creates or replaces a tenant's variable. */
export async function setVariable(db: Kysely<Database>, tenantId: string, name: string, value: unknown): Promise<void> {
  const json = JSON.stringify(value);
  await db
    .insertInto('variables')
    .values({ tenant_id: tenantId, name, value: json })
    .onConflict((oc) => oc.columns(['tenant_id', 'name']).doUpdateSet({ value: json, updated_at: new Date() }))
    .execute();
}

/** @returns whether a variable of that name was deleted */
export async function deleteVariable(db: Kysely<Database>, tenantId: string, name: string): Promise<boolean> {
  const result = await db.deleteFrom('variables').where('tenant_id', '=', tenantId).where('name', '=', name).executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
}

/** The tenant's variables, in name order. */
export async function listVariables(db: Kysely<Database>, tenantId: string): Promise<VariableEntry[]> {
  const rows = await db.selectFrom('variables').select(['name', 'value', 'updated_at']).where('tenant_id', '=', tenantId).orderBy('name').execute();
  return rows.map((row) => ({ name: row.name, value: row.value, updatedAt: row.updated_at }));
}

/** The values of those of `names` the tenant has set, by name. */
export async function findVariables(db: Kysely<Database>, tenantId: string, names: readonly string[]): Promise<Map<string, unknown>> {
  if (names.length === 0) return new Map();
  const rows = await db.selectFrom('variables').select(['name', 'value']).where('tenant_id', '=', tenantId).where('name', 'in', [...new Set(names)]).execute();
  return new Map(rows.map((row) => [row.name, row.value]));
}
