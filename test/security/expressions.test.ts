import { randomBytes, randomUUID } from 'node:crypto';
import { WORKFLOW_EXPRESSION_LIMITS } from '../../definition/expression-limits';
import { finished, save, stepOf, type RunView, type StartedRun } from '../support/runs';
import { createTestContext, type TestContext } from '../support/test-context';
import { TrellisProcess } from '../support/trellis-process';

// The API runs in this process, the worker in a child process: a poisoned expression must fail
// its step there, and the process must live on and serve other runs.
let ctx: TestContext;
let worker: TrellisProcess;

beforeAll(async () => {
  const taskQueue = `test-expr-security-${randomUUID().slice(0, 8)}`;
  const secretKey = randomBytes(32).toString('base64');
  ctx = await createTestContext({ env: { TRELLIS_ROLE: 'api', TRELLIS_TASK_QUEUE: taskQueue, TRELLIS_SECRET_KEY: secretKey } });
  worker = await TrellisProcess.start('worker', {
    DATABASE_URL: ctx.trellis.databaseUrl,
    TEMPORAL_ADDRESS: ctx.trellis.temporalAddress,
    TEMPORAL_NAMESPACE: process.env.TEMPORAL_NAMESPACE ?? 'default',
    TRELLIS_TASK_QUEUE: taskQueue,
    TRELLIS_SECRET_KEY: secretKey,
  });
});

afterAll(async () => {
  await worker?.kill();
  await ctx?.stop();
});

async function run(name: string, value: string, input: unknown = {}): Promise<RunView> {
  await save(ctx, { name, steps: { poison: { type: 'transform', value } } });
  const { startRun } = await ctx.gql<{ startRun: StartedRun }>(
    'mutation($name: String!, $input: JSON) { startRun(definition: $name, input: $input) { id temporal { workflowId } } }',
    { name, input },
  );
  return finished(ctx, startRun);
}

const { maxSteps, maxBytes } = WORKFLOW_EXPRESSION_LIMITS;

const POISONS: Array<[string, string, RegExp]> = [
  ['an endless tail-recursive loop', '{% ($f := function($n){ $f($n + 1) }; $f(0)) %}', new RegExp(`exceeded ${maxSteps} evaluation steps`)],
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
  ['$sort of a long list', '{% $sort([1..100000].(100000 - $)) %}', /evaluation steps/],
  ['a rebound evaluation hook', "{% ($__evaluate_exit := function(){ 0 }; $__evaluate_entry := function(){ 0 }; [1..300].$pad('', 1000000)) %}", /bytes/],
  ['a shadowed built-in', "{% ($string := function($x){ $x }; $pad := function($s, $w){ $s }; [1..300].$uppercase($substring($pad('', 1000000), 0))) %}", /bytes|steps/],
];

describe('expressions that try to stop or starve the worker', () => {
  it('match a catastrophic-backtracking regex against a crafted input in linear time', async () => {
    const done = await run('regex-bomb', '{% [$match($input.s, /^(a|a)*$/), $contains($input.s, /(a+)+$/)] %}', { s: `${'a'.repeat(29)}!` });
    expect(done.status).toBe('COMPLETED');
    expect(stepOf(done, 'poison').output).toEqual([false]);
  });

  it.each(POISONS)('fail their own step on %s with an ExpressionError naming the limit', async (_what, value, message) => {
    const done = await run(`poison-${randomUUID().slice(0, 8)}`, value);
    expect(done.status).toBe('FAILED');
    expect(stepOf(done, 'poison').error).toMatchObject({ type: 'ExpressionError', retryable: false, message: expect.stringMatching(message) });
  });

  it('leave the worker process alive and serving other runs', async () => {
    const [poisoned, ordinary] = await Promise.all([
      run('poisoned', "{% [1..300].$pad('', 1000000) %}"),
      run('ordinary', '{% $sum([1..100].($ * 2)) %}'),
    ]);
    expect(poisoned.status).toBe('FAILED');
    expect(ordinary.status).toBe('COMPLETED');
    expect(stepOf(ordinary, 'poison').output).toBe(10100);
    expect(() => process.kill(worker.pid, 0)).not.toThrow();
  });
});
