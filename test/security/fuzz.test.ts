import fc from 'fast-check';
import { createApiKey } from '../../src/api/api-keys';
import { graphql, type GraphQLResponse } from '../support/graphql-client';
import { createTestContext, type TestContext } from '../support/test-context';
import { until } from '../support/until';

// Thousands of generated definitions, expressions and inputs, many of them hostile, thrown at a
// running Trellis by one tenant while another tenant's ordinary runs must still finish: no input
// may crash the worker, wedge a run or make the API answer "internal server error".

const DEFINITIONS = 2000;
const RUNS = 80;
const ORDINARY_RUNS = 20;
const SEED = Number(process.env.TRELLIS_FUZZ_SEED ?? Date.now() % 2 ** 31);

let ctx: TestContext;
const keys = { mallory: '', alice: '' };

beforeAll(async () => {
  // Thousands of requests from one key within seconds: the rate limit is not what is under test.
  ctx = await createTestContext({ env: { TRELLIS_RATE_LIMIT: '0' } });
  keys.mallory = (await createApiKey(ctx.trellis.db, 'mallory', 'fuzz', false)).secret;
  keys.alice = (await createApiKey(ctx.trellis.db, 'alice', 'ordinary', false)).secret;
});

afterAll(async () => {
  await ctx?.stop();
});

const as = <T = any>(tenant: keyof typeof keys, query: string, variables: Record<string, unknown> = {}): Promise<GraphQLResponse<T>> =>
  graphql<T>(ctx.graphqlUrl, query, variables, keys[tenant]);

/** Runs `task` over `items`, `concurrency` at a time. */
async function pool<T>(items: readonly T[], concurrency: number, task: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) {
        const index = next++;
        await task(items[index]!, index);
      }
    }),
  );
}

// ---- generators -------------------------------------------------------------------------------

const CATASTROPHIC_PATTERNS = ['(a|a)*$', '^(a+)+$', '(a|aa)+b', '^(\\w+\\s?)*$', '(.*a){12}', '(x+x+)+y', 'a{1000}{1000}', '(\\d|\\w)+!'];
const PICTURES = ['0e0', '#,##0.00', '0'.repeat(60), '###e###', '#%', '00.00e00', '#,###,###,##0.0000000000', "'x'#0"];

const sizeArb = fc.constantFrom(0, 1, 10, 1_000, 100_000, 10_000_000, 1_000_000_000);

/** An expression body: ordinary JSONata, hostile shapes and garbage. */
const expressionArb: fc.Arbitrary<string> = fc.letrec<{ expr: string }>((tie) => ({
  expr: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constantFrom('$input', '$input.a', '$input.text', '$string($input)', '$run.id', '42', "'text'", 'true', 'null', '[]', '{}'),
    sizeArb.map((n) => `[1..${n}]`),
    sizeArb.map((n) => `$pad('', ${n}, 'x')`),
    fc.tuple(sizeArb, sizeArb).map(([k, n]) => `[1..${k}].$pad('', ${n})`),
    sizeArb.map((n) => `($f := function($n){ $n <= 0 ? 0 : 1 + $f($n - 1) }; $f(${n}))`),
    fc.constant('($f := function($n){ $f($n + 1) }; $f(0))'),
    fc.integer({ min: 1, max: 60 }).map((n) => `($d := function($s, $n){ $n = 0 ? $s : $d($s & $s, $n - 1) }; $d('ab', ${n}))`),
    fc.constantFrom(...CATASTROPHIC_PATTERNS).map((p) => `$match($string($input.text), /${p}/)`),
    fc.constantFrom(...CATASTROPHIC_PATTERNS).map((p) => `$replace($string($input.text), /${p}/, 'z')`),
    fc.tuple(fc.double({ noNaN: false }), fc.constantFrom(...PICTURES)).map(([n, p]) => `$formatNumber(${Number.isFinite(n) ? n : 0}, '${p}')`),
    fc.tuple(fc.integer(), fc.integer({ min: -5, max: 40 })).map(([n, radix]) => `$formatBase(${n}, ${radix})`),
    fc.integer().map((n) => `$formatInteger(${n}, 'w')`),
    sizeArb.map((n) => `$sort([1..${n}])`),
    sizeArb.map((n) => `$reduce([1..${n}], function($a, $b){ $a & $b })`),
    sizeArb.map((n) => `$join($split($pad('', ${n}, 'ab'), ''), ',')`),
    fc.constantFrom('$$.constructor', "$lookup($, '__proto__')", '$eval("1")', '$secret("X")', '$__evaluate_entry := 1', '$now()', '$random()', '$millis()'),
    fc.tuple(tie('expr'), tie('expr')).map(([a, b]) => `${a} & ${b}`),
    fc.tuple(tie('expr'), tie('expr')).map(([a, b]) => `(${a}).(${b})`),
    fc.tuple(tie('expr'), tie('expr')).map(([a, b]) => `{ 'k': ${a}, 'v': ${b} }`),
    fc.string({ maxLength: 20 }),
  ),
})).expr;

const templateArb = fc.oneof(
  expressionArb.map((e) => `{% ${e} %}`),
  fc.tuple(fc.string({ maxLength: 10 }), expressionArb).map(([text, e]) => `${text} {% ${e} %}`),
  fc.record({ a: expressionArb.map((e) => `{% ${e} %}`), b: fc.jsonValue({ maxDepth: 2 }) }),
);

