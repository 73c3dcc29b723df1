import { randomBytes } from 'node:crypto';
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { KeyLookups } from '../../src/api/api-keys';
import type { Database } from '../../src/db/database';
import { graphql } from '../support/graphql-client';
import { GraphQLSocket, upgradeStatus } from '../support/graphql-socket';
import { createKeyWithCli, keysCli } from '../support/keys-cli';
import { postGraphQL } from '../support/raw-http';
import { createTestContext, type TestContext } from '../support/test-context';
import { TrellisProcess } from '../support/trellis-process';
import { until } from '../support/until';

// One Trellis in this process (API and worker, as `npm start` runs it) and a second API process
// in development mode (NODE_ENV=development) on the same database, as instances behind a load
// balancer would be. The file starts keyless; the first key is created half-way.

let ctx: TestContext;
let other: TrellisProcess | undefined;
let port: number;
const sockets: GraphQLSocket[] = [];

beforeAll(async () => {
  ctx = await createTestContext();
  port = Number(new URL(ctx.graphqlUrl).port);
  other = await TrellisProcess.start('api', {
    DATABASE_URL: ctx.trellis.databaseUrl,
    TEMPORAL_ADDRESS: ctx.trellis.temporalAddress,
    TEMPORAL_NAMESPACE: process.env.TEMPORAL_NAMESPACE ?? 'default',
    TRELLIS_SECRET_KEY: randomBytes(32).toString('base64'),
    NODE_ENV: 'development',
  });
}, 120_000);

afterAll(async () => {
  for (const socket of sockets.splice(0)) socket.close();
  try {
    await other?.stop();
  } finally {
    await ctx?.stop();
  }
}, 60_000);

/** Opens a graphql-ws socket that the file closes at the end. */
async function connect(url: string, apiKey?: string, options: { headers?: Record<string, string>; origin?: string } = {}): Promise<GraphQLSocket> {
  const socket = await GraphQLSocket.connect(url, apiKey, options);
  sockets.push(socket);
  return socket;
}

async function data<T = any>(url: string, key: string | undefined, query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const result = await graphql<T>(url, query, variables, key);
  if (result.errors?.length || !result.data) throw new Error(`GraphQL errors: ${JSON.stringify(result.errors)}`);
  return result.data;
}

const RUNS_CHANGED = 'subscription { runsChanged { id } }';
const QUICK = { name: 'quick', steps: { one: { type: 'transform', value: 1 } } };

/**
 * A socket of `key` on `url` with a live `runsChanged` subscription: it has seen a run started
 * after it subscribed.
 */
async function watchRuns(url: string, key: string | undefined, startAs: string | undefined): Promise<GraphQLSocket> {
  const socket = await connect(url, key);
  const id = socket.subscribe(RUNS_CHANGED);
  const { startRun } = await data(ctx.graphqlUrl, startAs, 'mutation { startRun(definition: "quick") { id } }');
  await until('the subscription sees a new run', () => socket.about(id).some((m) => m.type === 'next' && m.payload?.data?.runsChanged?.id === startRun.id));
  return socket;
}

/** The `next` answers of operation `id`: what the server ran for it. */
const answers = (socket: GraphQLSocket, id: string) => socket.about(id).filter((message) => message.type === 'next');

