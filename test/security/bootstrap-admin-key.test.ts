import { randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Kysely } from 'kysely';
import pg from 'pg';
import { createApiKey, hashApiKey, revokeApiKey } from '../../src/api/api-keys';
import { registerBootstrapAdminKey } from '../../src/api/bootstrap-admin-key';
import { loadConfig } from '../../src/config';
import { createDatabase } from '../../src/db/create-database';
import type { Database } from '../../src/db/database';
import { migrateToLatest } from '../../src/db/migrator';
import { startTrellis } from '../../src/trellis';
import { graphql } from '../support/graphql-client';
import { createTestContext, type TestContext } from '../support/test-context';
import { until } from '../support/until';

/**
 * TRELLIS_BOOTSTRAP_ADMIN_KEY: a deployment's API is never keyless. The key is registered before
 * the API listens, once, however many processes start together, and never brought back once
 * revoked. API-only processes here: no worker is needed.
 */

const OPERATOR = 'ops';

/** A key as an operator makes one: `trk_` and 32 random bytes in base64url. */
function newSecret(): string {
  return `trk_${randomBytes(32).toString('base64url')}`;
}

const secret = newSecret();
const dataDir = path.join(os.tmpdir(), `trellis-no-data-${randomUUID()}`);
let ctx: TestContext;
const databases: Array<Kysely<Database>> = [];

beforeAll(async () => {
  ctx = await createTestContext({
    env: { TRELLIS_ROLE: 'api', TRELLIS_BOOTSTRAP_ADMIN_KEY: secret, TRELLIS_OPERATOR_TENANT: OPERATOR, TRELLIS_DATA_DIR: dataDir },
  });
}, 60_000);

afterAll(async () => {
  await Promise.all(databases.map((db) => db.destroy()));
  await ctx?.stop();
});

