import { randomBytes, randomUUID } from 'node:crypto';
import { WORKFLOW_EXPRESSION_LIMITS, WORKFLOW_TASK_EXPRESSION_LIMITS } from '../../definition/expression-limits';
import { createKeyWithCli } from '../support/keys-cli';
import { graphql } from '../support/graphql-client';
import { RUN_FIELDS, type AuditEventView, type RunView } from '../support/runs';
import { createTestContext, type TestContext } from '../support/test-context';
import { TrellisProcess } from '../support/trellis-process';

// The API runs in this process, the worker in a child process: a poisoned expression must fail
// its step there, and the process must live on and serve other runs, of other tenants too.
let ctx: TestContext;
let worker: TrellisProcess;
/** Admin keys: "mallory" writes poisoned definitions, "alice" ordinary ones. */
const keys = { mallory: '', alice: '' };

beforeAll(async () => {
  const taskQueue = `test-expr-security-${randomUUID().slice(0, 8)}`;
  const secretKey = randomBytes(32).toString('base64');
  ctx = await createTestContext({ env: { TRELLIS_ROLE: 'api', TRELLIS_TASK_QUEUE: taskQueue, TRELLIS_SECRET_KEY: secretKey } });
  keys.mallory = (await createKeyWithCli(ctx.trellis.databaseUrl, 'mallory', { admin: true })).secret;
  keys.alice = (await createKeyWithCli(ctx.trellis.databaseUrl, 'alice', { admin: true })).secret;
  // Bundling the workflow code takes a while on a busy machine.
  worker = await TrellisProcess.start(
    'worker',
    {
      DATABASE_URL: ctx.trellis.databaseUrl,
      TEMPORAL_ADDRESS: ctx.trellis.temporalAddress,
      TEMPORAL_NAMESPACE: process.env.TEMPORAL_NAMESPACE ?? 'default',
      TRELLIS_TASK_QUEUE: taskQueue,
      TRELLIS_SECRET_KEY: secretKey,
    },
    300_000,
  );
}, 400_000);

afterAll(async () => {
  await worker?.kill();
  await ctx?.stop();
});

async function as<T>(key: string, query: string, variables: Record<string, unknown>): Promise<T> {
  const result = await graphql<T>(ctx.graphqlUrl, query, variables, key);
  if (result.errors?.length || !result.data) throw new Error(`GraphQL errors: ${JSON.stringify(result.errors)}`);
  return result.data;
}

/** Saves `steps` as a definition of the key's tenant, runs it with `input` and waits for its end. */
async function runAs(key: string, steps: Record<string, unknown>, input: unknown = {}): Promise<RunView> {
  const name = `expr-${randomUUID().slice(0, 8)}`;
  await as(key, 'mutation($spec: JSON!) { saveDefinition(spec: $spec) { version } }', { spec: { name, steps } });
  const { startRun } = await as<{ startRun: { id: string; temporal: { workflowId: string } } }>(
    key,
    'mutation($name: String!, $input: JSON) { startRun(definition: $name, input: $input) { id temporal { workflowId } } }',
    { name, input },
  );
  await ctx.trellis.client.workflow.getHandle(startRun.temporal.workflowId).result().catch(() => undefined);
  const { run } = await as<{ run: RunView & { events: { edges: Array<{ node: AuditEventView }> } } }>(key, `query($id: ID!) { run(id: $id) { ${RUN_FIELDS} } }`, { id: startRun.id });
  return { ...run, events: run.events.edges.map((edge) => edge.node) };
}

function stepOf(run: RunView, id: string): RunView['steps'][number] {
  const step = run.steps.find((candidate) => candidate.id === id);
  if (!step) throw new Error(`run has no step ${id}`);
  return step;
}

const { maxSteps, maxBytes } = WORKFLOW_EXPRESSION_LIMITS;
const STEPS_EXCEEDED = new RegExp(`exceeded ${maxSteps} evaluation steps`);
const TAIL_LOOP = '{% ($f := function($n){ $f($n + 1) }; $f(0)) %}';