describe('keyless mode', () => {
  const query = '{ __typename }';

  it('refuses a request whose Origin is another site, over HTTP and at the WebSocket upgrade', async () => {
    const response = await postGraphQL(ctx.graphqlUrl, query, { origin: 'https://evil.example' });
    expect(response.status).toBe(403);
    expect(response.body.errors[0]).toMatchObject({
      message: expect.stringContaining('Origin "https://evil.example" is not allowed'),
      extensions: { code: 'FORBIDDEN' },
    });
    const upgrade = await upgradeStatus(ctx.graphqlUrl, { origin: 'https://evil.example' });
    expect(upgrade).toEqual({ status: 403, body: expect.stringContaining('Origin "https://evil.example" is not allowed') });
    expect((await upgradeStatus(other!.graphqlUrl, { origin: 'https://evil.example' })).status).toBe(403);
  });

  it('refuses a request whose Host is not the API\'s own, as a page whose DNS name was rebound to 127.0.0.1 sends it', async () => {
    const rebound = `rebound.evil.example:${port}`;
    const probes: Array<Record<string, string>> = [{ host: rebound }, { host: rebound, origin: `http://${rebound}` }];
    for (const headers of probes) {
      const response = await postGraphQL(ctx.graphqlUrl, query, headers);
      expect(response.status).toBe(403);
      expect(response.body.errors[0]).toMatchObject({ message: expect.stringContaining(`Host "${rebound}" is not one of localhost:${port}, 127.0.0.1:${port}, [::1]:${port}`), extensions: { code: 'FORBIDDEN' } });
    }
    expect((await upgradeStatus(ctx.graphqlUrl, { headers: { host: rebound } })).status).toBe(403);
    expect((await upgradeStatus(ctx.graphqlUrl, { headers: { host: rebound }, origin: `http://${rebound}` })).status).toBe(403);
  });

  it('serves requests without an Origin (curl, the CLI) and pages of its own origin, over HTTP and graphql-ws', async () => {
    expect((await postGraphQL(ctx.graphqlUrl, query)).body).toEqual({ data: { __typename: 'Query' } });
    const sameOrigin = [
      { host: `127.0.0.1:${port}`, origin: `http://127.0.0.1:${port}` },
      { host: `localhost:${port}`, origin: `http://localhost:${port}` },
    ];
    for (const headers of sameOrigin) {
      expect((await postGraphQL(ctx.graphqlUrl, query, headers)).body).toEqual({ data: { __typename: 'Query' } });
      const socket = await connect(ctx.graphqlUrl, undefined, { headers: { host: headers.host }, origin: headers.origin });
      const id = socket.subscribe(query);
      expect(await socket.settled(id)).toContainEqual({ id, type: 'next', payload: { data: { __typename: 'Query' } } });
    }
  });

  it('closes keyless sockets, in every API process, as soon as the first key is created', async () => {
    await data(ctx.graphqlUrl, undefined, 'mutation($spec: JSON!) { saveDefinition(spec: $spec) { version } }', { spec: QUICK });
    const here = await watchRuns(ctx.graphqlUrl, undefined, undefined);
    const there = await watchRuns(other!.graphqlUrl, undefined, undefined);
    await createKeyWithCli(ctx.trellis.databaseUrl, 'default', { admin: true, name: 'first' });
    expect(await here.closedBy(10_000)).toEqual({ code: 4403, reason: 'API keys are now required' });
    expect((await there.closedBy(10_000)).code).toBe(4403);
  });
});

