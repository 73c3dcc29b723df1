import { sql } from 'kysely';
import { runCli } from '../../src/cli/main';
import { TenantDatabases } from '../../src/db/tenant-database';
import { collectSubscription, graphql, wsClient } from '../support/graphql-client';
import { createTestContext, type TestContext } from '../support/test-context';
import { until } from '../support/until';

let ctx: TestContext;
let tenants: TenantDatabases;
/** Admin keys of the two tenants, created with `trellis keys create`. */
const keys: Record<'acme' | 'globex', string> = { acme: '', globex: '' };
/** What the CLI printed creating acme's key, and a keyless request's answer before any key existed. */
let acmeCreated: { code: number; out: string[] };
let keylessBefore: { errors?: unknown[] };

beforeAll(async () => {
  ctx = await createTestContext();
  tenants = new TenantDatabases(ctx.trellis.databaseUrl);
  keylessBefore = await as(undefined, '{ runs { edges { cursor } } }');
  acmeCreated = await keysCli('create', '--tenant', 'acme', '--name', 'ops', '--admin');
  keys.acme = /^secret {2}(trk_\S+)$/.exec(acmeCreated.out[1] ?? '')?.[1] ?? '';
  keys.globex = /^secret {2}(trk_\S+)$/.exec((await keysCli('create', '--tenant', 'globex', '--admin')).out[1] ?? '')?.[1] ?? '';
});

afterAll(async () => {
  await tenants?.destroy();
  await ctx?.stop();
});

/** Runs `trellis keys …` against this file's database, as an operator would. */
async function keysCli(...argv: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const previous = process.env.DATABASE_URL;
  process.env.DATABASE_URL = ctx.trellis.databaseUrl;
  try {
    const code = await runCli(['keys', ...argv], { out: (line) => out.push(line), err: (line) => err.push(line) });
    return { code, out, err };
  } finally {
    if (previous === undefined) delete process.env.DATABASE_URL;
    else process.env.DATABASE_URL = previous;
  }
}

async function as<T = any>(key: string | undefined, query: string, variables: Record<string, unknown> = {}): Promise<{ data?: T; errors?: Array<{ message: string; extensions?: Record<string, any> }> }> {
  return graphql<T>(ctx.graphqlUrl, query, variables, key);
}

async function dataAs<T = any>(key: string, query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const result = await as<T>(key, query, variables);
  if (result.errors?.length || !result.data) throw new Error(`GraphQL errors: ${JSON.stringify(result.errors)}`);
  return result.data;
}

async function codeAs(key: string | undefined, query: string, variables: Record<string, unknown> = {}): Promise<unknown> {
  const result = await as(key, query, variables);
  return result.errors?.[0]?.extensions?.code ?? 'no error';
}

