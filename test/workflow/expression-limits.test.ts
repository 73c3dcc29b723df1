import { WORKFLOW_EXPRESSION_LIMITS } from '../../definition/expression-limits';
import { runToEnd, stepOf } from '../support/runs';
import { createTestContext, type TestContext } from '../support/test-context';

let ctx: TestContext;

beforeAll(async () => {
  ctx = await createTestContext();
});

afterAll(async () => {
  await ctx?.stop();
});

const MAX_STEPS = WORKFLOW_EXPRESSION_LIMITS.maxSteps;

/**
 * Each of these once killed the whole worker process from inside Temporal's workflow sandbox
 * (its async-hook stack overflowed); now each fails its own step and the worker carries on.
 */
describe('runaway expressions inside the workflow', () => {
  it.each([
    ['an endless tail-recursive loop', '{% ($f := function($n){ $f($n + 1) }; $f(0)) %}', new RegExp(`exceeded ${MAX_STEPS} evaluation steps`)],
    ['deep non-tail recursion', '{% ($f := function($n){ $n <= 0 ? 0 : 1 + $f($n - 1) }; $f(100000)) %}', /Stack overflow/],
    ['a map over too many items', "{% [1..100000].($pad('', 60, 'x')) %}", new RegExp(`exceeded ${MAX_STEPS} evaluation steps`)],
    ['a nested map', '{% [1..1000].([1..1000].($ * 2)) %}', new RegExp(`exceeded ${MAX_STEPS} evaluation steps`)],
  ])('fails its step on %s with a clear ExpressionError', async (_what, value, message) => {
    const run = await runToEnd(ctx, { name: 'runaway', steps: { runaway: { type: 'transform', value } } });
    expect(run.status).toBe('FAILED');
    expect(stepOf(run, 'runaway').error).toMatchObject({ type: 'ExpressionError', retryable: false, message: expect.stringMatching(message) });
  });

  it('leaves the worker serving runs afterwards, and reasonable work still completes', async () => {
    const run = await runToEnd(ctx, {
      name: 'reasonable',
      steps: {
        recursion: { type: 'transform', value: '{% ($f := function($n){ $n <= 0 ? 0 : 1 + $f($n - 1) }; $f(100)) %}' },
        items: { type: 'transform', value: '{% $sum([1..5000].($ * 2)) %}' },
      },
    });
    expect(run.status).toBe('COMPLETED');
    expect(stepOf(run, 'recursion').output).toBe(100);
    expect(stepOf(run, 'items').output).toBe(25005000);
  });
});
