import { SharedBudget } from '../../definition/expression-budget';
import { ExpressionError } from '../../definition/expression-error';
import { WORKFLOW_EXPRESSION_LIMITS } from '../../definition/expression-limits';
import { evaluateTemplate } from '../../definition/template';
import { evaluateTemplateSync } from '../../definition/template-plan';
import { PLAIN_CALL_DEPTH } from '../../scripts/generate-sync-jsonata';

const bindings = {
  input: { orderId: 'A7', total: 42, tags: ['x', 'y'], nested: { ok: true }, items: [{ price: 3, qty: 2 }, { price: 5, qty: 1 }] },
  steps: { charge: { output: { body: { id: 'ch_1' } }, status: 'SUCCEEDED' } },
  run: { id: 'r-1' },
};

function failure(evaluate: () => unknown): ExpressionError {
  try {
    evaluate();
  } catch (error) {
    if (error instanceof ExpressionError) return error;
    throw error;
  }
  throw new Error('expected an ExpressionError');
}

describe('evaluateTemplateSync', () => {
  it.each([
    '{% $input.total %}',
    'order {% $input.orderId %} costs {% $input.total %}',
    '{% $sum($input.items.(price * qty)) %}',
    '{% $input.items[price > 4] %}',
    '{% $map($input.tags, function($t, $i){ $uppercase($t) & $i }) %}',
    '{% $input ~> | items | {"seen": true} | %}',
    '{% $input.missing ?? "default" %}',
    '{% $input.total > 40 ? "big" : "small" %}',
    '{% $replace("a-b-c", /-/, "+") %}',
    '{% $split("a1b22c", /\\d+/) %}',
    '{% $sort($input.items, function($a, $b){ $a.price < $b.price }).price %}',
    '{% $steps.charge.output.body.id & "/" & $run.id %}',
    '{% {"a": 1, "b": [1, 2, {"c": null}]} %}',
    '{% $formatNumber(1234.5, "#,##0.00") %}',
  ])('gives the results of the legacy evaluator for %s', async (template) => {
    expect(evaluateTemplateSync(template, bindings)).toEqual(await evaluateTemplate(template, bindings));
  });

  it('creates no promise while it evaluates', () => {
    const OriginalPromise = globalThis.Promise;
    let constructed = 0;
    class CountingPromise<T> extends OriginalPromise<T> {
      constructor(executor: ConstructorParameters<typeof Promise<T>>[0]) {
        super(executor);
        constructed++;
      }
    }
    globalThis.Promise = CountingPromise as PromiseConstructor;
    try {
      const template = { a: '{% $map([1..50], function($n){ $n * 2 }) %}', b: '{% $sort([3, 1, 2]) %}', c: 'x {% $match("a1b2", /\\d/).match %}' };
      expect(evaluateTemplateSync(template, bindings)).toEqual({ a: expect.any(Array), b: [1, 2, 3], c: 'x ["1","2"]' });
    } finally {
      globalThis.Promise = OriginalPromise;
    }
    expect(constructed).toBe(0);
  });

  it('returns values without {% as they are, never evaluated', () => {
    const value = { url: 'https://example.com/%7B', body: { n: 1, list: [true, null] } };
    expect(evaluateTemplateSync(value, bindings)).toEqual(value);
    expect(evaluateTemplateSync('plain', bindings)).toBe('plain');
  });

  it('evaluates the same template again with new bindings', () => {
    const template = { id: '{% $input.orderId %}', fixed: 'x' };
    expect(evaluateTemplateSync(template, bindings)).toEqual({ id: 'A7', fixed: 'x' });
    expect(evaluateTemplateSync(template, { ...bindings, input: { orderId: 'B8' } })).toEqual({ id: 'B8', fixed: 'x' });
  });

  it('names the pointer of the failing string and the expression', () => {
    const error = failure(() => evaluateTemplateSync({ body: { x: "{% $input.orderId + 'b' %}" } }, bindings, { pointer: '/steps/a' }));
    expect(error.pointer).toBe('/steps/a/body/x');
    expect(error.message).toContain(`"$input.orderId + 'b'"`);
  });

  it('shares one step budget between the expressions of a template', () => {
    const loop = '{% $sum([1..300].($ * 1)) %}';
    const limits = { ...WORKFLOW_EXPRESSION_LIMITS, maxSteps: 3_000 };
    expect(evaluateTemplateSync([loop], bindings, { limits })).toEqual([45150]);
    const error = failure(() => evaluateTemplateSync([loop, loop, loop, loop, loop, loop], bindings, { limits }));
    expect(error.limit).toBe('steps');
    expect(error.message).toContain('exceeded 3000 evaluation steps');
  });

  it('counts its budgets where no expression can reach them, whatever it binds or shadows', () => {
    const attempts = [
      "($__evaluate_exit := function(){ 0 }; [1..300].$pad('', 1000000))",
      "($pad := function($s, $w){ $s }; $s := $join([1..100000].('x')); [1..300].$uppercase($s))",
      "($string := function($x){ '' }; $s := $join([1..100000].('x')); $string([1..300].($s)))",
      "($f := $pad; [1..300].$f('', 1000000))",
    ];
    for (const source of attempts) {
      const error = failure(() => evaluateTemplateSync(`{% ${source} %}`, bindings));
      expect({ source, limit: error.limit }).toEqual({ source, limit: expect.stringMatching(/bytes|steps|string|sequence/) });
    }
  });

  it('lets evaluations that share a budget spend only what is left of it, and names it when it runs out', () => {
    const shared = new SharedBudget({ maxSteps: 10_000, maxBytes: WORKFLOW_EXPRESSION_LIMITS.maxBytes }, 'this workflow task');
    const loop = '{% $sum([1..300].($ * 1)) %}';
    const results: unknown[] = [];
    let error: ExpressionError | undefined;
    for (let round = 0; round < 100 && !error; round++) {
      try {
        results.push(evaluateTemplateSync(loop, bindings, { shared }));
      } catch (caught) {
        if (!(caught instanceof ExpressionError)) throw caught;
        error = caught;
      }
    }
    expect(results.length).toBeGreaterThan(1);
    expect(results.every((result) => result === 45150)).toBe(true);
    expect(error).toMatchObject({ limit: 'shared', message: expect.stringContaining('the expressions of this workflow task exceeded 10000 evaluation steps together') });
    // Spent: every later evaluation fails at once, each with the same clear error.
    expect(() => evaluateTemplateSync('{% 1 + 1 %}', bindings, { shared })).toThrow(/this workflow task exceeded 10000 evaluation steps together/);
    expect(evaluateTemplateSync('{% 1 + 1 %}', bindings)).toBe(2);
  });

  it('shares the bytes built by evaluations of one budget', () => {
    const pad = "{% $length($pad('', 500000)) %}";
    const measure = new SharedBudget(WORKFLOW_EXPRESSION_LIMITS, 'a measurement');
    evaluateTemplateSync(pad, bindings, { shared: measure });
    const limit = Math.floor(measure.bytes * 2.5);
    const shared = new SharedBudget({ maxSteps: WORKFLOW_EXPRESSION_LIMITS.maxSteps, maxBytes: limit }, 'this workflow task');
    expect(evaluateTemplateSync(pad, bindings, { shared })).toBe(500000);
    expect(evaluateTemplateSync(pad, bindings, { shared })).toBe(500000);
    expect(() => evaluateTemplateSync(pad, bindings, { shared })).toThrow(new RegExp(`built more than ${limit} bytes of values together`));
  });

  it('lets expressions read and call the frozen constants of other templates, as a later step reads an earlier output', () => {
    const constant = evaluateTemplateSync({ list: [[1, 2], [3]], one: [5], obj: { a: { b: [1] } } }, bindings) as Record<string, unknown>;
    expect(Object.isFrozen(constant.list)).toBe(true);
    const later = { steps: { earlier: { output: constant, status: 'SUCCEEDED' } } };
    expect(evaluateTemplateSync('{% $steps.earlier.output.list[] %}', later)).toEqual([[1, 2], [3]]);
    expect(evaluateTemplateSync('{% $steps.earlier.output.one[] %}', later)).toEqual([5]);
    expect(evaluateTemplateSync('{% $count($steps.earlier.output.obj.a.b[]) %}', later)).toBe(1);
    expect(() => evaluateTemplateSync('{% $steps.earlier.output.obj() %}', later)).toThrow(/Attempted to invoke a non-function/);
    expect(Object.keys(constant.one as object)).toEqual(['0']);
  });

  it('charges a regex search by the characters it goes through times the size of the pattern', () => {
    const input = { s: 'ab'.repeat(20_000) };
    const limits = { ...WORKFLOW_EXPRESSION_LIMITS, maxSteps: 50_000 };
    // One search through 40,000 characters with a pattern of about 80 instructions.
    const error = failure(() => evaluateTemplateSync('{% $contains($input.s, /(a|b)*a(a|b){25}$/) %}', { input }, { limits }));
    expect(error).toMatchObject({ limit: 'steps' });
    expect(evaluateTemplateSync('{% $contains($input.s, /ba$/) %}', { input }, { limits })).toBe(false);
  });

  it('evaluates recursion past the depth of plain calls as generators, with the same results', () => {
    const depth = '{% ($f := function($n){ $n <= 0 ? 0 : 1 + $f($n - 1) }; $f($input.n)) %}';
    // Each level of this recursion is several calls of the evaluator: 150 levels go well past it.
    expect(PLAIN_CALL_DEPTH).toBeLessThan(150);
    expect(evaluateTemplateSync(depth, { input: { n: 10 } })).toBe(10);
    expect(evaluateTemplateSync(depth, { input: { n: 150 } })).toBe(150);
    const error = failure(() => evaluateTemplateSync(depth, { input: { n: 100_000 } }));
    expect(error.message).toMatch(/Stack overflow/);
  });

  it('refuses results nested too deep to serialise', () => {
    const error = failure(() => evaluateTemplateSync('{% $reduce([1..3000], function($a, $b){ {"x": $a} }, {}) %}', bindings));
    expect(error.message).toMatch(/nested \d+ deep or more/);
  });

  it('matches regular expressions with RE2 in linear time', () => {
    expect(evaluateTemplateSync('{% $contains($input.s, /^(a|a)*$/) %}', { input: { s: `${'a'.repeat(5000)}!` } })).toBe(false);
  });
});
