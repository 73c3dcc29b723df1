import { graphql } from '../support/graphql-client';
import { GraphQLSocket } from '../support/graphql-socket';
import { createKeyWithCli } from '../support/keys-cli';
import { postGraphQL } from '../support/raw-http';
import { createTestContext, type TestContext } from '../support/test-context';

// An API process (no worker: runs stay RUNNING) with small limits, so that each can be reached
// in a few requests. Rate limits are per key: every test uses keys of its own.
const LIMITS = {
  TRELLIS_RATE_LIMIT: '1',
  TRELLIS_RATE_LIMIT_BURST: '100',
  TRELLIS_AUTH_FAILURES_PER_MINUTE: '5',
  TRELLIS_MAX_SUBSCRIPTIONS_PER_SOCKET: '3',
  TRELLIS_MAX_SOCKETS_PER_KEY: '2',
  TRELLIS_MAX_RUNS_IN_FLIGHT: '2',
};

let ctx: TestContext;
const sockets: GraphQLSocket[] = [];

beforeAll(async () => {
  ctx = await createTestContext({ env: { TRELLIS_ROLE: 'api', ...LIMITS } });
});

afterAll(async () => {
  for (const socket of sockets.splice(0)) socket.close();
  if (!ctx) return;
  // No worker ran them: end their workflows so that nothing is left on the shared Temporal server.
  const runs = await ctx.trellis.db.selectFrom('runs').select('workflow_id').execute();
  await Promise.all(runs.map((run) => ctx.trellis.client.workflow.getHandle(run.workflow_id).terminate('test over').catch(() => undefined)));
  await ctx.stop();
});

const keyOf = async (tenant: string) => (await createKeyWithCli(ctx.trellis.databaseUrl, tenant)).secret;

async function connect(key: string): Promise<GraphQLSocket> {
  const socket = await GraphQLSocket.connect(ctx.graphqlUrl, key);
  sockets.push(socket);
  return socket;
}

const SPEC = { name: 'small', steps: { one: { type: 'transform', value: 1 } } };

/** A query with `count` aliases of validateDefinition, all of the `$spec` variable. */
const validations = (count: number) =>
  `query($spec: JSON!) { ${Array.from({ length: count }, (_, i) => `v${i}: validateDefinition(spec: $spec) { valid }`).join(' ')} }`;

