import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { Database } from './database';

// Return timestamps and bigints in forms that JSON and GraphQL carry without surprises.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v));

/**
 * Creates the kysely instance over a `pg` pool.
 * @param url a `postgres://` connection string
 * @default max 10 connections
 */
export function createDatabase(url: string, options: { max?: number } = {}): Kysely<Database> {
  const pool = new pg.Pool({ connectionString: url, max: options.max ?? 10 });
  // An idle client that loses its connection emits 'error' on the pool; without a listener
  // that would crash the process instead of letting the next query reconnect.
  pool.on('error', () => undefined);
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
}
