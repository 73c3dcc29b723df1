import type { Kysely } from 'kysely';
import { Migrator, type Migration, type MigrationProvider } from 'kysely';
import type { Database } from './database';
import * as initial from './migrations/2026-11-23T00-00-initial';
import * as secrets from './migrations/2026-11-23T01-00-secrets';
import * as retriesAndTestRuns from './migrations/2026-11-23T02-00-retries-and-test-runs';
import * as auditEventKeys from './migrations/2026-11-23T03-00-audit-event-keys';
import * as apiKeys from './migrations/2026-11-23T04-00-api-keys-and-row-level-security';
import * as apiKeyEvents from './migrations/2026-11-24T00-00-api-key-events';
import * as runsInFlightIndex from './migrations/2026-11-24T00-01-runs-in-flight-index';
import * as stepInputSnapshots from './migrations/2026-11-24T00-02-step-input-snapshots';
import * as variables from './migrations/2026-11-30T00-00-variables';
import * as contentHashWithoutSchema from './migrations/2026-11-30T00-01-content-hash-without-schema';
import * as supersededFinalEvents from './migrations/2026-11-30T00-00-superseded-final-events';
import * as runResets from './migrations/2026-11-30T09-00-run-resets';
import * as retention from './migrations/2026-11-30T09-01-retention';
import * as triggers from './migrations/2026-11-30T02-00-triggers';
import * as logLevels from './migrations/2026-11-30T12-00-log-levels';

/** Every migration, keyed by its timestamped name; listed here so bundlers and tsx need no file scan. */
const MIGRATIONS: Record<string, Migration> = {
  '2026-11-23T00-00-initial': initial,
  '2026-11-23T01-00-secrets': secrets,
  '2026-11-23T02-00-retries-and-test-runs': retriesAndTestRuns,
  '2026-11-23T03-00-audit-event-keys': auditEventKeys,
  '2026-11-23T04-00-api-keys-and-row-level-security': apiKeys,
  '2026-11-24T00-00-api-key-events': apiKeyEvents,
  '2026-11-24T00-01-runs-in-flight-index': runsInFlightIndex,
  '2026-11-24T00-02-step-input-snapshots': stepInputSnapshots,
  '2026-11-30T00-00-variables': variables,
  '2026-11-30T00-01-content-hash-without-schema': contentHashWithoutSchema,
  '2026-11-30T00-00-superseded-final-events': supersededFinalEvents,
  '2026-11-30T09-00-run-resets': runResets,
  '2026-11-30T09-01-retention': retention,
  '2026-11-30T02-00-triggers': triggers,
  '2026-11-30T12-00-log-levels': logLevels,
};

const provider: MigrationProvider = { getMigrations: () => Promise.resolve(MIGRATIONS) };

/**
 * Brings the schema up to date. Safe to call from several processes at once: kysely takes a
 * PostgreSQL advisory lock around the run.
 * @throws Error naming the migration that failed.
 */
export async function migrateToLatest(db: Kysely<Database>): Promise<void> {
  const migrator = new Migrator({ db, provider });
  const { error, results } = await migrator.migrateToLatest();
  const failed = results?.find((r) => r.status === 'Error');
  if (error) {
    throw new Error(`database migration ${failed?.migrationName ?? ''} failed: ${String(error)}`, { cause: error });
  }
}
