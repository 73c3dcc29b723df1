import { sql } from 'kysely';
import { graphql, graphqlText, graphqlWsText, type GraphQLResponse } from '../support/graphql-client';
import { HttpStub } from '../support/http-stub';
import { finished, getRun, save, startRunOf, stepOf, type RunView, type StartedRun } from '../support/runs';
import { createTestContext, type TestContext } from '../support/test-context';
import { until } from '../support/until';

let ctx: TestContext;
let stub: HttpStub;

beforeAll(async () => {
  ctx = await createTestContext();
  stub = await new HttpStub().start();
});

afterAll(async () => {
  await ctx?.stop();
  await stub?.stop();
});

/** How long a run that should end at once may take before the test calls it wedged. */
const ENDS_WITHIN_MS = 30_000;

/** The run once its workflow has closed; fails the test if it is still open after ENDS_WITHIN_MS. */
async function endedRun(run: StartedRun): Promise<RunView> {
  const handle = ctx.trellis.client.workflow.getHandle(run.temporal.workflowId);
  await until('the run has ended', async () => (await handle.describe()).status.name !== 'RUNNING', ENDS_WITHIN_MS);
  return finished(ctx, run);
}

/** A GraphQL response's errors as `{code, errors}`: what a client sees of a refusal. */
function refusal(response: GraphQLResponse<unknown>) {
  const [error] = response.errors ?? [];
  return { code: error?.extensions?.code, errors: error?.extensions?.errors, message: error?.message };
}

const contains = (what: string) => `contains ${what}, which cannot be stored`;
const NUL = contains('U+0000');
const LONE = 'contains U+D800, half of a UTF-16 surrogate pair without its other half, which cannot be stored';

/** A cursor as the API encodes one, around parts of the caller's choosing. */
const cursor = (parts: unknown[]): string => Buffer.from(JSON.stringify(parts)).toString('base64url');

/** `{"a": {"a": … 1 …}}`, `levels` objects deep, as JSON text (JSON.stringify would overflow). */
const nestedText = (levels: number): string => `${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}`;

