import { sql, type Kysely } from 'kysely';
import { definitionContentHash } from '../../definitions/content-hash';

/**
 * Content hashes leave out a definition's `"$schema"` (see definitionContentHash): versions saved
 * with one get their hash again, so saving the same document without it, or with another URL,
 * finds them instead of making a new version.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  const { rows } = await sql<{ tenant_id: string; name: string; version: number; spec: unknown }>`
    select tenant_id, name, version, spec from definition_versions where position('"$schema"' in spec::text) > 0`.execute(db);
  // A cheap textual preselection (json, not jsonb: a cast could fail on old texts); the hash
  // function itself looks for a top-level member.
  for (const row of rows) {
    await sql`
      update definition_versions set content_hash = ${definitionContentHash(row.spec)}
      where tenant_id = ${row.tenant_id} and name = ${row.name} and version = ${row.version}`.execute(db);
  }
}

export async function down(): Promise<void> {
  // The old hashes are not kept; a version keeps its new one (it still names the same content).
}
