import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { Database } from './database';

/** The role tenant queries run as; row-level security policies apply to it (see the migration). */
export const TENANT_ROLE = 'trellis_tenant';

/**
 * The database as each tenant sees it. Every connection handed to a tenant's kysely instance is
 * first switched to {@link TENANT_ROLE} with `trellis.tenant` set to that tenant, so PostgreSQL's
 * row-level security shows and accepts only that tenant's rows, whatever a query's WHERE clause
 * says (or forgets to say). The connections come from a pool of their own, never shared with
 * Trellis's own queries (the worker's audit writes, API key lookups), which run as the owner.
 */
export class TenantDatabases {
  private readonly pool: pg.Pool;
  private readonly byTenant = new Map<string, Kysely<Database>>();

  constructor(url: string, options: { max?: number } = {}) {
    this.pool = new pg.Pool({ connectionString: url, max: options.max ?? 10 });
    this.pool.on('error', () => undefined); // an idle client lost its connection; the next query reconnects
  }

  /** The kysely instance whose queries see only `tenantId`'s rows. */
  for(tenantId: string): Kysely<Database> {
    let db = this.byTenant.get(tenantId);
    if (!db) {
      const pool = this.pool;
      // Each checkout sets both settings again: a connection may have served another tenant.
      const scoped = {
        async connect(): Promise<pg.PoolClient> {
          const client = await pool.connect();
          try {
            await client.query(`select set_config('role', $1, false), set_config('trellis.tenant', $2, false)`, [TENANT_ROLE, tenantId]);
          } catch (err) {
            client.release(err instanceof Error ? err : true);
            throw err;
          }
          return client;
        },
        // The shared pool is ended by destroy(), not by one tenant's instance.
        end: async (): Promise<void> => undefined,
      };
      db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: scoped as unknown as pg.Pool }) });
      this.byTenant.set(tenantId, db);
    }
    return db;
  }

  async destroy(): Promise<void> {
    this.byTenant.clear();
    await this.pool.end();
  }
}