/** A new, migrated database of its own, as a fresh deployment has. */
async function freshDatabase(): Promise<{ db: Kysely<Database>; url: string }> {
  const admin = new pg.Client({ connectionString: process.env.TRELLIS_TEST_DATABASE_URL });
  const name = `trellis_bootstrap_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(process.env.TRELLIS_TEST_DATABASE_URL!);
  url.pathname = `/${name}`;
  const db = createDatabase(url.toString());
  databases.push(db);
  await migrateToLatest(db);
  return { db, url: url.toString() };
}

describe('a first start with TRELLIS_BOOTSTRAP_ADMIN_KEY', () => {
  it('registers the key as an admin key of the operator tenant, storing only its hash', async () => {
    const rows = await ctx.trellis.db.selectFrom('api_keys').selectAll().execute();
    expect(rows).toEqual([expect.objectContaining({ tenant_id: OPERATOR, name: 'bootstrap', admin: true, key_hash: hashApiKey(secret), revoked_at: null })]);
    expect(JSON.stringify(rows)).not.toContain(secret.slice(10));
  });

  it('leaves the API no keyless moment: a request without a key is refused, the bootstrap key is served', async () => {
    const anonymous = await graphql(ctx.graphqlUrl, '{ definitions { name } }');
    expect(anonymous.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    const operator = await graphql<{ apiKeys: Array<{ name: string }> }>(ctx.graphqlUrl, '{ apiKeys { name } }', {}, secret);
    expect(operator.errors).toBeUndefined();
    expect(operator.data?.apiKeys).toEqual([{ name: 'bootstrap' }]);
  });

  it('creates no data directory when PostgreSQL, Temporal and TRELLIS_SECRET_KEY are all given', async () => {
    await expect(fs.stat(dataDir)).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

describe('later starts', () => {
  it('a second start on the same database registers nothing more', async () => {
    const lines: string[] = [];
    const config = loadConfig({
      ...process.env,
      DATABASE_URL: ctx.trellis.databaseUrl,
      TEMPORAL_ADDRESS: ctx.trellis.temporalAddress,
      TRELLIS_SECRET_KEY: randomBytes(32).toString('base64'),
      TRELLIS_ROLE: 'api',
      PORT: '0',
      TRELLIS_BOOTSTRAP_ADMIN_KEY: secret,
      TRELLIS_OPERATOR_TENANT: OPERATOR,
    });
    const second = await startTrellis(config, { log: (line) => lines.push(line) });
    try {
      expect(lines).toContain(`TRELLIS_BOOTSTRAP_ADMIN_KEY is an admin key of the operator tenant "${OPERATOR}"`);
      expect(await ctx.trellis.db.selectFrom('api_keys').select('id').execute()).toHaveLength(1);
    } finally {
      await second.stop();
    }
  }, 60_000);

  it('processes starting together on a fresh database register the key exactly once', async () => {
    const { db, url } = await freshDatabase();
    const key = newSecret();
    // A registration in progress elsewhere holds the table: the six start while it does, so each
    // has to wait for the others, whatever the timing of this machine.
    const holder = new pg.Client({ connectionString: url });
    await holder.connect();
    await holder.query('begin; lock table api_keys in share row exclusive mode');
    const registrations = Array.from({ length: 6 }, () => registerBootstrapAdminKey(db, key, OPERATOR));
    await until('six registrations wait for the table', async () => {
      const { rows } = await holder.query(`select count(*)::int as waiting from pg_locks where relation = 'api_keys'::regclass and not granted`);
      return rows[0].waiting === 6;
    });
    await holder.query('commit');
    await holder.end();
    const outcomes = await Promise.all(registrations);
    expect(outcomes.filter((outcome) => outcome === 'registered')).toHaveLength(1);
    expect(outcomes.filter((outcome) => outcome === 'present')).toHaveLength(5);
    expect(await db.selectFrom('api_keys').select('key_hash').execute()).toEqual([{ key_hash: hashApiKey(key) }]);
  });

  it('never brings a revoked bootstrap key back', async () => {
    const { db } = await freshDatabase();
    const key = newSecret();
    expect(await registerBootstrapAdminKey(db, key, OPERATOR)).toBe('registered');
    const [row] = await db.selectFrom('api_keys').select('id').execute();
    await revokeApiKey(db, row!.id);
    expect(await registerBootstrapAdminKey(db, key, OPERATOR)).toBe('revoked');
    const rows = await db.selectFrom('api_keys').select(['id', 'revoked_at']).execute();
    expect(rows).toEqual([{ id: row!.id, revoked_at: expect.any(Date) }]);
  });

  it('adds nothing once the operator manages keys of their own', async () => {
    const { db } = await freshDatabase();
    await createApiKey(db, 'acme', 'ops', true);
    expect(await registerBootstrapAdminKey(db, newSecret(), OPERATOR)).toBe('other-keys');
    expect(await db.selectFrom('api_keys').select('tenant_id').execute()).toEqual([{ tenant_id: 'acme' }]);
  });
});

describe('configuration', () => {
  const base = { DATABASE_URL: 'postgres://localhost/trellis', TEMPORAL_ADDRESS: 'localhost:7233' };

  it('refuses a bootstrap key without an operator tenant', () => {
    expect(() => loadConfig({ ...base, TRELLIS_BOOTSTRAP_ADMIN_KEY: newSecret() })).toThrow(/TRELLIS_BOOTSTRAP_ADMIN_KEY: needs TRELLIS_OPERATOR_TENANT/);
  });

  it.each([['a short key', 'trk_abc'], ['no prefix', randomBytes(32).toString('base64url')], ['base64 padding', `trk_${randomBytes(32).toString('base64')}`]])(
    'refuses a bootstrap key with %s, saying how to make one',
    (_what, value) => {
      expect(() => loadConfig({ ...base, TRELLIS_OPERATOR_TENANT: OPERATOR, TRELLIS_BOOTSTRAP_ADMIN_KEY: value })).toThrow(/TRELLIS_BOOTSTRAP_ADMIN_KEY: must be "trk_" followed by 43 base64url characters/);
    },
  );
});
