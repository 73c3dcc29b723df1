import { graphql } from '../support/graphql-client';
import { finished, getRun, runToEnd, stepOf } from '../support/runs';
import { createTestContext, type TestContext } from '../support/test-context';

let ctx: TestContext;

beforeAll(async () => {
  ctx = await createTestContext();
});

afterAll(async () => {
  await ctx?.stop();
});

const VALIDATE = `query($spec: JSON!) { validateDefinition(spec: $spec) { valid errors { path message } } }`;

describe('a code step', () => {
  it('runs JavaScript on the run input, its upstream steps and the run, and its return value is the output', async () => {
    const run = await runToEnd(ctx, {
      name: 'code-total',
      steps: {
        prices: { type: 'transform', value: '{% $input.items.price %}' },
        unrelated: { type: 'transform', value: 'not upstream' },
        total: {
          type: 'code',
          needs: ['prices'],
          source: [
            'const sum = steps.prices.output.reduce((a, b) => a + b, 0);',
            'console.log("summing", steps.prices.output.length, "prices");',
            'console.warn("careful");',
            'return { sum, currency: input.currency, run: run.definition, seen: Object.keys(steps) };',
          ].join('\n'),
          output: { type: 'object', required: ['sum'] },
        },
        summary: { type: 'transform', needs: ['total'], value: '{% $steps.total.output.sum * 2 %}' },
      },
    }, { currency: 'EUR', items: [{ price: 2 }, { price: 3.5 }] });
    expect(run.status).toBe('COMPLETED');
    expect(stepOf(run, 'total')).toMatchObject({ type: 'code', status: 'SUCCEEDED', output: { sum: 5.5, currency: 'EUR', run: 'code-total', seen: ['prices'] } });
    expect(stepOf(run, 'summary').output).toBe(11);
    // Its console lines are the attempt's LOG events, just before its STEP_SUCCEEDED.
    const ofTotal = run.events.filter((event) => event.stepId === 'total').map((event) => [event.type, event.level ?? null, event.message ?? null]);
    expect(ofTotal.slice(-3)).toEqual([
      ['LOG', 'info', 'summing 2 prices'],
      ['LOG', 'warn', 'careful'],
      ['STEP_SUCCEEDED', null, null],
    ]);
  });

  it('fails for good with the error code, the message and the line, its console lines in the error', async () => {
    const run = await runToEnd(ctx, {
      name: 'code-throws',
      steps: { check: { type: 'code', retry: { maxAttempts: 3, initialInterval: '10ms' }, source: 'console.error("about to fail");\nif (!input.ok) {\n  throw new RangeError("input.ok is not set");\n}\nreturn 1;' } },
    }, {});
    expect(run.status).toBe('FAILED');
    const step = stepOf(run, 'check');
    expect(step.attempts).toBe(1);
    expect(step.error).toMatchObject({
      type: 'CODE_ERROR',
      retryable: false,
      message: 'RangeError: input.ok is not set (line 3, column 23)',
      details: { code: 'CODE_ERROR', line: 3, column: 23, logs: [{ level: 'error', message: 'about to fail' }] },
    });
    expect(run.events.filter((event) => event.type === 'LOG').map((event) => [event.stepId, event.level, event.message])).toEqual([['check', 'error', 'about to fail']]);
  });

  it('fails with CODE_TIMEOUT when it runs past its CPU time limit, and the run still ends', async () => {
    const run = await runToEnd(ctx, { name: 'code-loop', steps: { spin: { type: 'code', source: 'for (;;) {}' } } });
    expect(run.status).toBe('FAILED');
    expect(stepOf(run, 'spin').error).toMatchObject({ type: 'CODE_TIMEOUT', retryable: false });
  });

  it('has its output checked against its output schema like any step', async () => {
    const run = await runToEnd(ctx, { name: 'code-contract', steps: { shape: { type: 'code', source: 'return { count: "three" }', output: { type: 'object', properties: { count: { type: 'number' } } } } } });
    expect(run.status).toBe('FAILED');
    expect(stepOf(run, 'shape').error).toMatchObject({ type: 'ContractViolation', message: expect.stringContaining('/count') });
  });

  it('runs inside a map item with the item and its index', async () => {
    const run = await runToEnd(ctx, {
      name: 'code-map',
      steps: {
        each: {
          type: 'map',
          items: '{% $input.words %}',
          do: { steps: { shout: { type: 'code', source: 'return `${index}:${item.toUpperCase()}`' } }, output: '{% $steps.shout.output %}' },
        },
      },
    }, { words: ['a', 'b', 'c'] });
    expect(run.status).toBe('COMPLETED');
    expect(stepOf(run, 'each').output).toEqual(['0:A', '1:B', '2:C']);
  });

  it('takes a testRun mock like an http step, and runs nothing', async () => {
    const { testRun } = await ctx.gql<{ testRun: { id: string; temporal: { workflowId: string } } }>(
      `mutation($spec: JSON!, $mocks: JSON) { testRun(spec: $spec, mocks: $mocks) { id temporal { workflowId } } }`,
      { spec: { name: 'code-mocked', steps: { never: { type: 'code', source: 'for (;;) {}' } } }, mocks: { never: { mocked: true } } },
    );
    const run = await finished(ctx, testRun);
    expect(run.status).toBe('COMPLETED');
    expect(stepOf(run, 'never').output).toEqual({ mocked: true });
    expect((await getRun(ctx, testRun.id)).events.find((event) => event.type === 'STEP_SUCCEEDED')?.message).toBe('mocked: nothing was called');
  });
});

describe('a code step at save time', () => {
  it('is refused with the syntax error, its line and column, at the JSON pointer of its source', async () => {
    const { validateDefinition } = await ctx.gql<{ validateDefinition: { valid: boolean; errors: Array<{ path: string; message: string }> } }>(VALIDATE, {
      spec: {
        name: 'code-syntax',
        steps: {
          fine: { type: 'code', source: 'return 1' },
          each: { type: 'map', items: '{% [1] %}', do: { steps: { inner: { type: 'code', source: 'let a = 1;\n  let b = ;' } } } },
        },
      },
    });
    expect(validateDefinition.valid).toBe(false);
    expect(validateDefinition.errors).toEqual([
      { path: '/steps/each/do/steps/inner/source', message: expect.stringMatching(/^JavaScript syntax error at line 2, column \d+: /) },
    ]);
  });

  it('needs a source, and takes no unknown field', async () => {
    const response = await graphql(ctx.graphqlUrl, `mutation($spec: JSON!) { saveDefinition(spec: $spec) { version } }`, {
      spec: { name: 'code-shape', steps: { bad: { type: 'code', code: 'return 1' } } },
    });
    const errors = (response.errors?.[0]?.extensions as { errors?: Array<{ path: string }> } | undefined)?.errors ?? [];
    expect(errors.map((error) => error.path).sort()).toEqual(['/steps/bad/code', '/steps/bad/source']);
  });
});