describe('values from outside that PostgreSQL cannot store', () => {
  it('a response body with U+0000 and lone surrogates, in values and keys: the run completes, later steps see the exact values, the trail stores U+FFFD', async () => {
    stub.on('GET /odd', { body: { text: 'a\u0000b', lone: 'x\ud800y', 'k\u0000\udc00': 1 } });
    const spec = {
      name: 'odd-body',
      steps: {
        fetch: { type: 'http', url: `${stub.url}/odd` },
        look: {
          type: 'transform',
          needs: ['fetch'],
          value: {
            textLength: '{% $length($steps.fetch.output.body.text) %}',
            exact: '{% $steps.fetch.output.body.text = "a" & $substring($steps.fetch.output.body.text, 1, 1) & "b" %}',
            loneLength: '{% $length($steps.fetch.output.body.lone) %}',
            keys: '{% $keys($steps.fetch.output.body) %}',
            echo: '{% $steps.fetch.output.body %}',
          },
        },
      },
    };
    const started = await startRunOf(ctx, spec);
    const run = await endedRun(started);
    expect(run.status).toBe('COMPLETED');

    // What the run itself holds (Temporal history, the workflow's result): the exact values.
    const result = (await ctx.trellis.client.workflow.getHandle(started.temporal.workflowId).result()) as { output: any };
    expect(result.output.look).toMatchObject({ textLength: 3, exact: true, loneLength: 3 });
    expect(result.output.look.echo).toEqual({ text: 'a\u0000b', lone: 'x\ud800y', 'k\u0000\udc00': 1 });
    expect(result.output.look.keys).toEqual(['text', 'lone', 'k\u0000\udc00']);

    // What the audit trail and the run index hold: U+FFFD in their place, readable through GraphQL.
    const stored = { text: 'a\ufffdb', lone: 'x\ufffdy', 'k\ufffd\ufffd': 1 };
    expect(stepOf(run, 'fetch').output.body).toEqual(stored);
    expect(stepOf(run, 'look').output).toMatchObject({ textLength: 3, loneLength: 3, echo: stored, keys: ['text', 'lone', 'k\ufffd\ufffd'] });
    expect(run.output.look.echo).toEqual(stored);
    const succeeded = run.events.find((e) => e.type === 'STEP_SUCCEEDED' && e.stepId === 'fetch');
    expect(succeeded?.output.body).toEqual(stored);
    expect(run.events.map((e) => e.seq)).toEqual(run.events.map((_, i) => i + 1));
  });

  it('an error text with U+0000 from a target fails the step for the right reason, and the trail records it', async () => {
    stub.on('POST /refuse', { status: 400, body: { error: 'no\u0000pe' } });
    const run = await endedRun(await startRunOf(ctx, { name: 'odd-error', steps: { call: { type: 'http', method: 'POST', url: `${stub.url}/refuse` } } }));
    expect(run.status).toBe('FAILED');
    expect(stepOf(run, 'call').error.message).toContain('400');
    expect(stepOf(run, 'call').error.details.body).toEqual({ error: 'no\ufffdpe' });
    expect(run.events.at(-1)).toMatchObject({ type: 'RUN_FAILED' });
  });

  it('a response body nested thousands of levels deep fails its step instead of wedging the run', async () => {
    // Temporal cannot serialise the activity's result (its JSON converter recurses): the step fails.
    stub.on('GET /deep', { text: `{"deep": ${nestedText(5_000)}}` });
    const run = await endedRun(await startRunOf(ctx, { name: 'deep-body', steps: { fetch: { type: 'http', url: `${stub.url}/deep`, retry: { maxAttempts: 1 } } } }));
    expect(run.status).toBe('FAILED');
    expect(stepOf(run, 'fetch').status).toBe('FAILED');
  });

  it('an output cut for its audit snapshot in the middle of a surrogate pair is stored', async () => {
    // The snapshot keeps the first 16,384 characters of the output's JSON: `"` then 2-unit emoji,
    // so the cut falls between the halves of the 8,192nd.
    const run = await endedRun(await startRunOf(ctx, { name: 'emoji', steps: { copy: { type: 'transform', value: '{% $input.s %}' } } }, { s: '😀'.repeat(10_000) }));
    expect(run.status).toBe('COMPLETED');
    const snapshot = run.events.find((e) => e.type === 'STEP_SUCCEEDED')?.output;
    expect(snapshot).toMatchObject({ truncated: true });
    expect(snapshot.preview.endsWith('😀\ufffd')).toBe(true);
    expect(stepOf(run, 'copy').output).toBe('😀'.repeat(10_000));
  });
});

