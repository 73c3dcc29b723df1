import { sql, type Kysely } from 'kysely';
import type { Database, DefinitionRow, DefinitionVersionRow } from './database';

export type SavedVersion = { row: DefinitionVersionRow; created: boolean };

/**
 * Stores `spec` as the next version of definition `name`, unless the latest version already has
 * `contentHash`, in which case that version is returned with `created: false`. Concurrent saves of
 * one definition are serialised by a row lock, so versions stay gap-free.
 */
export async function saveDefinitionVersion(
  db: Kysely<Database>,
  tenantId: string,
  name: string,
  spec: unknown,
  contentHash: string,
  description: string | null,
): Promise<SavedVersion> {
  return db.transaction().execute(async (trx) => {
    await trx
      .insertInto('definitions')
      .values({ tenant_id: tenantId, name, latest_version: 0, description })
      .onConflict((oc) => oc.columns(['tenant_id', 'name']).doNothing())
      .execute();
    const definition = await trx
      .selectFrom('definitions')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('name', '=', name)
      .forUpdate()
      .executeTakeFirstOrThrow();
    if (definition.latest_version > 0) {
      const latest = await findVersion(trx, tenantId, name, definition.latest_version);
      if (latest?.content_hash === contentHash) {
        // Saving is also how an archived definition is brought back.
        if (definition.archived_at) await trx.updateTable('definitions').set({ archived_at: null, updated_at: new Date() }).where('tenant_id', '=', tenantId).where('name', '=', name).execute();
        return { row: latest, created: false };
      }
    }
    const version = definition.latest_version + 1;
    const row = await trx
      .insertInto('definition_versions')
      .values({ tenant_id: tenantId, name, version, content_hash: contentHash, spec: JSON.stringify(spec) })
      .returningAll()
      .executeTakeFirstOrThrow();
    await trx
      .updateTable('definitions')
      .set({ latest_version: version, description, archived_at: null, updated_at: new Date() })
      .where('tenant_id', '=', tenantId)
      .where('name', '=', name)
      .execute();
    return { row, created: true };
  });
}

export function findDefinition(db: Kysely<Database>, tenantId: string, name: string): Promise<DefinitionRow | undefined> {
  return db
    .selectFrom('definitions')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('name', '=', name)
    .executeTakeFirst();
}

/** One version of a definition; `'latest'` resolves to the highest version. */
export async function findVersion(
  db: Kysely<Database>,
  tenantId: string,
  name: string,
  version: number | 'latest',
): Promise<DefinitionVersionRow | undefined> {
  let query = db
    .selectFrom('definition_versions')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('name', '=', name);
  query = version === 'latest' ? query.orderBy('version', 'desc').limit(1) : query.where('version', '=', version);
  return query.executeTakeFirst();
}

/** Every version of a definition, newest first. */
export function listVersions(db: Kysely<Database>, tenantId: string, name: string): Promise<DefinitionVersionRow[]> {
  return db
    .selectFrom('definition_versions')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('name', '=', name)
    .orderBy('version', 'desc')
    .execute();
}

/**
 * Definitions by name, after `afterName`, optionally only those whose name or description
 * contains `search` (case-insensitive).
 */
export function listDefinitions(
  db: Kysely<Database>,
  tenantId: string,
  options: { afterName?: string; search?: string; includeArchived?: boolean; limit: number },
): Promise<DefinitionRow[]> {
  let query = db.selectFrom('definitions').selectAll().where('tenant_id', '=', tenantId).orderBy('name').limit(options.limit);
  if (options.afterName !== undefined) query = query.where('name', '>', options.afterName);
  if (!options.includeArchived) query = query.where('archived_at', 'is', null);
  if (options.search) {
    const pattern = `%${options.search.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    query = query.where((eb) => eb.or([eb('name', 'ilike', pattern), eb('description', 'ilike', pattern)]));
  }
  return query.execute();
}

/** Marks a definition archived (no new runs); returns it, or undefined when it does not exist. */
export function archiveDefinition(db: Kysely<Database>, tenantId: string, name: string): Promise<DefinitionRow | undefined> {
  return db
    .updateTable('definitions')
    .set((eb) => ({ archived_at: eb.fn.coalesce('archived_at', sql<Date>`now()`), updated_at: new Date() }))
    .where('tenant_id', '=', tenantId)
    .where('name', '=', name)
    .returningAll()
    .executeTakeFirst();
}
