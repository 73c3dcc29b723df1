import { sql, type Kysely } from 'kysely';

/** The tables this migration creates, each with a `tenant_id` kept apart by row-level security. */
const TRIGGER_TABLES = ['webhooks', 'webhook_deliveries', 'events', 'triggers', 'trigger_firings', 'schedules'];

/**
 * Triggers (SPEC §6, §7, §7a): signed webhooks and their deliveries, published events, event
 * triggers and their firings, and schedules (their timing lives in Temporal Schedules; the row is
 * what a fire may run). `runs.chain` records the runs and events that led to a run, for loop
 * prevention. Every new table gets the same row-level security policy as the others.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('runs').addColumn('chain', 'jsonb').execute();

  await db.schema
    .createTable('webhooks')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('definition_name', 'text', (c) => c.notNull())
    .addColumn('input', 'text')
    // The signing secret, AES-256-GCM under the secret store's key (HMAC needs the secret itself).
    .addColumn('secret_ciphertext', 'bytea', (c) => c.notNull())
    .addColumn('secret_iv', 'bytea', (c) => c.notNull())
    .addColumn('secret_tag', 'bytea', (c) => c.notNull())
    // The secret before the last rotation, accepted until previous_expires_at.
    .addColumn('previous_ciphertext', 'bytea')
    .addColumn('previous_iv', 'bytea')
    .addColumn('previous_tag', 'bytea')
    .addColumn('previous_expires_at', 'timestamptz')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('rotated_at', 'timestamptz')
    .execute();
  await db.schema.createIndex('webhooks_tenant_idx').on('webhooks').columns(['tenant_id', 'created_at']).execute();

  await db.schema
    .createTable('webhook_deliveries')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('webhook_id', 'uuid', (c) => c.notNull().references('webhooks.id').onDelete('cascade'))
    .addColumn('received_at', 'timestamptz', (c) => c.notNull())
    .addColumn('status_code', 'integer', (c) => c.notNull())
    .addColumn('latency_ms', 'double precision', (c) => c.notNull())
    .addColumn('run_id', 'uuid')
    .addColumn('error', 'jsonb')
    .addColumn('idempotency_key', 'text')
    // SHA-256 of the signed content ("<t>.<raw body>"): an exact replay answers the first run.
    .addColumn('signed_digest', 'text')
    .addColumn('chain', 'jsonb')
    .execute();
  await db.schema.createIndex('webhook_deliveries_list_idx').on('webhook_deliveries').columns(['webhook_id', 'received_at desc', 'id desc']).execute();
  await sql`create index webhook_deliveries_digest_idx on webhook_deliveries (webhook_id, signed_digest) where run_id is not null`.execute(db);

  await db.schema
    .createTable('events')
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('id', 'text', (c) => c.notNull())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('payload', 'jsonb', (c) => c.notNull())
    .addColumn('payload_hash', 'text', (c) => c.notNull())
    .addColumn('chain', 'jsonb')
    .addColumn('published_at', 'timestamptz', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('next_attempt_at', 'timestamptz', (c) => c.notNull())
    .addColumn('dispatched_at', 'timestamptz')
    .addColumn('last_error', 'text')
    .addPrimaryKeyConstraint('events_pk', ['tenant_id', 'id'])
    .execute();
  await sql`create index events_pending_idx on events (next_attempt_at) where status = 'PENDING'`.execute(db);

  await db.schema
    .createTable('triggers')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('event_type', 'text', (c) => c.notNull())
    .addColumn('filter', 'text')
    .addColumn('definition_name', 'text', (c) => c.notNull())
    .addColumn('input', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex('triggers_event_idx').on('triggers').columns(['tenant_id', 'event_type', 'created_at']).execute();

  await db.schema
    .createTable('trigger_firings')
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('event_id', 'text', (c) => c.notNull())
    .addColumn('trigger_id', 'uuid', (c) => c.notNull().references('triggers.id').onDelete('cascade'))
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('run_id', 'uuid')
    .addColumn('reason', 'text')
    .addColumn('at', 'timestamptz', (c) => c.notNull())
    .addPrimaryKeyConstraint('trigger_firings_pk', ['tenant_id', 'event_id', 'trigger_id'])
    .execute();
  await db.schema.createIndex('trigger_firings_trigger_idx').on('trigger_firings').columns(['trigger_id', 'at desc', 'event_id desc']).execute();

  await db.schema
    .createTable('schedules')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('definition_name', 'text', (c) => c.notNull())
    .addColumn('cron', 'text')
    .addColumn('every', 'text')
    .addColumn('timezone', 'text')
    .addColumn('input', 'jsonb', (c) => c.notNull())
    .addColumn('overlap', 'text', (c) => c.notNull())
    .addColumn('paused', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('last_error', 'text')
    .addColumn('last_error_at', 'timestamptz')
    .execute();
  await db.schema.createIndex('schedules_tenant_idx').on('schedules').columns(['tenant_id', 'created_at']).execute();

  for (const table of TRIGGER_TABLES) {
    await sql`grant select, insert, update, delete on ${sql.table(table)} to trellis_tenant`.execute(db);
    await sql`alter table ${sql.table(table)} enable row level security`.execute(db);
    await sql`
      create policy tenant_isolation on ${sql.table(table)} to trellis_tenant
      using (tenant_id = current_setting('trellis.tenant', true))
      with check (tenant_id = current_setting('trellis.tenant', true))`.execute(db);
  }
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of ['trigger_firings', 'triggers', 'events', 'webhook_deliveries', 'webhooks', 'schedules']) {
    await db.schema.dropTable(table).ifExists().execute();
  }
  await db.schema.alterTable('runs').dropColumn('chain').execute();
}