const POISONS: Array<[string, string, RegExp]> = [
  ['an endless tail-recursive loop', TAIL_LOOP, STEPS_EXCEEDED],
  ['deep non-tail recursion', '{% ($f := function($n){ $n <= 0 ? 0 : 1 + $f($n - 1) }; $f(1000000)) %}', /Stack overflow/],
  ['300 strings of a million characters', "{% [1..300].$pad('', 1000000) %}", new RegExp(`built more than ${maxBytes} bytes`)],
  ['a string doubled forty times', "{% $reduce([1..40], function($a, $b){ $a & $a }, 'xxxxxxxx') %}", /exceeds the longest string an expression may build/],
  ['a huge range', '{% $count([1..10000000]) %}', /maximum sequence length/],
  ['a range of ranges', '{% $count([1..100000].([1..100000])) %}', /evaluation steps|maximum sequence length|bytes/],
  ['$string of one string repeated', "{% ($s := $pad('', 100000, 'x'); $string([1..1000].($s))) %}", /longest string|bytes/],
  ['$join of one string repeated', "{% ($s := $pad('', 100000, 'x'); $join([1..1000].($s))) %}", /longest string|bytes/],
  ['$formatNumber of an infinite number', "{% $formatNumber($sum([1e308, 1e308]), '0e0') %}", /cannot format Infinity/],
  ['$formatInteger in roman numerals of a huge number', "{% $formatInteger(1e15, 'I') %}", /roman numerals/],
  ['$fromMillis padded to a billion characters', "{% $fromMillis(0, '[Y,1000000000]') %}", /picture width/],
  ['$sort of a long list', '{% $sort([1..100000].(100000 - $)) %}', STEPS_EXCEEDED],
  ['a slow regex searched again and again through a long string', "{% ($s := $join([1..20000].('ab')); [1..250].$contains($s, /(a|b)*a(a|b){25}$/)) %}", STEPS_EXCEEDED],
  ['a rebound evaluation hook', "{% ($__evaluate_exit := function(){ 0 }; $__evaluate_entry := function(){ 0 }; [1..300].$pad('', 1000000)) %}", /bytes/],
  ['shadowed built-ins', "{% ($string := function($x){ $x }; $join := function($a){ '' }; $s := $pad('', 100000, 'x'); [1..300].($s & $string($s))) %}", /bytes/],
];

describe('expressions that try to stop or starve the worker', () => {
  it('match a catastrophic-backtracking regex against a crafted input in linear time', async () => {
    const done = await runAs(keys.mallory, { poison: { type: 'transform', value: '{% [$match($input.s, /^(a|a)*$/), $contains($input.s, /(a+)+$/)] %}' } }, { s: `${'a'.repeat(29)}!` });
    expect(done.status).toBe('COMPLETED');
    expect(stepOf(done, 'poison').output).toEqual([false]);
  });

  it.each(POISONS)('fail their own step on %s with an ExpressionError naming the limit', async (_what, value, message) => {
    const done = await runAs(keys.mallory, { poison: { type: 'transform', value } });
    expect(done.status).toBe('FAILED');
    expect(stepOf(done, 'poison').error).toMatchObject({ type: 'ExpressionError', retryable: false, message: expect.stringMatching(message) });
  });

  it("leave another tenant's runs started at the same time finishing", async () => {
    const poisoned = POISONS.slice(0, 6).map(([, value]) => runAs(keys.mallory, { poison: { type: 'transform', value } }));
    const ordinary = [1, 2, 3].map((n) => runAs(keys.alice, { sum: { type: 'transform', value: `{% $sum([1..100].($ * ${n})) %}` } }));
    const [mallory, alice] = await Promise.all([Promise.all(poisoned), Promise.all(ordinary)]);
    expect(mallory.map((run) => run.status)).toEqual(mallory.map(() => 'FAILED'));
    expect(alice.map((run) => [run.status, stepOf(run, 'sum').output])).toEqual([
      ['COMPLETED', 5050],
      ['COMPLETED', 10100],
      ['COMPLETED', 15150],
    ]);
    expect(worker.running).toBe(true);
  });

  it('fail many poisoned steps that start together within one budget for their workflow task, and the worker carries on', async () => {
    // Forty endless loops ready at once: alone, each may spend the whole budget of one
    // evaluation; together they would hold one workflow activation past Temporal's isolate
    // timeout, and the workflow task would fail and be retried forever.
    const ids = Array.from({ length: 40 }, (_, index) => `loop${index}`);
    const done = await runAs(keys.mallory, Object.fromEntries(ids.map((id) => [id, { type: 'transform', onError: 'continue', value: TAIL_LOOP }])));
    const errors = ids.map((id) => stepOf(done, id).error as { type: string; message: string } | null);
    expect(errors.every((error) => error?.type === 'ExpressionError')).toBe(true);
    const shared = new RegExp(`expressions of this workflow task exceeded ${WORKFLOW_TASK_EXPRESSION_LIMITS.maxSteps} evaluation steps together`);
    expect(errors.every((error) => STEPS_EXCEEDED.test(error!.message) || shared.test(error!.message))).toBe(true);
    expect(errors.filter((error) => shared.test(error!.message)).length).toBeGreaterThan(30);

    const after = await runAs(keys.alice, { sum: { type: 'transform', value: '{% $sum([1..10]) %}' } });
    expect([after.status, stepOf(after, 'sum').output]).toEqual(['COMPLETED', 55]);
    expect(worker.running).toBe(true);
  });
});