describe('values a client sends that PostgreSQL cannot store', () => {
  beforeAll(async () => {
    await save(ctx, { name: 'plain', steps: { t: { type: 'transform', value: 1 } } });
  });

  it.each([
    ['startRun input', 'mutation($v: JSON) { startRun(definition: "plain", input: $v) { id } }', { v: { a: { b: 'x\u0000' } } }, '/input/a/b', NUL],
    ['startRun input key', 'mutation($v: JSON) { startRun(definition: "plain", input: $v) { id } }', { v: { 'k\u0000': 1 } }, '/input/k\u0000', `has a key that ${NUL}`],
    ['startRun input lone surrogate', 'mutation($v: JSON) { startRun(definition: "plain", input: $v) { id } }', { v: ['ok', 'x\ud800'] }, '/input/1', LONE],
    ['startRun idempotencyKey', 'mutation($v: String) { startRun(definition: "plain", idempotencyKey: $v) { id } }', { v: 'key\u0000' }, '/idempotencyKey', NUL],
    ['startRun definition name', 'mutation($v: String!) { startRun(definition: $v) { id } }', { v: 'plain\u0000' }, '/definition', NUL],
    ['testRun input', 'mutation($v: JSON) { testRun(spec: {name: "t", steps: {t: {type: "transform", value: 1}}}, input: $v) { id } }', { v: { a: '\u0000' } }, '/input/a', NUL],
    ['testRun mocks', 'mutation($v: JSON) { testRun(spec: {name: "t", steps: {h: {type: "http", url: "http://127.0.0.1:9"}}}, mocks: $v) { id } }', { v: { h: { body: 'x\u0000' } } }, '/mocks/h/body', NUL],
    ['cancelRun reason', 'mutation($v: String) { cancelRun(id: "00000000-0000-4000-8000-000000000000", reason: $v) { id } }', { v: 'why\u0000' }, '/reason', NUL],
    ['setSecret value', 'mutation($v: String!) { setSecret(name: "TOKEN", value: $v) }', { v: 'se\u0000cret' }, '/value', NUL],
    ['a definition name in a query', 'query($v: String!) { definition(name: $v) { name } }', { v: 'plain\u0000' }, '/name', NUL],
    ['a search in a query', 'query($v: String) { definitions(search: $v) { edges { node { name } } } }', { v: '\u0000' }, '/search', NUL],
    ['a cursor with U+0000 inside', 'query($v: String) { runs(after: $v) { edges { cursor } } }', { v: cursor(['x\u0000', 'y']) }, '/after', 'is not a cursor this API returned'],
    ['a forged cursor', 'query($v: String) { runs(after: $v) { edges { cursor } } }', { v: cursor(['soon', 'not-a-uuid']) }, '/after', 'is not a cursor this API returned'],
  ])('%s: BAD_USER_INPUT at its pointer', async (_what, query, variables, path, message) => {
    const response = await graphql(ctx.graphqlUrl, query, variables);
    expect(refusal(response)).toMatchObject({ code: 'BAD_USER_INPUT', errors: [{ path, message }] });
  });

  it('signalRun: a payload with U+0000 is refused at its pointer, and the run still takes a clean one', async () => {
    const started = await startRunOf(ctx, { name: 'waits', steps: { approval: { type: 'wait', signal: 'approve' } } });
    const signal = 'mutation($id: ID!, $p: JSON) { signalRun(id: $id, signal: "approve", payload: $p) { id } }';
    const refused = await graphql(ctx.graphqlUrl, signal, { id: started.id, p: { note: ['ok', 'n\u0000o'] } });
    expect(refusal(refused)).toMatchObject({ code: 'BAD_USER_INPUT', errors: [{ path: '/payload/note/1', message: NUL }] });
    expect((await graphql(ctx.graphqlUrl, signal, { id: started.id, p: { note: 'ok' } })).errors).toBeUndefined();
    const run = await endedRun(started);
    expect(run.status).toBe('COMPLETED');
    expect(stepOf(run, 'approval').output).toEqual({ note: 'ok' });
  });

  it('definitions: U+0000 anywhere in the document is an error at its pointer, as an object or as JSON or YAML text', async () => {
    const spec = { name: 'nul-def', description: 'd\u0000', steps: { t: { type: 'transform', value: { 'k\u0000': 'v\ud800' } } } };
    const expected = [
      { path: '/description', message: NUL },
      { path: '/steps/t/value/k\u0000', message: `has a key that ${NUL}` },
      { path: '/steps/t/value/k\u0000', message: LONE },
    ];
    const validate = 'query($s: JSON!) { validateDefinition(spec: $s) { valid errors { path message } } }';
    for (const form of [spec, JSON.stringify(spec), 'name: nul-def\ndescription: "d\\0"\nsteps:\n  t: { type: transform, value: { "k\\0": "v\\ud800" } }\n']) {
      const { data } = await graphql<{ validateDefinition: any }>(ctx.graphqlUrl, validate, { s: form });
      expect(data?.validateDefinition).toEqual({ valid: false, errors: expect.arrayContaining(expected) });
      const saved = await graphql(ctx.graphqlUrl, 'mutation($s: JSON!) { saveDefinition(spec: $s) { version } }', { s: form });
      expect(refusal(saved)).toMatchObject({ code: 'BAD_USER_INPUT', errors: expect.arrayContaining(expected) });
    }
    const tested = await graphql(ctx.graphqlUrl, 'mutation($s: JSON!) { testRun(spec: $s) { id } }', { s: spec });
    expect(refusal(tested)).toMatchObject({ code: 'BAD_USER_INPUT', errors: expect.arrayContaining(expected) });
  });

  it('the same refusal over graphql-ws', async () => {
    const response = await graphqlWsText(ctx.graphqlUrl, JSON.stringify({ query: 'mutation($v: JSON) { startRun(definition: "plain", input: $v) { id } }', variables: { v: { a: 'x\u0000' } } }));
    expect(refusal(response)).toMatchObject({ code: 'BAD_USER_INPUT', errors: [{ path: '/input/a', message: NUL }] });
  });
});

