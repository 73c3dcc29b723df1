import { sql, type Kysely } from 'kysely';

/**
 * Variables: per-tenant, non-secret configuration values definitions read with `$var('NAME')`,
 * kept apart between tenants by row-level security like every tenant table (see the
 * api-keys-and-row-level-security migration). A run pins the values it reads when it starts, in
 * `runs.variables` (null for runs started before variables existed).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('variables')
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    // Clients cannot send what jsonb refuses (U+0000): every GraphQL argument is checked first.
    .addColumn('value', 'jsonb', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('variables_pk', ['tenant_id', 'name'])
    .execute();
  await sql`grant select, insert, update, delete on variables to trellis_tenant`.execute(db);
  // Without this the policy below is never applied: every tenant would see every tenant's rows.
  await sql`alter table variables enable row level security`.execute(db);

  await sql`
    create policy tenant_isolation on variables to trellis_tenant
    using (tenant_id = current_setting('trellis.tenant', true))
    with check (tenant_id = current_setting('trellis.tenant', true))`.execute(db);
  await db.schema.alterTable('runs').addColumn('variables', 'jsonb').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('runs').dropColumn('variables').execute();
  await db.schema.dropTable('variables').execute();
}