describe('operation cost', () => {
  it('refuses a request with 100 aliases of validateDefinition with a clear error, before running any of them', async () => {
    const key = await keyOf('cost');
    const response = await postGraphQL(ctx.graphqlUrl, validations(100), { authorization: `Bearer ${key}` }, { spec: SPEC });
    expect(response.status).toBe(400);
    expect(response.body.data).toBeUndefined();
    expect(response.body.errors).toEqual([
      expect.objectContaining({
        message: 'operation too wide: it selects 100 root fields, the limit is 20',
        extensions: { code: 'BAD_USER_INPUT', limit: { name: 'rootFields', max: 20, actual: 100 } },
      }),
    ]);
  });

  it('weighs heavy fields so that one operation holds at most four of them, over HTTP and graphql-ws', async () => {
    const key = await keyOf('cost');
    const five = await graphql(ctx.graphqlUrl, validations(5), { spec: SPEC }, key);
    expect(five.errors).toEqual([
      expect.objectContaining({
        message: expect.stringMatching(/^operation too costly: its cost is 50005, the limit is 50000 \(every field costs 1, but validateDefinition 10000 \(5×\), /),
        extensions: { code: 'BAD_USER_INPUT', limit: { name: 'cost', max: 50000, actual: 50005 } },
      }),
    ]);
    const four = await graphql(ctx.graphqlUrl, validations(4), { spec: SPEC }, key);
    expect(four).toEqual({ data: { v0: { valid: true }, v1: { valid: true }, v2: { valid: true }, v3: { valid: true } } });

    const socket = await connect(key);
    const id = socket.subscribe(validations(5), { spec: SPEC });
    expect(await socket.settled(id)).toEqual([
      { id, type: 'error', payload: [expect.objectContaining({ extensions: { code: 'BAD_USER_INPUT', limit: { name: 'cost', max: 50000, actual: 50005 } } })] },
    ]);
  });

  it('stops parsing a document of more than 5000 tokens', async () => {
    const key = await keyOf('cost');
    const long = `{ ${'__typename '.repeat(5000)}}`;
    const response = await graphql(ctx.graphqlUrl, long, {}, key);
    expect(response.errors).toEqual([
      {
        message: 'operation too long: it has more than 5000 tokens, the limit is 5000 (send large values, such as definitions, as variables)',
        extensions: { code: 'BAD_USER_INPUT', limit: { name: 'tokens', max: 5000 } },
      },
    ]);
    const socket = await connect(key);
    const id = socket.subscribe(long);
    expect(await socket.settled(id)).toEqual([{ id, type: 'error', payload: [expect.objectContaining({ extensions: { code: 'BAD_USER_INPUT', limit: { name: 'tokens', max: 5000 } } })] }]);
  });
});

describe('rate limits', () => {
  it('answer HTTP 429 with Retry-After once a key has spent its tokens, and refuse operations on its sockets too', async () => {
    const key = await keyOf('busy');
    const socket = await connect(key);
    let refused: Awaited<ReturnType<typeof postGraphQL>> | undefined;
    for (let i = 0; i < 300 && !refused; i++) {
      const response = await postGraphQL(ctx.graphqlUrl, '{ __typename }', { authorization: `Bearer ${key}` });
      if (response.status !== 200) refused = response;
    }
    expect(refused).toMatchObject({
      status: 429,
      headers: { 'retry-after': expect.stringMatching(/^[1-9]\d*$/) },
      body: {
        errors: [
          {
            message: expect.stringMatching(/^too many requests for this API key: 1 tokens a second, 100 at most at once .*; try again in \d+ s$/),
            extensions: { code: 'RATE_LIMITED', limit: { name: 'rate', max: 1 }, retryAfter: Number(refused!.headers['retry-after']) },
          },
        ],
      },
    });

    let error: unknown;
    for (let i = 0; i < 20 && !error; i++) {
      const id = socket.subscribe('{ __typename }');
      const [answer] = await socket.settled(id);
      if (answer?.type === 'error') error = answer.payload[0];
    }
    expect(error).toMatchObject({ extensions: { code: 'RATE_LIMITED', limit: { name: 'rate', max: 1 }, retryAfter: expect.any(Number) } });
  });

  it('charge heavy fields more: two requests of four validateDefinition spend most of a hundred tokens', async () => {
    const key = await keyOf('busy');
    for (let i = 0; i < 2; i++) expect((await graphql(ctx.graphqlUrl, validations(4), { spec: SPEC }, key)).errors).toBeUndefined();
    const third = await postGraphQL(ctx.graphqlUrl, validations(4), { authorization: `Bearer ${key}` }, { spec: SPEC });
    expect(third.status).toBe(429);
    expect(third.body.errors[0].extensions).toMatchObject({ code: 'RATE_LIMITED', limit: { name: 'rate' } });
    expect((await graphql(ctx.graphqlUrl, '{ __typename }', {}, key)).errors).toBeUndefined();
  });
});

describe('sockets', () => {
  it('take at most 3 operations in progress each: the 4th is refused until one completes', async () => {
    const socket = await connect(await keyOf('sockets'));
    const live = [1, 2, 3].map(() => socket.subscribe('subscription { runsChanged { id } }'));
    const fourth = socket.subscribe('{ __typename }');
    expect(await socket.settled(fourth)).toEqual([
      {
        id: fourth,
        type: 'error',
        payload: [
          expect.objectContaining({
            message: 'too many operations in progress on this socket: 4, the limit is 3 (TRELLIS_MAX_SUBSCRIPTIONS_PER_SOCKET): complete some first',
            extensions: { code: 'RATE_LIMITED', limit: { name: 'subscriptionsPerSocket', max: 3, actual: 4 } },
          }),
        ],
      },
    ]);
    socket.complete(live[0]!);
    const after = socket.subscribe('{ __typename }');
    expect(await socket.settled(after)).toContainEqual({ id: after, type: 'next', payload: { data: { __typename: 'Query' } } });
  });

  it('of one key are at most 2 at once: a third is closed with 4429', async () => {
    const key = await keyOf('sockets');
    await connect(key);
    await connect(key);
    await expect(connect(key)).rejects.toThrow('connection closed with 4429 Too many sockets for this key: the limit is 2');
  });
});

describe('runs in flight', () => {
  const START = `mutation($key: String) { startRun(definition: "hold", idempotencyKey: $key) { id } }`;

  it('are at most 2 per tenant: startRun, testRun and retryRun are refused past them, naming the limit and the count', async () => {
    const [key, second, other] = [await keyOf('crowded'), await keyOf('crowded'), await keyOf('calm')];
    const hold = { name: 'hold', steps: { approval: { type: 'wait', signal: 'go' } } };
    for (const k of [key, other]) expect((await graphql(ctx.graphqlUrl, 'mutation($spec: JSON!) { saveDefinition(spec: $spec) { version } }', { spec: hold }, k)).errors).toBeUndefined();

    const first = (await graphql<any>(ctx.graphqlUrl, START, { key: 'first' }, key)).data!.startRun;
    const failing = (await graphql<any>(ctx.graphqlUrl, START, {}, key)).data!.startRun;
    const refusal = {
      message: 'tenant "crowded" has 2 runs in flight (RUNNING or COMPENSATING), the limit is 2 (TRELLIS_MAX_RUNS_IN_FLIGHT): wait for some to finish, or cancel some',
      extensions: { code: 'RATE_LIMITED', limit: { name: 'runsInFlight', max: 2, actual: 2 } },
    };
    expect((await graphql(ctx.graphqlUrl, START, {}, key)).errors).toEqual([expect.objectContaining(refusal)]);
    expect((await graphql(ctx.graphqlUrl, 'mutation($spec: JSON!) { testRun(spec: $spec) { id } }', { spec: hold }, key)).errors).toEqual([expect.objectContaining(refusal)]);
    // A repeat of a run already started is not a new run.
    expect((await graphql<any>(ctx.graphqlUrl, START, { key: 'first' }, key)).data!.startRun.id).toBe(first.id);
    // Another tenant is not concerned.
    expect((await graphql(ctx.graphqlUrl, START, {}, other)).errors).toBeUndefined();

    // One run finishes, another takes its place: retrying the finished one is refused.
    await ctx.trellis.db.updateTable('runs').set({ status: 'FAILED', finished_at: new Date() }).where('id', '=', failing.id).execute();
    expect((await graphql(ctx.graphqlUrl, START, {}, second)).errors).toBeUndefined();
    expect((await graphql(ctx.graphqlUrl, 'mutation($id: ID!) { retryRun(id: $id) { id } }', { id: failing.id }, second)).errors).toEqual([expect.objectContaining(refusal)]);
  });
});

describe('run subscriptions', () => {
  it('refuse a negative afterSeq at /afterSeq, where they would stay open and never send an event', async () => {
    const key = await keyOf('resuming');
    const hold = { name: 'hold', steps: { approval: { type: 'wait', signal: 'go' } } };
    expect((await graphql(ctx.graphqlUrl, 'mutation($spec: JSON!) { saveDefinition(spec: $spec) { version } }', { spec: hold }, key)).errors).toBeUndefined();
    const run = (await graphql<any>(ctx.graphqlUrl, 'mutation { startRun(definition: "hold") { id } }', {}, key)).data!.startRun;
    const socket = await connect(key);
    for (const field of ['runEvents(runId: $id, afterSeq: $after) { seq }', 'runEventBatches(runId: $id, afterSeq: $after) { seq }', 'runWatch(runId: $id, afterSeq: $after) { events { seq } }']) {
      const id = socket.subscribe(`subscription($id: ID!, $after: Int) { ${field} }`, { id: run.id, after: -1 });
      expect(await socket.settled(id)).toEqual([
        {
          id,
          type: 'next',
          payload: {
            errors: [
              expect.objectContaining({
                message: 'afterSeq -1 is negative: events are numbered from 1 (0 or none: from the first): /afterSeq must be 0 or more',
                extensions: { code: 'BAD_USER_INPUT', errors: [{ path: '/afterSeq', message: 'must be 0 or more' }] },
              }),
            ],
          },
        },
        { id, type: 'complete' },
      ]);
    }
  });
});

// Last: it leaves this process's address refused for a while.
describe('failed authentications', () => {
  it('are limited per client address, over HTTP and graphql-ws: past 5 a minute even a valid key is refused for a while', async () => {
    const key = await keyOf('late');
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await postGraphQL(ctx.graphqlUrl, '{ __typename }', { authorization: 'Bearer trk_guess' })).status);
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429]);
    const refused = await postGraphQL(ctx.graphqlUrl, '{ __typename }', { authorization: `Bearer ${key}` });
    expect(refused).toMatchObject({
      status: 429,
      headers: { 'retry-after': expect.stringMatching(/^[1-9]\d*$/) },
      body: { errors: [{ message: expect.stringMatching(/^too many failed authentications from \S+: at most 5 a minute; try again in \d+ s$/), extensions: { code: 'RATE_LIMITED', limit: { name: 'authFailures', max: 5 } } }] },
    });
    // Refused at the upgrade, before any database query.
    await expect(GraphQLSocket.connect(ctx.graphqlUrl, key)).rejects.toThrow('upgrade refused: HTTP 429');
  });
});