describe('JSON nested too deep', () => {
  const startRun = 'mutation($v: JSON) { startRun(definition: "plain", input: $v) { id } }';
  const tooDeep = { code: 'BAD_USER_INPUT', errors: [{ path: '/input', message: 'nests deeper than 64 levels' }] };

  it('a 10,000-deep input, as variables over HTTP and over graphql-ws, is refused naming the limit and where', async () => {
    const body = `{"query": ${JSON.stringify(startRun)}, "variables": {"v": ${nestedText(10_000)}}}`;
    const http = await graphqlText(ctx.graphqlUrl, body);
    expect(refusal(http.response)).toMatchObject(tooDeep);
    expect(refusal(await graphqlWsText(ctx.graphqlUrl, body))).toMatchObject(tooDeep);
  });

  it('64 levels are taken, 65 are not', async () => {
    const at = (levels: number) => graphqlText(ctx.graphqlUrl, `{"query": ${JSON.stringify(startRun)}, "variables": {"v": ${nestedText(levels)}}}`);
    expect((await at(64)).response.errors).toBeUndefined();
    expect(refusal((await at(65)).response)).toMatchObject(tooDeep);
  });

  it('a deep literal in the operation text is refused before it is parsed, over HTTP and over graphql-ws', async () => {
    const query = `mutation { startRun(definition: "plain", input: ${'{a: '.repeat(10_000)}1${'}'.repeat(10_000)}) { id } }`;
    const http = await graphqlText(ctx.graphqlUrl, JSON.stringify({ query }));
    expect(http.status).toBe(400);
    const message = 'operation too deeply nested: {, [ and ( nest 10002 levels in its text, the limit is 128 (JSON values may nest 64 levels)';
    expect(refusal(http.response)).toMatchObject({ code: 'BAD_USER_INPUT', message });
    expect(refusal(await graphqlWsText(ctx.graphqlUrl, JSON.stringify({ query })))).toMatchObject({ code: 'BAD_USER_INPUT', message });
    const shallower = `mutation { startRun(definition: "plain", input: ${'{a: '.repeat(70)}1${'}'.repeat(70)}) { id } }`;
    expect(refusal((await graphqlText(ctx.graphqlUrl, JSON.stringify({ query: shallower }))).response)).toMatchObject(tooDeep);
  });

  it('a deep definition, as an object, as JSON text or as YAML text, is invalid naming the limit', async () => {
    const validate = 'query($s: JSON!) { validateDefinition(spec: $s) { valid errors { path message } } }';
    const document = `{"name": "deep", "steps": {"t": {"type": "transform", "value": ${nestedText(10_000)}}}}`;
    const asObject = await graphqlText(ctx.graphqlUrl, `{"query": ${JSON.stringify(validate)}, "variables": {"s": ${document}}}`);
    expect(asObject.response.data).toEqual({ validateDefinition: { valid: false, errors: [{ path: '', message: 'nests deeper than 64 levels' }] } });
    const asText = await graphqlText(ctx.graphqlUrl, JSON.stringify({ query: validate, variables: { s: document } }));
    expect(asText.response.data).toEqual({ validateDefinition: { valid: false, errors: [{ path: '', message: 'nests deeper than 64 levels' }] } });
    const yaml = `name: deep\nsteps:\n  t:\n    type: transform\n    value: ${'['.repeat(10_000)}${']'.repeat(10_000)}\n`;
    const asYaml = await graphql(ctx.graphqlUrl, validate, { s: yaml });
    expect(refusal(asYaml)).toMatchObject({ code: 'BAD_USER_INPUT', errors: [{ path: '', message: expect.stringContaining('nests too deeply: JSON values may nest 64 levels') }] });
    const saved = await graphqlText(ctx.graphqlUrl, `{"query": "mutation($s: JSON!) { saveDefinition(spec: $s) { version } }", "variables": {"s": ${document}}}`);
    expect(refusal(saved.response)).toMatchObject({ code: 'BAD_USER_INPUT', errors: [{ path: '', message: 'nests deeper than 64 levels' }] });
  });

  it('a deep signal payload and deep mocks are refused at their argument', async () => {
    const mocks = await graphqlText(ctx.graphqlUrl, `{"query": "mutation($m: JSON) { testRun(spec: {name: \\"t\\", steps: {t: {type: \\"transform\\", value: 1}}}, mocks: $m) { id } }", "variables": {"m": ${nestedText(5_000)}}}`);
    expect(refusal(mocks.response)).toMatchObject({ code: 'BAD_USER_INPUT', errors: [{ path: '/mocks', message: 'nests deeper than 64 levels' }] });
    const signal = await graphqlText(ctx.graphqlUrl, `{"query": "mutation($p: JSON) { signalRun(id: \\"00000000-0000-4000-8000-000000000000\\", signal: \\"s\\", payload: $p) { id } }", "variables": {"p": ${nestedText(5_000)}}}`);
    expect(refusal(signal.response)).toMatchObject({ code: 'BAD_USER_INPUT', errors: [{ path: '/payload', message: 'nests deeper than 64 levels' }] });
  });
});

