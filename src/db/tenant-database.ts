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
  /**
   * The tenant each connection of the pool was last switched to. Settings made with
   * `set_config(…, false)` stay with the connection, and nothing but {@link for} sets them on this
   * pool's connections (no query of Trellis's changes them, and tenants never send SQL): a
   * connection checked out again by the same tenant needs no second round trip. A connection that
   * failed is never handed out again (the pool replaces it with a new client).
   */
  private readonly switchedTo = new WeakMap<pg.PoolClient, string>();

  /** @param options.max connections in the pool (10) */
  constructor(url: string, options: { max?: number } = {}) {
    this.pool = new pg.Pool({ connectionString: url, max: options.max ?? 10 });
    this.pool.on('error', () => undefined); // an idle client lost its connection; the next query reconnects
  }

  /** The kysely instance whose queries see only `tenantId`'s rows. */
  for(tenantId: string): Kysely<Database> {
    let db = this.byTenant.get(tenantId);
    if (!db) {
      const { pool, switchedTo } = this;
      // A connection that served another tenant (or none yet) is switched to this one first.
      const scoped = {
        async connect(): Promise<pg.PoolClient> {
          const client = await pool.connect();
          if (switchedTo.get(client) === tenantId) return client;
          switchedTo.delete(client);
          try {
            await client.query(`select set_config('role', $1, false), set_config('trellis.tenant', $2, false)`, [TENANT_ROLE, tenantId]);
          } catch (err) {
            client.release(err instanceof Error ? err : true);
            throw err;
          }
          switchedTo.set(client, tenantId);
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
