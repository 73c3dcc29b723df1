import { sql, type Kysely } from 'kysely';

/**
 * `startRun`, `retryRun` and `testRun` count the tenant's runs in flight (RUNNING or
 * COMPENSATING) before they start another (src/runs/runs-in-flight.ts); this partial index keeps
 * that count to the runs in flight, however many finished runs the tenant has.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`create index runs_in_flight_idx on runs (tenant_id) where status in ('RUNNING', 'COMPENSATING')`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop index runs_in_flight_idx`.execute(db);
}