describe('a database error that will not go away', () => {
  afterEach(async () => {
    await sql`alter table audit_events drop constraint if exists hygiene_no_poison`.execute(ctx.trellis.db);
    await sql`drop trigger if exists hygiene_refuse_all on audit_events`.execute(ctx.trellis.db);
  });

  it('fails the run quickly, naming the event and the cause, without the refused value; cancelRun still answers', async () => {
    // PostgreSQL refuses, for good (23514), the event that would record this output.
    await sql`alter table audit_events add constraint hygiene_no_poison check (output is null or strpos(output::text, 'poison') = 0)`.execute(ctx.trellis.db);
    stub.on('GET /slow', { delayMs: 5_000, body: {} });
    const started = await startRunOf(ctx, {
      name: 'poisoned',
      steps: {
        taint: { type: 'transform', value: 'poison' },
        slow: { type: 'http', url: `${stub.url}/slow` },
        after: { type: 'transform', needs: ['taint'], value: 'never' },
      },
    });
    const run = await endedRun(started);
    expect(run.status).toBe('FAILED');
    expect(run.error).toMatchObject({ type: 'AuditWriteFailed', retryable: false });
    expect(run.error.message).toMatch(/^the audit trail could not record STEP_SUCCEEDED of step "taint": PostgreSQL refused it: .*hygiene_no_poison.* \(SQLSTATE 23514, integrity constraint violation\)$/);
    const last = run.events.at(-1)!;
    expect(last).toMatchObject({ type: 'RUN_FAILED', output: null, error: { type: 'AuditWriteFailed' } });
    expect(last.message).toContain('the run stopped where it stood: nothing more ran or was compensated');
    expect(run.events.some((e) => e.stepId === 'after')).toBe(false);
    expect(run.events.some((e) => e.output === 'poison')).toBe(false);
    expect(stepOf(run, 'taint').output).toBeNull();
    const description = await ctx.trellis.client.workflow.getHandle(started.temporal.workflowId).describe();
    expect(description.status.name).toBe('FAILED');

    const cancel = await graphql<{ cancelRun: { status: string } }>(ctx.graphqlUrl, 'mutation($id: ID!) { cancelRun(id: $id) { status } }', { id: started.id });
    expect(cancel.errors?.[0]?.extensions?.code).toBe('CONFLICT');
    expect(cancel.errors?.[0]?.message).toMatch(new RegExp(`^run ${started.id} is already FAILED \\(.*the run stopped where it stood.*, at .+\\): only a running run can be cancelled$`));
  });

  it('ends the workflow even when PostgreSQL refuses the final record too; cancelRun then records how it ended', async () => {
    await sql`
      create or replace function hygiene_refuse() returns trigger language plpgsql as $$
      begin
        if exists (select 1 from runs where id = new.run_id and definition_name = 'doomed') then
          raise exception 'no events for doomed runs';
        end if;
        return new;
      end $$`.execute(ctx.trellis.db);
    await sql`create trigger hygiene_refuse_all before insert on audit_events for each row execute function hygiene_refuse()`.execute(ctx.trellis.db);
    const started = await startRunOf(ctx, { name: 'doomed', steps: { t: { type: 'transform', value: 1 } } });
    const handle = ctx.trellis.client.workflow.getHandle(started.temporal.workflowId);
    await until('the workflow has ended', async () => (await handle.describe()).status.name !== 'RUNNING', ENDS_WITHIN_MS);
    expect((await handle.describe()).status.name).toBe('FAILED');
    expect((await getRun(ctx, started.id)).status).toBe('RUNNING'); // nothing could be recorded

    const cancel = await graphql<{ cancelRun: { status: string; error: any } }>(ctx.graphqlUrl, 'mutation($id: ID!) { cancelRun(id: $id) { status error } }', { id: started.id });
    expect(cancel.errors).toBeUndefined();
    expect(cancel.data?.cancelRun.status).toBe('FAILED');
    expect(cancel.data?.cancelRun.error).toMatchObject({ type: 'AuditWriteFailed' });
    expect(cancel.data?.cancelRun.error.message).toMatch(/^the audit trail could not record RUN_STARTED: PostgreSQL refused it: no events for doomed runs \(SQLSTATE P0001, PL\/pgSQL error\)$/);
    expect((await getRun(ctx, started.id)).status).toBe('FAILED');
  });
});

