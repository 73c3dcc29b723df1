import { readFileSync } from 'node:fs';
import path from 'node:path';
import { sql } from 'kysely';
import { up as rehashWithoutSchema } from '../../src/db/migrations/2026-11-30T00-01-content-hash-without-schema';
import { sha256OfJson } from '../../src/support/canonical-json';
import { HttpStub } from '../support/http-stub';
import { finished, getRun, runToEnd, startRunOf } from '../support/runs';
import { createTestContext, type TestContext } from '../support/test-context';
import { until } from '../support/until';

let ctx: TestContext;
let stub: HttpStub;

beforeAll(async () => {
  stub = await new HttpStub().start();
  ctx = await createTestContext();
});

afterAll(async () => {
  await ctx?.stop();
  await stub?.stop();
});

const STEPS = `query($id: ID!) { run(id: $id) { spec steps { id input items { done total } } } }`;

describe('what the dashboard reads about a run', () => {
  it('keeps each step\'s resolved input, showing secret-reading strings as their template and never the secret', async () => {
    stub.on('POST /charges', { status: 201, body: { id: 'ch_1' } });
    await ctx.gql(`mutation { setSecret(name: "PAY_TOKEN", value: "s3cr3t-value-123") }`);
    const spec = {
      name: 'inputs-kept',
      steps: {
        charge: {
          type: 'http', method: 'POST', url: `${stub.url}/charges`,
          headers: { Authorization: "Bearer {% $secret('PAY_TOKEN') %}" },
          body: { order: '{% $input.orderId %}' },
        },
        summary: { type: 'transform', needs: ['charge'], value: { charge: '{% $steps.charge.output.body.id %}' } },
      },
    };
    const run = await runToEnd(ctx, spec, { orderId: 'A-1' });
    expect(run.status).toBe('COMPLETED');
    expect(stub.received('POST /charges')[0]!.headers.authorization).toBe('Bearer s3cr3t-value-123');

    const { run: read } = await ctx.gql(STEPS, { id: run.id });
    const byId = Object.fromEntries(read.steps.map((s: any) => [s.id, s]));
    expect(byId.charge.input).toMatchObject({ method: 'POST', url: `${stub.url}/charges`, headers: { Authorization: "Bearer {% $secret('PAY_TOKEN') %}" }, body: { order: 'A-1' } });
    expect(byId.charge.input).not.toHaveProperty('deferred');
    expect(byId.summary.input).toEqual({ charge: 'ch_1' });
    expect(JSON.stringify(read)).not.toContain('s3cr3t-value-123');
    expect(byId.charge.items).toBeNull();
    expect(read.spec).toEqual(spec);
  });

  it('gives a test run its unsaved document as spec', async () => {
    const spec = { name: 'never-saved', steps: { only: { type: 'transform', value: 1 } } };
    const { testRun } = await ctx.gql(`mutation($spec: JSON!) { testRun(spec: $spec) { id spec } }`, { spec });
    expect(testRun.spec).toEqual(spec);
  });
});

describe('runs(filter: {waiting}) and runCounts(filter)', () => {
  it('finds runs waiting for a signal and counts runs by status with the same filter', async () => {
    const waiter = { name: 'counted', steps: { approval: { type: 'wait', signal: 'approve' } } };
    const waiting = await startRunOf(ctx, waiter);
    await until('the run waits for its signal', async () => (await getRun(ctx, waiting.id)).steps[0]!.status === 'WAITING');
    const done = await startRunOf(ctx, waiter);
    await until('the second run waits too', async () => (await getRun(ctx, done.id)).steps[0]!.status === 'WAITING');
    await ctx.gql(`mutation($id: ID!) { signalRun(id: $id, signal: "approve", payload: {ok: true}) { id } }`, { id: done.id });
    await finished(ctx, done);

    const ids = async (waitingFilter: boolean) =>
      (await ctx.gql(`query($w: Boolean) { runs(filter: {definition: "counted", waiting: $w}) { edges { node { id } } } }`, { w: waitingFilter })).runs.edges.map((e: any) => e.node.id);
    expect(await ids(true)).toEqual([waiting.id]);
    expect(await ids(false)).toEqual([done.id]);

    const counts = async (filter: Record<string, unknown>) => (await ctx.gql(`query($f: RunFilter) { runCounts(filter: $f) { status count } }`, { f: filter })).runCounts;
    expect(await counts({ definition: 'counted' })).toEqual([{ status: 'RUNNING', count: 1 }, { status: 'COMPLETED', count: 1 }]);
    expect(await counts({ definition: 'counted', waiting: true })).toEqual([{ status: 'RUNNING', count: 1 }]);
    expect(await counts({ definition: 'nothing-of-that-name' })).toEqual([]);

    await ctx.gql(`mutation($id: ID!) { cancelRun(id: $id) { id } }`, { id: waiting.id });
    await finished(ctx, waiting);
  });
});

