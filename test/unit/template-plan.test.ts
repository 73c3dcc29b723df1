import { evaluateTemplate } from '../../definition/template';
import { evaluateTemplateSync } from '../../definition/template-plan';
import { WORKFLOW_EXPRESSION_LIMITS } from '../../definition/expression-limits';
import { ExpressionError } from '../../definition/expression-error';

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

  it('refuses results nested too deep to serialise', () => {
    const error = failure(() => evaluateTemplateSync('{% $reduce([1..3000], function($a, $b){ {"x": $a} }, {}) %}', bindings));
    expect(error.message).toMatch(/nested \d+ deep/);
  });

  it('matches regular expressions with RE2 in linear time', () => {
    expect(evaluateTemplateSync('{% $contains($input.s, /^(a|a)*$/) %}', { input: { s: `${'a'.repeat(5000)}!` } })).toBe(false);
  });
});