describe('revocation', () => {
  let admin: string;

  beforeAll(async () => {
    admin = (await createKeyWithCli(ctx.trellis.databaseUrl, 'acme', { admin: true, name: 'ops' })).secret;
    await data(ctx.graphqlUrl, admin, 'mutation($spec: JSON!) { saveDefinition(spec: $spec) { version } }', { spec: QUICK });
  });

  const secretNames = async (): Promise<string[]> => (await data(ctx.graphqlUrl, admin, '{ secrets { name } }')).secrets.map((s: { name: string }) => s.name);

  it('through GraphQL closes the key\'s open sockets in every API process, and nothing more runs on them', async () => {
    const { createApiKey } = await data(ctx.graphqlUrl, admin, 'mutation { createApiKey(name: "ci") { key { id } secret } }');
    const here = await watchRuns(ctx.graphqlUrl, createApiKey.secret, admin);
    const there = await watchRuns(other!.graphqlUrl, createApiKey.secret, admin);

    await data(ctx.graphqlUrl, admin, 'mutation($id: ID!) { revokeApiKey(id: $id) { id } }', { id: createApiKey.key.id });
    // What the probe in issue 10 did on a socket opened before the revocation.
    const steal = here.subscribe('mutation { setSecret(name: "STOLEN", value: "x") }');
    const start = there.subscribe('mutation { startRun(definition: "quick") { id } }');

    expect(await here.closedBy(10_000)).toEqual({ code: 4403, reason: 'API key revoked' });
    expect(await there.closedBy(10_000)).toEqual({ code: 4403, reason: 'API key revoked' });
    expect(answers(here, steal)).toEqual([]);
    expect(answers(there, start)).toEqual([]);
    expect(await secretNames()).not.toContain('STOLEN');
    expect((await graphql(ctx.graphqlUrl, '{ runs { edges { cursor } } }', {}, createApiKey.secret)).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('with the CLI, which writes the database directly, closes the key\'s open sockets in every API process too', async () => {
    const key = await createKeyWithCli(ctx.trellis.databaseUrl, 'acme', { name: 'deploy' });
    const here = await watchRuns(ctx.graphqlUrl, key.secret, admin);
    const there = await watchRuns(other!.graphqlUrl, key.secret, admin);

    expect((await keysCli(ctx.trellis.databaseUrl, 'revoke', '--id', key.id)).code).toBe(0);
    const start = here.subscribe('mutation { startRun(definition: "quick") { id } }');
    const steal = there.subscribe('mutation { setSecret(name: "STOLEN_TOO", value: "x") }');

    expect((await here.closedBy(10_000)).code).toBe(4403);
    expect((await there.closedBy(10_000)).code).toBe(4403);
    expect(answers(here, start)).toEqual([]);
    expect(answers(there, steal)).toEqual([]);
    expect(await secretNames()).not.toContain('STOLEN_TOO');
  });

  it('refuses the next operation on an open socket even when no notification told of the revocation', async () => {
    const key = await createKeyWithCli(ctx.trellis.databaseUrl, 'acme', { name: 'quiet' });
    const socket = await connect(ctx.graphqlUrl, key.secret);
    const first = socket.subscribe('{ runs(first: 1) { edges { cursor } } }');
    expect((await socket.settled(first))[0]).toMatchObject({ type: 'next' });
    // As if the notification were lost: the revocation is written with the triggers off.
    await sql`alter table api_keys disable trigger user`.execute(ctx.trellis.db);
    try {
      await ctx.trellis.db.updateTable('api_keys').set({ revoked_at: new Date() }).where('id', '=', key.id).execute();
    } finally {
      await sql`alter table api_keys enable trigger user`.execute(ctx.trellis.db);
    }
    const next = socket.subscribe('mutation { setSecret(name: "STOLEN_QUIETLY", value: "x") }');
    const answer = await socket.settled(next);
    expect(answer).toEqual([{ id: next, type: 'error', payload: [expect.objectContaining({ message: 'the API key is unknown or has been revoked', extensions: { code: 'UNAUTHENTICATED' } })] }]);
    expect((await socket.closedBy(10_000)).code).toBe(4403);
    expect(await secretNames()).not.toContain('STOLEN_QUIETLY');
  });
});

describe('key lookups', () => {
  it('of one turn are one query of each kind, and one asked after a revocation sees it', async () => {
    const [one, two] = [await createKeyWithCli(ctx.trellis.databaseUrl, 'acme', { name: 'one' }), await createKeyWithCli(ctx.trellis.databaseUrl, 'globex', { name: 'two' })];
    const queries: string[] = [];
    const db = new Kysely<Database>({
      dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: ctx.trellis.databaseUrl, max: 2 }) }),
      log: (event) => void queries.push(event.query.sql),
    });
    try {
      const keys = new KeyLookups(db);
      // What 30 sockets opening and subscribing at once ask: by secret, by id, and the key mode.
      const answers = await Promise.all([
        ...Array.from({ length: 10 }, (_, i) => keys.activeKey([one, two][i % 2]!.secret)),
        ...Array.from({ length: 10 }, (_, i) => keys.activeKeyById([one, two][i % 2]!.id)),
        ...Array.from({ length: 10 }, () => keys.keysRequired()),
      ]);
      expect(queries).toHaveLength(3);
      expect(answers.slice(0, 20).map((key) => (key as { tenant_id: string }).tenant_id)).toEqual(Array.from({ length: 20 }, (_, i) => ['acme', 'globex'][i % 2]));
      expect(answers.slice(20)).toEqual(Array(10).fill(true));
      expect(await keys.activeKey('trk_unknown')).toBeUndefined();

      await ctx.trellis.db.updateTable('api_keys').set({ revoked_at: new Date() }).where('id', '=', one.id).execute();
      expect(await Promise.all([keys.activeKey(one.secret), keys.activeKeyById(one.id), keys.activeKeyById(two.id)])).toEqual([
        undefined,
        undefined,
        expect.objectContaining({ id: two.id }),
      ]);
    } finally {
      await db.destroy();
    }
  });
});