/** A small graph of steps that run inside the workflow (and a map over an inline graph). */
const definitionArb = fc
  .record({
    first: templateArb,
    second: templateArb,
    guard: fc.option(expressionArb, { nil: undefined }),
    mapItems: fc.option(expressionArb, { nil: undefined }),
    delay: fc.constantFrom(undefined, '1ms', '0s', '9999999d', 'PT0.001S'),
  })
  .map(({ first, second, guard, mapItems, delay }) => {
    const steps: Record<string, unknown> = {
      first: { type: 'transform', value: first },
      second: { type: 'transform', needs: ['first'], value: second, ...(guard ? { if: `{% ${guard} %}` } : {}) },
    };
    if (mapItems) {
      steps.each = { type: 'map', items: `{% ${mapItems} %}`, maxConcurrency: 5, do: { steps: { one: { type: 'transform', value: '{% $item %}' } } } };
    }
    if (delay) steps.pause = { type: 'delay', needs: ['first'], duration: delay };
    return { name: 'fuzz', steps };
  });

const hostileStringArb = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.integer({ min: 10, max: 40 }).map((n) => `${'a'.repeat(n)}!`),
  fc.constantFrom('\u0000', 'nul\u0000in the middle', '\ud800', 'lone \udc00 surrogate', '%00', '__proto__', '{% $input %}'),
);

const inputArb = fc.oneof(
  fc.record({ a: fc.jsonValue({ maxDepth: 3 }), text: hostileStringArb }),
  fc.integer({ min: 1, max: 300 }).map((depth) => {
    let value: unknown = 'bottom';
    for (let i = 0; i < depth; i++) value = { a: value };
    return { a: value, text: 'deep' };
  }),
  fc.jsonValue({ maxDepth: 4 }),
);

// ---- the test ---------------------------------------------------------------------------------

const FINAL = new Set(['COMPLETED', 'FAILED', 'COMPENSATED', 'CANCELLED', 'TIMED_OUT']);

/** The GraphQL error codes a hostile request may get; anything else (INTERNAL_SERVER_ERROR) is a bug. */
const EXPECTED_CODES = new Set(['BAD_USER_INPUT']);

function unexpectedErrors(response: GraphQLResponse<unknown>): string[] {
  return (response.errors ?? []).filter((error) => !EXPECTED_CODES.has(String(error.extensions?.code))).map((error) => `${String(error.extensions?.code)}: ${error.message}`);
}

describe(`fuzzing (seed ${SEED}, set TRELLIS_FUZZ_SEED to repeat)`, () => {
  it(`validates ${DEFINITIONS} generated definitions without an unexpected error`, async () => {
    const specs = fc.sample(definitionArb, { numRuns: DEFINITIONS, seed: SEED });
    const unexpected: string[] = [];
    await pool(specs, 8, async (spec) => {
      const response = await as('mallory', 'query($spec: JSON!) { validateDefinition(spec: $spec) { valid errors { path message } } }', { spec });
      unexpected.push(...unexpectedErrors(response).map((error) => `${JSON.stringify(spec)} → ${error}`));
    });
    expect(unexpected).toEqual([]);
  }, 240_000);

  it(`runs ${RUNS} generated runs to a final status while another tenant's runs finish and /health stays up`, async () => {
    const cases = fc.sample(fc.tuple(definitionArb, inputArb), { numRuns: RUNS, seed: SEED + 1 });
    const ordinary = { name: 'ordinary', steps: { add: { type: 'transform', value: '{% $input.n + 1 %}' }, wait: { type: 'delay', needs: ['add'], duration: '10ms' } } };
    expect(unexpectedErrors(await as('alice', 'mutation($spec: JSON!) { saveDefinition(spec: $spec) { version } }', { spec: ordinary }))).toEqual([]);

    const unexpected: string[] = [];
    const started: string[] = [];
    const ordinaryRuns: string[] = [];
    const hostile = pool(cases, 6, async ([spec, input]) => {
      const response = await as<{ testRun: { id: string } }>('mallory', 'mutation($spec: JSON!, $input: JSON) { testRun(spec: $spec, input: $input) { id } }', { spec, input });
      unexpected.push(...unexpectedErrors(response).map((error) => `${JSON.stringify({ spec, input }).slice(0, 400)} → ${error}`));
      if (response.data?.testRun) started.push(response.data.testRun.id);
    });
    const friendly = pool(Array.from({ length: ORDINARY_RUNS }, (_, n) => n), 2, async (n) => {
      const response = await as<{ startRun: { id: string } }>('alice', 'mutation($input: JSON) { startRun(definition: "ordinary", input: $input) { id } }', { input: { n } });
      expect(unexpectedErrors(response)).toEqual([]);
      ordinaryRuns.push(response.data!.startRun.id);
    });
    await Promise.all([hostile, friendly]);
    expect(unexpected).toEqual([]);

    // Every run, hostile or not, reaches a final status: none is left wedged.
    const statusOf = async (tenant: keyof typeof keys, id: string): Promise<string> => {
      const response = await as<{ run: { status: string } }>(tenant, 'query($id: ID!) { run(id: $id) { status } }', { id });
      return response.data?.run.status ?? 'MISSING';
    };
    for (const [tenant, ids] of [['alice', ordinaryRuns], ['mallory', started]] as const) {
      const pending = new Set(ids);
      await until(`${pending.size} runs of ${tenant} have finished`, async () => {
        for (const id of [...pending]) if (FINAL.has(await statusOf(tenant, id))) pending.delete(id);
        return pending.size === 0;
      }, 180_000);
    }
    for (const id of ordinaryRuns) expect(await statusOf('alice', id)).toBe('COMPLETED');

    const health = await fetch(ctx.graphqlUrl.replace(/\/graphql$/, '/health'));
    expect(health.status).toBe(200);
  }, 420_000);
});