describe('the dashboard on the API port', () => {
  const get = (url: string) => fetch(new URL(url, ctx.graphqlUrl));

  it('serves its page on / and on its own paths, not framable, scripts from this origin only', async () => {
    for (const url of ['/', '/runs', '/runs/4a1f0c2e-0000-4000-8000-000000000000', '/definitions/x', '/editor']) {
      const page = await get(url);
      expect([url, page.status]).toEqual([url, 200]);
      expect(page.headers.get('content-type')).toMatch(/^text\/html/);
      expect(page.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
      expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
      expect(await page.text()).toContain('<div id="root">');
    }
    const html = await (await get('/')).text();
    const script = /src="(\/assets\/[^"]+\.js)"/.exec(html)![1]!;
    const asset = await get(script);
    expect(asset.status).toBe(200);
    expect(asset.headers.get('cache-control')).toContain('immutable');
  });

  it('serves no file outside its assets, however the name is written', async () => {
    for (const url of ['/assets/..%2F..%2F..%2Fpackage.json', '/assets/..%2f..%2f..%2fpackage.json', '/assets/%2e%2e%2F%2e%2e%2F%2e%2e%2Fpackage.json', '/assets/../../../package.json', '/assets/.build-hash']) {
      const answer = await get(url);
      expect([url, answer.status]).toEqual([url, 404]);
      expect(await answer.text()).not.toContain('"dependencies"');
    }
  });

  it('publishes the definition JSON Schema at /schema/definition.json', async () => {
    const answer = await get('/schema/definition.json');
    expect(answer.status).toBe(200);
    const published = JSON.parse(readFileSync(path.join(__dirname, '../../schema/definition.schema.json'), 'utf8'));
    expect(await answer.json()).toEqual(published);
    expect(published.$id).toBe('http://localhost:4000/schema/definition.json');
  });

  it('lets a definition name it in "$schema" without that making a new version, and keeps what was written', async () => {
    const SAVE = `mutation($spec: JSON!) { saveDefinition(spec: $spec) { version contentHash spec } }`;
    const document = { name: 'schema-named', steps: { one: { type: 'transform', value: 1 } } };
    const first = (await ctx.gql(SAVE, { spec: { $schema: 'http://localhost:4000/schema/definition.json', ...document } })).saveDefinition;
    expect(first.version).toBe(1);
    expect(first.spec.$schema).toBe('http://localhost:4000/schema/definition.json');
    for (const spec of [document, { ...document, $schema: 'https://trellis.example/schema/definition.json' }]) {
      const again = (await ctx.gql(SAVE, { spec })).saveDefinition;
      expect([again.version, again.contentHash]).toEqual([1, first.contentHash]);
    }
    const changed = (await ctx.gql(SAVE, { spec: { ...document, description: 'now described' } })).saveDefinition;
    expect(changed.version).toBe(2);
  });

  it('finds versions saved with "$schema" before it left the hash, once the migration has hashed them again', async () => {
    const SAVE = `mutation($spec: JSON!) { saveDefinition(spec: $spec) { version contentHash } }`;
    const document = { name: 'schema-before', steps: { one: { type: 'transform', value: 1 } } };
    const withSchema = { $schema: 'http://localhost:4000/schema/definition.json', ...document };
    const saved = (await ctx.gql(SAVE, { spec: withSchema })).saveDefinition;
    // As the version was hashed before: the whole document, "$schema" included.
    await sql`update definition_versions set content_hash = ${sha256OfJson(withSchema)} where name = 'schema-before'`.execute(ctx.trellis.db);
    await rehashWithoutSchema(ctx.trellis.db as never);
    expect((await ctx.gql(SAVE, { spec: document })).saveDefinition).toEqual(saved);
  });
});