describe('API keys', () => {
  it('serves loopback clients as tenant "default" until the first key exists, then only requests with a valid key', async () => {
    expect(keylessBefore.errors).toBeUndefined();
    expect(acmeCreated.code).toBe(0);
    expect(acmeCreated.out[0]).toMatch(/^created admin key [0-9a-f-]{36} \(ops\) of tenant acme$/);
    expect(keys.acme).toMatch(/^trk_[A-Za-z0-9_-]{43}$/);

    const response = await fetch(ctx.graphqlUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ runs { edges { cursor } } }' }) });
    expect(response.status).toBe(401);
    expect(((await response.json()) as any).errors[0]).toMatchObject({ message: 'this API needs an API key: send "Authorization: Bearer <API key>"', extensions: { code: 'UNAUTHENTICATED' } });
    expect(await codeAs('trk_not-a-key', '{ runs { edges { cursor } } }')).toBe('UNAUTHENTICATED');
    const malformed = await fetch(ctx.graphqlUrl, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Basic abc' }, body: '{"query":"{ __typename }"}' });
    expect(((await malformed.json()) as any).errors[0].message).toBe('the Authorization header must read "Bearer <API key>"');
    expect(await codeAs(keys.acme, '{ runs { edges { cursor } } }')).toBe('no error');
  });

  it('stores only a hash of each key, never the key itself', async () => {
    const rows = await ctx.trellis.db.selectFrom('api_keys').selectAll().execute();
    const stored = JSON.stringify(rows);
    expect(stored).not.toContain(keys.acme);
    expect(rows.every((row) => /^[0-9a-f]{64}$/.test(row.key_hash))).toBe(true);
  });

  it('lets an admin key create and revoke keys of its own tenant only; other keys may not manage keys', async () => {
    const { createApiKey } = await dataAs(keys.acme, `mutation { createApiKey(name: "ci") { key { id name admin prefix revokedAt } secret } }`);
    expect(createApiKey.key).toMatchObject({ name: 'ci', admin: false, revokedAt: null });
    expect(createApiKey.secret.startsWith(createApiKey.key.prefix)).toBe(true);
    const ci = createApiKey.secret as string;
    expect(await codeAs(ci, '{ runs { edges { cursor } } }')).toBe('no error');
    expect(await codeAs(ci, `mutation { createApiKey(name: "sneaky", admin: true) { secret } }`)).toBe('FORBIDDEN');
    expect(await codeAs(ci, '{ apiKeys { id } }')).toBe('FORBIDDEN');

    const acmeKeys = (await dataAs(keys.acme, '{ apiKeys { id name } }')).apiKeys.map((k: { name: string }) => k.name);
    expect(acmeKeys).toEqual(['ops', 'ci']);
    const globexKeyId = (await dataAs(keys.globex, '{ apiKeys { id } }')).apiKeys[0].id;
    expect(await codeAs(keys.acme, `mutation($id: ID!) { revokeApiKey(id: $id) { id } }`, { id: globexKeyId })).toBe('NOT_FOUND');

    const { revokeApiKey } = await dataAs(keys.acme, `mutation($id: ID!) { revokeApiKey(id: $id) { id revokedAt } }`, { id: createApiKey.key.id });
    expect(revokeApiKey.revokedAt).not.toBeNull();
    const refused = await as(ci, '{ runs { edges { cursor } } }');
    expect(refused.errors?.[0]).toMatchObject({ message: 'the API key is unknown or has been revoked', extensions: { code: 'UNAUTHENTICATED' } });
  });

  it('lists and revokes keys with the CLI', async () => {
    const list = await keysCli('list', '--tenant', 'globex');
    expect(list.out[0]).toMatch(/^[0-9a-f-]{36} {2}globex {2}cli \(admin\) {2}trk_\S{6}… {2}active$/);
    expect(list.out.every((line) => line.includes('  globex  '))).toBe(true);
    const { createApiKey } = await dataAs(keys.globex, `mutation { createApiKey(name: "temp") { key { id } secret } }`);
    const revoked = await keysCli('revoke', '--id', createApiKey.key.id);
    expect(revoked.out).toEqual([`revoked key ${createApiKey.key.id} (temp) of tenant globex`]);
    expect(await codeAs(createApiKey.secret, '{ runs { edges { cursor } } }')).toBe('UNAUTHENTICATED');
    expect((await keysCli('create', '--tenant', 'Bad/Name')).code).toBe(1);
  });

  it('authenticates subscriptions by the key in the connection parameters', async () => {
    const closeCode = (key?: string) =>
      new Promise<number>((resolve) => {
        const client = wsClient(ctx.graphqlUrl, key);
        client.subscribe({ query: 'subscription { runsChanged { id } }' }, { next: () => undefined, complete: () => undefined, error: (event) => resolve((event as { code: number }).code) });
      });
    expect(await closeCode()).toBe(4403);
    expect(await closeCode('trk_wrong')).toBe(4403);
    const acme = wsClient(ctx.graphqlUrl, keys.acme);
    try {
      const run = (await dataAs(keys.acme, `mutation($spec: JSON!) { saveDefinition(spec: $spec) { name } }`, { spec: { name: 'ws-auth', steps: { one: { type: 'transform', value: 1 } } } }));
      expect(run.saveDefinition.name).toBe('ws-auth');
      const { startRun } = await dataAs(keys.acme, `mutation { startRun(definition: "ws-auth") { id } }`);
      const events = await collectSubscription<{ runEvents: { type: string } }>(acme, `subscription($id: ID!) { runEvents(runId: $id) { type } }`, { id: startRun.id });
      expect(events.at(-1)!.runEvents.type).toBe('RUN_COMPLETED');
    } finally {
      await acme.dispose();
    }
  });
});

describe('tenant isolation', () => {
  const SAVE = `mutation($spec: JSON!) { saveDefinition(spec: $spec) { name version } }`;
  const START = `mutation($name: String!) { startRun(definition: $name) { id temporal { workflowId } } }`;
  let acmeRun: { id: string; temporal: { workflowId: string } };

  beforeAll(async () => {
    const waiting = { name: 'acme-only', steps: { approval: { type: 'wait', signal: 'ok' } } };
    await dataAs(keys.acme, SAVE, { spec: waiting });
    await dataAs(keys.acme, SAVE, { spec: { name: 'shared-name', description: 'acme', steps: { one: { type: 'transform', value: 'acme' } } } });
    await dataAs(keys.globex, SAVE, { spec: { name: 'shared-name', description: 'globex', steps: { one: { type: 'transform', value: 'globex' } } } });
    await dataAs(keys.acme, `mutation { setSecret(name: "ACME_TOKEN", value: "s3cret-acme") }`);
    acmeRun = (await dataAs(keys.acme, START, { name: 'acme-only' })).startRun;
  });

  it('keeps every query of one tenant from seeing the other tenant\'s definitions, runs, secrets and keys', async () => {
    const g = keys.globex;
    expect((await dataAs(g, '{ definitions { edges { node { name description } } } }')).definitions.edges.map((e: any) => e.node)).toEqual([{ name: 'shared-name', description: 'globex' }]);
    expect((await dataAs(g, '{ definition(name: "acme-only") { name } }')).definition).toBeNull();
    expect((await dataAs(g, '{ definition(name: "shared-name") { versions { spec } } }')).definition.versions).toEqual([
      { spec: expect.objectContaining({ description: 'globex' }) },
    ]);
    expect((await dataAs(g, '{ runs { edges { node { id } } } }')).runs.edges).toEqual([]);
    expect((await dataAs(g, `query($id: ID!) { run(id: $id) { id } }`, { id: acmeRun.id })).run).toBeNull();
    expect((await dataAs(g, '{ secrets { name } }')).secrets).toEqual([]);
    const globexKeys = (await dataAs(g, '{ apiKeys { name } }')).apiKeys.map((k: any) => k.name);
    expect(globexKeys).toContain('cli');
    expect(globexKeys).not.toContain('ops');
    const validation = (await dataAs(g, `query($spec: JSON!) { validateDefinition(spec: $spec) { valid errors { path message } } }`, {
      spec: { name: 'calls-acme', steps: { child: { type: 'workflow', definition: 'acme-only' } } },
    })).validateDefinition;
    expect(validation).toMatchObject({ valid: false, errors: [{ path: '/steps/child', message: expect.stringContaining('definition "acme-only" does not exist') }] });
  });

  it('refuses every mutation of one tenant on the other tenant\'s definitions and runs as NOT_FOUND', async () => {
    const g = keys.globex;
    const id = acmeRun.id;
    expect(await codeAs(g, START, { name: 'acme-only' })).toBe('NOT_FOUND');
    expect(await codeAs(g, `mutation { archiveDefinition(name: "acme-only") { name } }`)).toBe('NOT_FOUND');
    expect(await codeAs(g, `mutation($id: ID!) { cancelRun(id: $id) { id } }`, { id })).toBe('NOT_FOUND');
    expect(await codeAs(g, `mutation($id: ID!) { signalRun(id: $id, signal: "ok") { id } }`, { id })).toBe('NOT_FOUND');
    expect(await codeAs(g, `mutation($id: ID!) { retryRun(id: $id, dryRun: true) { id } }`, { id })).toBe('NOT_FOUND');
    expect(await codeAs(g, `mutation($spec: JSON!) { testRun(spec: $spec) { id } }`, { spec: { name: 'probe', steps: { child: { type: 'workflow', definition: 'acme-only' } } } })).toBe('BAD_USER_INPUT');
    expect((await dataAs(g, `mutation { deleteSecret(name: "ACME_TOKEN") }`)).deleteSecret).toBe(false);
    expect((await dataAs(keys.acme, '{ secrets { name } }')).secrets).toEqual([{ name: 'ACME_TOKEN' }]);
    // The acme run is untouched by all of that, and still waits.
    expect((await dataAs(keys.acme, `query($id: ID!) { run(id: $id) { status } }`, { id })).run.status).toBe('RUNNING');
    expect(acmeRun.temporal.workflowId).toBe(`acme/acme-only/${id}`);
  });

  it('refuses subscriptions to the other tenant\'s runs, and streams only the tenant\'s own runs to runsChanged', async () => {
    const globex = wsClient(ctx.graphqlUrl, keys.globex);
    try {
      await expect(collectSubscription(globex, `subscription($id: ID!) { runEvents(runId: $id) { seq } }`, { id: acmeRun.id })).rejects.toThrow(/NOT_FOUND/);
      await expect(collectSubscription(globex, `subscription($id: ID!) { runUpdated(runId: $id) { id } }`, { id: acmeRun.id })).rejects.toThrow(/NOT_FOUND/);
      await expect(collectSubscription(globex, `subscription($id: ID!) { runEventBatches(runId: $id) { seq } }`, { id: acmeRun.id })).rejects.toThrow(/NOT_FOUND/);
      await expect(collectSubscription(globex, `subscription($id: ID!) { runWatch(runId: $id) { run { id } events { seq } } }`, { id: acmeRun.id })).rejects.toThrow(/NOT_FOUND/);
      // An id that is no run id at all is refused the same way (it never reaches PostgreSQL as a uuid).
      await expect(collectSubscription(globex, `subscription($id: ID!) { runWatch(runId: $id) { run { id } } }`, { id: `${acmeRun.id}' or true --` })).rejects.toThrow(/NOT_FOUND/);
      const seen: string[] = [];
      const unsubscribe = globex.subscribe<{ runsChanged: { id: string; definition: string } }>(
        { query: 'subscription { runsChanged { id definition } }' },
        { next: (value) => seen.push(`${value.data!.runsChanged.definition}:${value.data!.runsChanged.id}`), error: () => undefined, complete: () => undefined },
      );
      try {
        // Once globex's probe run shows, the subscription is live.
        const probe = (await dataAs(keys.globex, START, { name: 'shared-name' })).startRun;
        await until('the subscription is live', () => seen.some((entry) => entry.endsWith(probe.id)));
        const acme = (await dataAs(keys.acme, START, { name: 'shared-name' })).startRun;
        const own = (await dataAs(keys.globex, START, { name: 'shared-name' })).startRun;
        await until('globex sees its own run', () => seen.some((entry) => entry.endsWith(own.id)));
        expect(seen.some((entry) => entry.endsWith(acme.id))).toBe(false);
        expect(seen.every((entry) => entry.startsWith('shared-name:'))).toBe(true);
      } finally {
        unsubscribe();
      }
    } finally {
      await globex.dispose();
    }
  });

  it('enforces isolation in PostgreSQL itself: a tenant\'s connection sees and writes only its own rows, whatever the query says', async () => {
    const globexDb = tenants.for('globex');
    const runs = await globexDb.selectFrom('runs').select(['tenant_id']).execute();
    expect(runs.length).toBeGreaterThan(0);
    expect(new Set(runs.map((run) => run.tenant_id))).toEqual(new Set(['globex']));
    expect(await globexDb.selectFrom('secrets').selectAll().execute()).toEqual([]);
    expect(await globexDb.selectFrom('audit_events').select('tenant_id').where('run_id', '=', acmeRun.id).execute()).toEqual([]);
    await expect(
      globexDb.insertInto('definitions').values({ tenant_id: 'acme', name: 'planted', latest_version: 1 }).execute(),
    ).rejects.toThrow(/row-level security/);
    const updated = await globexDb.updateTable('runs').set({ status: 'FAILED' }).where('id', '=', acmeRun.id).executeTakeFirst();
    expect(Number(updated.numUpdatedRows)).toBe(0);
  });

  it('switches one connection from tenant to tenant, after a refused write too, and only when the tenant changes', async () => {
    const single = new TenantDatabases(ctx.trellis.databaseUrl, { max: 1 });
    try {
      const seen = async (tenant: string) => {
        const rows = await single.for(tenant).selectFrom('runs').select(['tenant_id']).execute();
        const { rows: [session] } = await sql<{ tenant: string; role: string; pid: number }>`select current_setting('trellis.tenant') as tenant, current_user as role, pg_backend_pid() as pid`.execute(single.for(tenant));
        return { tenants: [...new Set(rows.map((row) => row.tenant_id))], ...session! };
      };
      const first = await seen('acme');
      expect(first).toMatchObject({ tenants: ['acme'], tenant: 'acme', role: 'trellis_tenant' });
      expect(await seen('globex')).toEqual({ ...first, tenants: ['globex'], tenant: 'globex' });
      await expect(single.for('globex').insertInto('definitions').values({ tenant_id: 'acme', name: 'planted', latest_version: 1 }).execute()).rejects.toThrow(/row-level security/);
      expect(await seen('acme')).toEqual(first);
      expect(await seen('globex')).toMatchObject({ tenants: ['globex'], tenant: 'globex', pid: first.pid });
      // The same tenant again on the same connection: its settings are not made again (one round
      // trip less), which is why nothing else may change them. A setting changed behind the pool's
      // back survives until another tenant takes the connection.
      await sql`select set_config('trellis.tenant', 'nobody', false)`.execute(single.for('globex'));
      expect(await seen('globex')).toMatchObject({ tenants: [], tenant: 'nobody', pid: first.pid });
      expect(await seen('acme')).toEqual(first);
    } finally {
      await single.destroy();
    }
  });
});
