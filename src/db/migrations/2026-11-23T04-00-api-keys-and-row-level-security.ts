import { sql, type Kysely } from 'kysely';

/** Tables whose rows belong to one tenant (a `tenant_id` column); row-level security keeps them apart. */
const TENANT_TABLES = ['definitions', 'definition_versions', 'runs', 'run_steps', 'audit_events', 'secrets', 'api_keys'];

/**
 * API keys (stored as SHA-256 hashes), and row-level security on every tenant table.
 *
 * The API runs tenant queries as the role `trellis_tenant` with `trellis.tenant` set to the
 * caller's tenant (see tenant-database.ts): the policies then show and accept only that tenant's
 * rows, whatever a query's WHERE clause says. The role that owns the tables (the one in
 * DATABASE_URL, which runs migrations, the worker and key lookups) is not subject to them.
 * Creating the role needs CREATEROLE (or a superuser); it is shared by every database of the
 * cluster, so several Trellis databases may create it at once.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('api_keys')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('admin', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('key_hash', 'text', (c) => c.notNull().unique())
    .addColumn('key_prefix', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('revoked_at', 'timestamptz')
    .execute();
  await db.schema.createIndex('api_keys_tenant_idx').on('api_keys').columns(['tenant_id', 'created_at']).execute();

  await sql`
    do $$ begin
      create role trellis_tenant nologin;
    exception when duplicate_object or unique_violation then null;
    end $$`.execute(db);
  // The owner switches to the role for tenant queries (SET ROLE needs membership).
  await sql`
    do $$ begin
      if not pg_has_role(current_user, 'trellis_tenant', 'member') then
        execute format('grant trellis_tenant to %I', current_user);
      end if;
    end $$`.execute(db);
  await sql`grant usage on schema public to trellis_tenant`.execute(db);
  for (const table of TENANT_TABLES) {
    await sql`grant select, insert, update, delete on ${sql.table(table)} to trellis_tenant`.execute(db);
    await sql`alter table ${sql.table(table)} enable row level security`.execute(db);
    await sql`
      create policy tenant_isolation on ${sql.table(table)} to trellis_tenant
      using (tenant_id = current_setting('trellis.tenant', true))
      with check (tenant_id = current_setting('trellis.tenant', true))`.execute(db);
  }
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of TENANT_TABLES.filter((t) => t !== 'api_keys')) {
    await sql`drop policy tenant_isolation on ${sql.table(table)}`.execute(db);
    await sql`alter table ${sql.table(table)} disable row level security`.execute(db);
    await sql`revoke all on ${sql.table(table)} from trellis_tenant`.execute(db);
  }
  await sql`revoke usage on schema public from trellis_tenant`.execute(db);
  await db.schema.dropTable('api_keys').execute();
}