describe('names every JavaScript object has', () => {
  const validate = 'query($s: JSON!) { validateDefinition(spec: $s) { valid errors { path message } } }';

  it('are refused as step ids, at the step, also inside a map graph, in JSON text and over graphql-ws', async () => {
    // Written as text: in an object literal __proto__ would not be a key. (Fastify refuses a
    // request body with a "__proto__" key; a definition's text, or graphql-ws, carries one.)
    const spec = `{"name": "proto", "steps": {
      "__proto__": {"type": "transform", "value": 1},
      "constructor": {"type": "transform", "value": 2},
      "m": {"type": "map", "items": "{% [1] %}", "do": {"steps": {"toString": {"type": "transform", "value": 3}}}}}}`;
    const refused = (id: string, at = `/steps/${id}`) => ({ path: at, message: `step id "${id}" is a name every JavaScript object has (Object.prototype.${id}): use another id` });
    const expected = expect.arrayContaining([refused('__proto__'), refused('constructor'), refused('toString', '/steps/m/do/steps/toString')]);
    const asText = await graphql<{ validateDefinition: any }>(ctx.graphqlUrl, validate, { s: spec });
    expect(asText.data?.validateDefinition).toEqual({ valid: false, errors: expected });
    const overWs = await graphqlWsText<{ validateDefinition: any }>(ctx.graphqlUrl, `{"query": ${JSON.stringify(validate)}, "variables": {"s": ${spec}}}`);
    expect(overWs.data?.validateDefinition).toEqual({ valid: false, errors: expected });
    const saved = await graphql(ctx.graphqlUrl, 'mutation($s: JSON!) { saveDefinition(spec: $s) { version } }', { s: spec });
    expect(refusal(saved)).toMatchObject({ code: 'BAD_USER_INPUT', errors: expected });
  });

  it('are refused as secret names, in $secret() and in setSecret', async () => {
    const { data } = await graphql<{ validateDefinition: any }>(ctx.graphqlUrl, validate, {
      s: { name: 'proto-secret', steps: { h: { type: 'http', url: "https://x.example/{% $secret('valueOf') %}" } } },
    });
    expect(data?.validateDefinition.errors).toEqual([
      { path: '/steps/h/url', message: '$secret("valueOf"): "valueOf" is a name every JavaScript object has (Object.prototype.valueOf) and cannot name a secret' },
    ]);
    const set = await graphql(ctx.graphqlUrl, 'mutation { setSecret(name: "__proto__", value: "x") }');
    expect(refusal(set)).toMatchObject({ code: 'BAD_USER_INPUT', errors: [{ path: '/name', message: expect.stringContaining('Object.prototype.__proto__') }] });
  });
});

