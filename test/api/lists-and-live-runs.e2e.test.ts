import { collectSubscription, graphql, wsClient } from '../support/graphql-client';
import { createTestContext, type TestContext } from '../support/test-context';
import { until } from '../support/until';

let ctx: TestContext;

beforeAll(async () => {
  ctx = await createTestContext();
});

afterAll(async () => {
  await ctx?.stop();
});

const SAVE = `mutation($spec: JSON!) { saveDefinition(spec: $spec) { version } }`;
const START = `mutation($name: String!, $input: JSON) { startRun(definition: $name, input: $input) { id temporal { workflowId } } }`;
const quick = (name: string, description?: string) => ({ name, description, steps: { only: { type: 'transform', value: '{% $input.n %}' } } });

async function startAndFinish(name: string, n: number): Promise<string> {
  const { startRun } = await ctx.gql(START, { name, input: { n } });
  await ctx.trellis.client.workflow.getHandle(startRun.temporal.workflowId).result();
  return startRun.id;
}

describe('definitions(first, after, search)', () => {
  beforeAll(async () => {
    for (const [name, description] of [['billing-sync', 'Sync invoices to the ledger'], ['crm-import', 'Import contacts'], ['ledger-close', undefined]] as const) {
      await ctx.gql(SAVE, { spec: quick(name, description) });
    }
  });

  it('pages through definitions by name with opaque cursors', async () => {
    const LIST = `query($after: String) { definitions(first: 2, after: $after) { edges { cursor node { name latestVersion } } pageInfo { hasNextPage endCursor } } }`;
    const first = (await ctx.gql(LIST)).definitions;
    expect(first.edges.map((e: any) => e.node.name)).toEqual(['billing-sync', 'crm-import']);
    expect(first.pageInfo.hasNextPage).toBe(true);
    const second = (await ctx.gql(LIST, { after: first.pageInfo.endCursor })).definitions;
    expect(second.edges.map((e: any) => e.node.name)).toEqual(['ledger-close']);
    expect(second.pageInfo).toEqual({ hasNextPage: false, endCursor: second.edges[0].cursor });
  });

  it('finds definitions whose name or description contains the search, ignoring case', async () => {
    const { definitions } = await ctx.gql(`{ definitions(search: "LEDGER") { edges { node { name } } } }`);
    expect(definitions.edges.map((e: any) => e.node.name)).toEqual(['billing-sync', 'ledger-close']);
    const literal = await ctx.gql(`{ definitions(search: "%") { edges { node { name } } } }`);
    expect(literal.definitions.edges).toEqual([]);
  });

  it('refuses a cursor it did not issue with BAD_USER_INPUT', async () => {
    const result = await graphql(ctx.graphqlUrl, `{ definitions(after: "bogus") { edges { cursor } } }`);
    expect(result.errors![0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', errors: [{ path: '/after', message: 'is not a cursor this API returned' }] });
  });

  it('archives a definition: hidden from the list, no new runs, back when saved again', async () => {
    await ctx.gql(SAVE, { spec: quick('retired') });
    const { archiveDefinition } = await ctx.gql(`mutation { archiveDefinition(name: "retired") { name archived } }`);
    expect(archiveDefinition).toEqual({ name: 'retired', archived: true });
    const names = async (includeArchived: boolean) =>
      (await ctx.gql(`query($a: Boolean) { definitions(includeArchived: $a) { edges { node { name } } } }`, { a: includeArchived })).definitions.edges.map((e: any) => e.node.name);
    expect(await names(false)).not.toContain('retired');
    expect(await names(true)).toContain('retired');

    const refused = await graphql(ctx.graphqlUrl, START, { name: 'retired', input: { n: 1 } });
    expect(refused.errors![0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', errors: [{ path: '/definition', message: 'is archived' }] });

    await ctx.gql(SAVE, { spec: quick('retired') });
    expect((await ctx.gql(`{ definition(name: "retired") { archived latestVersion } }`)).definition).toEqual({ archived: false, latestVersion: 1 });
    const missing = await graphql(ctx.graphqlUrl, `mutation { archiveDefinition(name: "never-saved") { name } }`);
    expect(missing.errors![0]!.extensions!.code).toBe('NOT_FOUND');
  });
});

describe('runs(filter, first, after)', () => {
  it('lists runs newest first, filtered by definition and status, page by page', async () => {
    await ctx.gql(SAVE, { spec: quick('listed') });
    await ctx.gql(SAVE, { spec: { name: 'listed-failing', steps: { bad: { type: 'transform', value: "{% 1 + 'x' %}" } } } });
    const ids = [];
    for (const n of [1, 2, 3]) ids.push(await startAndFinish('listed', n));
    const { startRun: failing } = await ctx.gql(START, { name: 'listed-failing', input: {} });
    await ctx.trellis.client.workflow.getHandle(failing.temporal.workflowId).result().catch(() => undefined);

    const LIST = `query($filter: RunFilter, $after: String) { runs(filter: $filter, first: 2, after: $after) {
      edges { node { id definition status output } } pageInfo { hasNextPage endCursor } } }`;
    const page1 = (await ctx.gql(LIST, { filter: { definition: 'listed' } })).runs;
    const page2 = (await ctx.gql(LIST, { filter: { definition: 'listed' }, after: page1.pageInfo.endCursor })).runs;
    expect([...page1.edges, ...page2.edges].map((e: any) => e.node.id)).toEqual([...ids].reverse());
    expect(page1.pageInfo.hasNextPage).toBe(true);
    expect(page2.pageInfo.hasNextPage).toBe(false);
    expect(page1.edges[0].node).toMatchObject({ definition: 'listed', status: 'COMPLETED', output: { only: 3 } });

    const failed = (await ctx.gql(LIST, { filter: { status: ['FAILED'] } })).runs;
    expect(failed.edges.map((e: any) => e.node.id)).toEqual([failing.id]);
  });
  it('filters by version, trigger and time range, and keeps its pages stable while runs are inserted', async () => {
    await ctx.gql(SAVE, { spec: quick('versioned') });
    const v1 = await startAndFinish('versioned', 1);
    const between = new Date().toISOString();
    await ctx.gql(SAVE, { spec: { ...quick('versioned'), description: 'v2' } });
    const v2a = await startAndFinish('versioned', 2);
    const v2b = await startAndFinish('versioned', 3);
    const ids = (filter: Record<string, unknown>, extra = '') =>
      ctx.gql(`query($filter: RunFilter) { runs(filter: $filter${extra}) { edges { node { id } } pageInfo { endCursor } } }`, { filter }).then((r) => r.runs.edges.map((e: any) => e.node.id));
    expect(await ids({ definition: 'versioned', version: 1 })).toEqual([v1]);
    expect(await ids({ definition: 'versioned', version: 2 })).toEqual([v2b, v2a]);
    expect(await ids({ definition: 'versioned', startedAfter: between })).toEqual([v2b, v2a]);
    expect(await ids({ definition: 'versioned', startedBefore: between })).toEqual([v1]);
    expect(await ids({ definition: 'versioned', trigger: 'api' })).toHaveLength(3);
    expect(await ids({ definition: 'versioned', trigger: 'webhook' })).toEqual([]);

    // A page taken, then a new run inserted: the next page continues where the first ended.
    const first = (await ctx.gql(`query { runs(filter: {definition: "versioned"}, first: 1) { edges { node { id } } pageInfo { endCursor } } }`)).runs;
    expect(first.edges[0].node.id).toBe(v2b);
    await startAndFinish('versioned', 4);
    const next = (await ctx.gql(`query($after: String) { runs(filter: {definition: "versioned"}, first: 5, after: $after) { edges { node { id } } } }`, { after: first.pageInfo.endCursor })).runs;
    expect(next.edges.map((e: any) => e.node.id)).toEqual([v2a, v1]);
  });
});

describe('live run subscriptions', () => {
  it('runUpdated yields the run as it changes and completes once it has finished', async () => {
    await ctx.gql(SAVE, { spec: { name: 'watched', steps: { a: { type: 'delay', duration: '300ms' }, b: { type: 'transform', needs: ['a'], value: 'done' } } } });
    const { startRun } = await ctx.gql(START, { name: 'watched', input: {} });
    const client = wsClient(ctx.graphqlUrl);
    try {
      const updates = await collectSubscription<{ runUpdated: { status: string; steps: Array<{ id: string; status: string }> } }>(
        client,
        `subscription($id: ID!) { runUpdated(runId: $id) { status steps { id status } } }`,
        { id: startRun.id },
      );
      expect(updates.length).toBeGreaterThanOrEqual(2);
      expect(updates.at(-1)!.runUpdated).toEqual({ status: 'COMPLETED', steps: [{ id: 'a', status: 'SUCCEEDED' }, { id: 'b', status: 'SUCCEEDED' }] });
      expect(updates.slice(0, -1).every((u) => u.runUpdated.status === 'RUNNING')).toBe(true);
    } finally {
      await client.dispose();
    }
  });

  it('runsChanged streams the runs of one definition and nothing of the others', async () => {
    await ctx.gql(SAVE, { spec: quick('dash-a') });
    await ctx.gql(SAVE, { spec: quick('dash-b') });
    const client = wsClient(ctx.graphqlUrl);
    const seen: Array<{ id: string; definition: string; status: string }> = [];
    const failures: unknown[] = [];
    client.subscribe<{ runsChanged: { id: string; definition: string; status: string } }>(
      { query: `subscription { runsChanged(definition: "dash-a") { id definition status } }` },
      { next: ({ data }) => seen.push(data!.runsChanged), error: (err) => failures.push(err), complete: () => failures.push('completed') },
    );
    try {
      // The client cannot tell when the server has registered the subscription, so runs start
      // until one of dash-a is seen to complete (the first round is normally enough).
      let completed: string | undefined;
      const started: string[] = [];
      for (let round = 0; round < 20 && !completed && failures.length === 0; round++) {
        await startAndFinish('dash-b', round);
        started.push(await startAndFinish('dash-a', round));
        await ctx.gql(`{ definitions(first: 1) { edges { cursor } } }`); // one more round trip for the last notification
        completed = started.find((id) => seen.some((run) => run.id === id && run.status === 'COMPLETED'));
      }
      expect(failures).toEqual([]);
      expect(completed).toBeDefined();
      expect(seen.every((run) => run.definition === 'dash-a')).toBe(true);
    } finally {
      await client.dispose();
    }
  });

  it('runsChanged leaves test runs out unless includeTests', async () => {
    const testAndFinish = async (): Promise<string> => {
      const { testRun } = await ctx.gql(`mutation($spec: JSON!) { testRun(spec: $spec, input: {n: 1}) { id temporal { workflowId } } }`, { spec: quick('dash-tests') });
      await ctx.trellis.client.workflow.getHandle(testRun.temporal.workflowId).result();
      return testRun.id as string;
    };
    const client = wsClient(ctx.graphqlUrl);
    const plain: Array<{ id: string; version: number }> = [];
    const withTests: Array<{ id: string; version: number }> = [];
    const failures: unknown[] = [];
    const watch = (query: string, into: typeof plain) =>
      client.subscribe<{ runsChanged: { id: string; version: number } }>(
        { query },
        { next: ({ data }) => into.push(data!.runsChanged), error: (err) => failures.push(err), complete: () => failures.push('completed') },
      );
    watch(`subscription { runsChanged(definition: "dash-tests") { id version } }`, plain);
    watch(`subscription { runsChanged(definition: "dash-tests", includeTests: true) { id version } }`, withTests);
    try {
      await ctx.gql(SAVE, { spec: quick('dash-tests') });
      // As above: runs start until both subscriptions are seen to be live, a test run before each saved one.
      let saved: string | undefined;
      for (let round = 0; round < 20 && !saved && failures.length === 0; round++) {
        await testAndFinish();
        const id = await startAndFinish('dash-tests', round);
        await ctx.gql(`{ definitions(first: 1) { edges { cursor } } }`);
        if (plain.some((run) => run.id === id) && withTests.some((run) => run.id === id)) saved = id;
      }
      expect(failures).toEqual([]);
      expect(saved).toBeDefined();
      // Both are live now: a test run reaches the one that asked for them, and not the other.
      const tested = await testAndFinish();
      await until('the test run is sent with includeTests', () => withTests.some((run) => run.id === tested));
      const after = await startAndFinish('dash-tests', 99);
      await until('the run after it is sent without includeTests', () => plain.some((run) => run.id === after));
      expect(plain.filter((run) => run.version === 0)).toEqual([]);
    } finally {
      await client.dispose();
    }
  });
});
