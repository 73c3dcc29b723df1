import { sql, type Kysely } from 'kysely';

/* Migrations are frozen once released: they use untyped `Kysely<unknown>` so later changes to
 * `Database` can never alter what an old migration does. */

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('definitions')
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('latest_version', 'integer', (c) => c.notNull())
    .addColumn('description', 'text')
    .addColumn('archived_at', 'timestamptz')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('definitions_pk', ['tenant_id', 'name'])
    .execute();

  await db.schema
    .createTable('definition_versions')
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('version', 'integer', (c) => c.notNull().check(sql`version >= 1`))
    .addColumn('content_hash', 'text', (c) => c.notNull())
    .addColumn('spec', 'json', (c) => c.notNull()) // json, not jsonb: keeps the author's key order
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('definition_versions_pk', ['tenant_id', 'name', 'version'])
    .addForeignKeyConstraint('definition_versions_definition_fk', ['tenant_id', 'name'], 'definitions', ['tenant_id', 'name'])
    .execute();

  await db.schema
    .createTable('runs')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('definition_name', 'text', (c) => c.notNull())
    .addColumn('definition_version', 'integer', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('input', 'jsonb', (c) => c.notNull())
    .addColumn('output', 'jsonb')
    .addColumn('error', 'jsonb')
    .addColumn('trigger', 'jsonb', (c) => c.notNull())
    .addColumn('idempotency_key', 'text')
    .addColumn('workflow_id', 'text', (c) => c.notNull().unique())
    .addColumn('temporal_run_id', 'text')
    .addColumn('retry_of', 'uuid', (c) => c.references('runs.id'))
    .addColumn('started_at', 'timestamptz', (c) => c.notNull())
    .addColumn('finished_at', 'timestamptz')
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await sql`create unique index runs_idempotency_key_uq on runs (tenant_id, definition_name, idempotency_key) where idempotency_key is not null`.execute(db);
  await db.schema.createIndex('runs_tenant_started_idx').on('runs').columns(['tenant_id', 'started_at desc']).execute();
  await db.schema.createIndex('runs_definition_idx').on('runs').columns(['tenant_id', 'definition_name', 'started_at desc']).execute();

  await db.schema
    .createTable('run_steps')
    .addColumn('run_id', 'uuid', (c) => c.notNull().references('runs.id').onDelete('cascade'))
    .addColumn('step_id', 'text', (c) => c.notNull())
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('started_at', 'timestamptz')
    .addColumn('finished_at', 'timestamptz')
    .addColumn('output', 'jsonb')
    .addColumn('error', 'jsonb')
    .addPrimaryKeyConstraint('run_steps_pk', ['run_id', 'step_id'])
    .execute();

  await db.schema
    .createTable('audit_events')
    .addColumn('run_id', 'uuid', (c) => c.notNull().references('runs.id').onDelete('cascade'))
    .addColumn('seq', 'integer', (c) => c.notNull().check(sql`seq >= 1`))
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('at', 'timestamptz', (c) => c.notNull())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('step_id', 'text')
    .addColumn('attempt', 'integer')
    .addColumn('input_hash', 'text')
    .addColumn('output', 'jsonb')
    .addColumn('error', 'jsonb')
    .addColumn('message', 'text')
    .addColumn('actor', 'jsonb', (c) => c.notNull())
    .addPrimaryKeyConstraint('audit_events_pk', ['run_id', 'seq'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of ['audit_events', 'run_steps', 'runs', 'definition_versions', 'definitions']) {
    await db.schema.dropTable(table).ifExists().execute();
  }
}