describe('durations', () => {
  const validate = 'query($s: JSON!) { validateDefinition(spec: $s) { valid errors { path message } } }';

  it('longer than their maximum are refused at the field', async () => {
    const spec = {
      name: 'long',
      timeout: '366d',
      defaults: { timeout: '25h', retry: { initialInterval: '2d', maxInterval: 'P2D' } },
      steps: {
        d: { type: 'delay', duration: '100000000d' },
        w: { type: 'wait', signal: 's', timeout: 'P53W' },
        h: { type: 'http', url: 'https://x.example', timeout: '1d1ms', compensate: { type: 'http', url: 'https://x.example', timeout: '48h' } },
        ok: { type: 'delay', duration: '365d', needs: ['d'] },
      },
    };
    const { data } = await graphql<{ validateDefinition: any }>(ctx.graphqlUrl, validate, { s: spec });
    const timer = (text: string) => `"${text}" is longer than 365 days, the most a delay, a wait or a run may take`;
    const attempt = (text: string) => `"${text}" is longer than 1 day, the most one attempt or the wait between two attempts may take`;
    expect(data?.validateDefinition).toEqual({
      valid: false,
      errors: [
        { path: '/defaults/retry/initialInterval', message: attempt('2d') },
        { path: '/defaults/retry/maxInterval', message: attempt('P2D') },
        { path: '/defaults/timeout', message: attempt('25h') },
        { path: '/steps/d/duration', message: timer('100000000d') },
        { path: '/steps/h/compensate/timeout', message: attempt('48h') },
        { path: '/steps/h/timeout', message: attempt('1d1ms') },
        { path: '/steps/w/timeout', message: timer('P53W') },
        { path: '/timeout', message: timer('366d') },
      ],
    });
  });

  it('an "until" that gives a time centuries ahead fails its step clearly instead of wedging the run', async () => {
    const run = await endedRun(await startRunOf(ctx, { name: 'far', steps: { later: { type: 'delay', until: '{% $input.at %}' } } }, { at: 8.64e15 }));
    expect(run.status).toBe('FAILED');
    expect(stepOf(run, 'later').error).toMatchObject({
      type: 'InvalidTimestamp',
      message: '"until" evaluated to +275760-09-13T00:00:00.000Z, more than 365 days ahead: the most a delay may wait',
    });
  });
});
