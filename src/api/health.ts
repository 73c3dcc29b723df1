import type { Connection } from '@temporalio/client';
import { sql, type Kysely } from 'kysely';
import type { Database } from '../db/database';

/** The body of `GET /health` (SPEC §8). */
export type HealthReport = {
  status: 'ok' | 'degraded';
  temporal: { status: 'up' | 'down'; address: string; namespace: string; uiUrl: string | null; error?: string };
  database: { status: 'up' | 'down'; error?: string };
};

export type HealthDeps = {
  db: Kysely<Database>;
  connection: Connection;
  temporal: { address: string; namespace: string; uiUrl: string | undefined };
};

const CHECK_TIMEOUT_MS = 2000;

async function probe(check: () => Promise<unknown>): Promise<{ status: 'up' | 'down'; error?: string }> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      check(),
      new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS))),
    ]);
    return { status: 'up' };
  } catch (err) {
    return { status: 'down', error: err instanceof Error ? err.message : String(err) };
  } finally {
    clearTimeout(timer);
  }
}

/** Checks PostgreSQL and the Temporal namespace at once, each within two seconds. */
export async function checkHealth(deps: HealthDeps): Promise<HealthReport> {
  const [database, temporal] = await Promise.all([
    probe(() => sql`select 1`.execute(deps.db)),
    probe(() => deps.connection.workflowService.describeNamespace({ namespace: deps.temporal.namespace })),
  ]);
  return {
    status: database.status === 'up' && temporal.status === 'up' ? 'ok' : 'degraded',
    temporal: { ...temporal, address: deps.temporal.address, namespace: deps.temporal.namespace, uiUrl: deps.temporal.uiUrl ?? null },
    database,
  };
}
