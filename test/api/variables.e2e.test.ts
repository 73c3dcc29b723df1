import pg from 'pg';
import { TenantDatabases } from '../../src/db/tenant-database';
import { graphql } from '../support/graphql-client';
import { createKeyWithCli } from '../support/keys-cli';
import { createTestContext, type TestContext } from '../support/test-context';

let ctx: TestContext;
let tenants: TenantDatabases;

beforeAll(async () => {
  ctx = await createTestContext();
  tenants = new TenantDatabases(ctx.trellis.databaseUrl);
});

afterAll(async () => {
  await tenants?.destroy();
  await ctx?.stop();
});

const SET = `mutation($name: String!, $value: JSON!) { setVariable(name: $name, value: $value) }`;
const LIST = `{ variables { name value updatedAt } }`;

describe('variables', () => {
  // Keyless (tenant "default") first; the isolation test below creates keys, after which every request needs one.
  it('are set, replaced, listed in name order with their JSON values, and deleted', async () => {
    expect(await ctx.gql(SET, { name: 'SERVICES_URL', value: 'http://127.0.0.1:4010' })).toEqual({ setVariable: true });
    await ctx.gql(SET, { name: 'LIMITS', value: { max: 3, regions: ['eu'] } });
    await ctx.gql(SET, { name: 'RATE', value: 0.25 });
    await ctx.gql(SET, { name: 'RATE', value: 0.5 });
    const { variables } = await ctx.gql<{ variables: Array<{ name: string; value: unknown; updatedAt: string }> }>(LIST);
    expect(variables.map(({ name, value }) => ({ name, value }))).toEqual([
      { name: 'LIMITS', value: { max: 3, regions: ['eu'] } },
      { name: 'RATE', value: 0.5 },
      { name: 'SERVICES_URL', value: 'http://127.0.0.1:4010' },
    ]);
    expect(variables.every((v) => !Number.isNaN(Date.parse(v.updatedAt)))).toBe(true);

    expect(await ctx.gql(`mutation { deleteVariable(name: "RATE") }`)).toEqual({ deleteVariable: true });
    expect(await ctx.gql(`mutation { deleteVariable(name: "RATE") }`)).toEqual({ deleteVariable: false });
    expect((await ctx.gql<{ variables: Array<{ name: string }> }>(LIST)).variables.map((v) => v.name)).toEqual(['LIMITS', 'SERVICES_URL']);
  });

  it('refuse invalid names, names every object has, null and values over 16 KiB, each at its argument', async () => {
    const refusal = async (name: string, value: unknown) => (await graphql(ctx.graphqlUrl, SET, { name, value })).errors?.[0]?.extensions;
    expect(await refusal('base-url', 'x')).toEqual({
      code: 'BAD_USER_INPUT',
      errors: [{ path: '/name', message: 'use a letter or "_" then letters, digits or "_", at most 128 characters' }],
    });
    expect(await refusal('__proto__', 'x')).toMatchObject({ code: 'BAD_USER_INPUT', errors: [{ path: '/name' }] });
    expect(await refusal('BIG', 'x'.repeat(16 * 1024))).toEqual({
      code: 'BAD_USER_INPUT',
      errors: [{ path: '/value', message: 'is 16386 characters of JSON; at most 16384' }],
    });
    const nullValue = await graphql(ctx.graphqlUrl, SET, { name: 'NOTHING', value: null });
    expect(nullValue.errors?.[0]?.message).toMatch(/"\$value" of non-null type "JSON!" must not be null/);
    expect(await refusal('NUL', 'a\u0000b')).toMatchObject({ code: 'BAD_USER_INPUT', errors: [{ path: '/value' }] });
    const deleted = await graphql(ctx.graphqlUrl, `mutation { deleteVariable(name: "no such") }`);
    expect(deleted.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', errors: [{ path: '/name' }] });
  });

  it("are one tenant's: another tenant neither lists, reads in its runs, changes nor deletes them, even writing SQL as that tenant", async () => {
    const acme = (await createKeyWithCli(ctx.trellis.databaseUrl, 'acme', { admin: true })).secret;
    const globex = (await createKeyWithCli(ctx.trellis.databaseUrl, 'globex', { admin: true })).secret;
    const as = (key: string, query: string, variables: Record<string, unknown> = {}) => graphql<any>(ctx.graphqlUrl, query, variables, key);
    await as(acme, SET, { name: 'SHARED_NAME', value: 'acme-value' });
    await as(globex, SET, { name: 'GLOBEX_ONLY', value: 'globex-value' });

    expect((await as(acme, LIST)).data.variables.map((v: { name: string }) => v.name)).toEqual(['SHARED_NAME']);
    expect((await as(globex, LIST)).data.variables.map((v: { name: string }) => v.name)).toEqual(['GLOBEX_ONLY']);
    expect((await as(globex, `mutation { deleteVariable(name: "SHARED_NAME") }`)).data).toEqual({ deleteVariable: false });

    // globex's definition reading acme's variable cannot start: globex has no such variable.
    const spec = { name: 'reads-shared', steps: { t: { type: 'transform', value: "{% $var('SHARED_NAME') %}" } } };
    await as(globex, `mutation($spec: JSON!) { saveDefinition(spec: $spec) { version } }`, { spec });
    const started = await as(globex, `mutation { startRun(definition: "reads-shared") { id } }`);
    expect(started.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', errors: [{ path: '/steps/t/value' }] });

    // A query that forgot its tenant condition, through globex's connection, sees and changes nothing of acme's.
    const globexDb = tenants.for('globex');
    expect(await globexDb.selectFrom('variables').select('name').execute()).toEqual([{ name: 'GLOBEX_ONLY' }]);
    const updated = await globexDb.updateTable('variables').set({ value: JSON.stringify('stolen') }).where('name', '=', 'SHARED_NAME').executeTakeFirst();
    expect(Number(updated.numUpdatedRows)).toBe(0);
    await expect(globexDb.insertInto('variables').values({ tenant_id: 'acme', name: 'PLANTED', value: JSON.stringify('x') }).execute()).rejects.toThrow(/row-level security/);
    expect((await as(acme, LIST)).data.variables).toEqual([expect.objectContaining({ name: 'SHARED_NAME', value: 'acme-value' })]);
  });

  it('live in a table row-level security guards, like every table that holds a tenant_id', async () => {
    const owner = new pg.Client({ connectionString: ctx.trellis.databaseUrl });
    await owner.connect();
    try {
      const { rows } = await owner.query<{ table: string; guarded: boolean; policies: string[] }>(`
        select c.relname as table, c.relrowsecurity as guarded,
               coalesce(array_agg(p.polname) filter (where p.polname is not null), '{}') as policies
        from pg_class c
        join pg_namespace n on n.oid = c.relnamespace and n.nspname = 'public'
        join pg_attribute a on a.attrelid = c.oid and a.attname = 'tenant_id' and not a.attisdropped
        left join pg_policy p on p.polrelid = c.oid
        where c.relkind = 'r'
        group by c.relname, c.relrowsecurity
        order by c.relname`);
      expect(rows.map((row) => row.table)).toContain('variables');
      expect(rows.filter((row) => !row.guarded || !row.policies.includes('tenant_isolation'))).toEqual([]);
    } finally {
      await owner.end();
    }
  });
});