describe('error responses', () => {
  let key: string;

  beforeAll(async () => {
    key = (await createKeyWithCli(ctx.trellis.databaseUrl, 'errors')).secret;
  });

  /** Every `extensions.stacktrace` in a response's errors. */
  const stackTraces = (errors: Array<{ extensions?: Record<string, unknown> }> | undefined) => (errors ?? []).filter((error) => error.extensions && 'stacktrace' in error.extensions);

  it('carry no stack trace in development, on authentication errors or any other, over HTTP and graphql-ws', async () => {
    const url = other!.graphqlUrl;
    const responses = await Promise.all([
      graphql(url, '{ runs { edges { cursor } } }', {}, 'trk_not-a-key'),
      graphql(url, '{ runs { edges { cursor } } }'),
      graphql(url, '{ runs { edges { nope } } }', {}, key),
      graphql(url, 'mutation { cancelRun(id: "00000000-0000-0000-0000-000000000000") { id } }', {}, key),
      graphql(url, '{ runs { ', {}, key),
    ]);
    expect(responses.map((response) => response.errors?.[0]?.extensions?.code)).toEqual(['UNAUTHENTICATED', 'UNAUTHENTICATED', 'GRAPHQL_VALIDATION_FAILED', 'NOT_FOUND', 'GRAPHQL_PARSE_FAILED']);
    expect(responses.flatMap((response) => stackTraces(response.errors))).toEqual([]);
    const socket = await connect(url, key);
    const id = socket.subscribe('subscription { runEvents(runId: "00000000-0000-0000-0000-000000000000") { seq } }');
    const [answer] = await socket.settled(id);
    expect(answer).toMatchObject({ type: 'next', payload: { errors: [{ extensions: { code: 'NOT_FOUND' } }] } });
    const refused = socket.subscribe('subscription { runsChanged { nope } }');
    const [invalid] = await socket.settled(refused);
    expect(invalid).toMatchObject({ type: 'error', payload: [{ message: 'Cannot query field "nope" on type "Run".' }] });
    expect([...stackTraces(answer!.payload.errors), ...stackTraces(invalid!.payload)]).toEqual([]);
  });

  it('carry no stack trace in production', async () => {
    const prod = await createTestContext({ env: { NODE_ENV: 'production', TRELLIS_ROLE: 'api' } });
    try {
      const prodKey = (await createKeyWithCli(prod.trellis.databaseUrl, 'prod')).secret;
      const responses = await Promise.all([
        graphql(prod.graphqlUrl, '{ runs { edges { cursor } } }', {}, 'trk_not-a-key'),
        graphql(prod.graphqlUrl, '{ runs { edges { nope } } }', {}, prodKey),
        graphql(prod.graphqlUrl, 'mutation { cancelRun(id: "00000000-0000-0000-0000-000000000000") { id } }', {}, prodKey),
      ]);
      expect(responses.map((response) => response.errors?.[0]?.extensions?.code)).toEqual(['UNAUTHENTICATED', 'GRAPHQL_VALIDATION_FAILED', 'NOT_FOUND']);
      expect(responses.flatMap((response) => stackTraces(response.errors))).toEqual([]);
    } finally {
      await prod.stop();
    }
  });
});

describe('keys required', () => {
  it('stays so after every key is revoked: requests without a key are refused, never served as keyless', async () => {
    await ctx.trellis.db.updateTable('api_keys').set({ revoked_at: new Date() }).where('revoked_at', 'is', null).execute();
    for (const url of [ctx.graphqlUrl, other!.graphqlUrl]) {
      const response = await postGraphQL(url, '{ runs { edges { cursor } } }');
      expect(response.status).toBe(401);
      expect(response.body.errors[0]).toMatchObject({ message: 'this API needs an API key: send "Authorization: Bearer <API key>"', extensions: { code: 'UNAUTHENTICATED' } });
      await expect(GraphQLSocket.connect(url)).rejects.toThrow('connection closed with 4403');
    }
    expect((await keysCli(ctx.trellis.databaseUrl, 'list')).out[0]).toMatch(/^no active keys: every request is refused until a key is created/);
  });

  it('ends only when an operator returns to keyless mode with trellis keys allow-keyless, which waits until no key is active', async () => {
    const key = await createKeyWithCli(ctx.trellis.databaseUrl, 'acme', { name: 'last' });
    const refused = await keysCli(ctx.trellis.databaseUrl, 'allow-keyless');
    expect(refused).toMatchObject({ code: 1, err: [expect.stringContaining('a key is still active: revoke every key first')] });
    expect((await postGraphQL(ctx.graphqlUrl, '{ __typename }')).status).toBe(401);

    expect((await keysCli(ctx.trellis.databaseUrl, 'revoke', '--id', key.id)).code).toBe(0);
    expect((await keysCli(ctx.trellis.databaseUrl, 'allow-keyless')).code).toBe(0);
    expect((await postGraphQL(ctx.graphqlUrl, '{ __typename }')).body).toEqual({ data: { __typename: 'Query' } });
  });
});
