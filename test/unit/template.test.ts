import { evaluateTemplate, ExpressionError, MAX_STRING_LENGTH } from '../../definition/template';

const bindings = {
  input: { orderId: 'A7', total: 42, tags: ['x', 'y'], nested: { ok: true } },
  steps: { charge: { status: 'SUCCEEDED', output: { body: { id: 'ch_1', risk: 0.2 } } } },
  run: { id: 'run-1', attempt: 1 },
};

async function failure(promise: Promise<unknown>): Promise<ExpressionError> {
  const error: unknown = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(ExpressionError);
  return error as ExpressionError;
}

describe('evaluateTemplate', () => {
  it('gives a string that is exactly one expression the JSON type of its result', async () => {
    await expect(evaluateTemplate('{% $input.total %}', bindings)).resolves.toBe(42);
    await expect(evaluateTemplate('{% $input.nested %}', bindings)).resolves.toEqual({ ok: true });
    await expect(evaluateTemplate('{% $input.total > 40 %}', bindings)).resolves.toBe(true);
    await expect(evaluateTemplate('{% null %}', bindings)).resolves.toBeNull();
  });

  it('ignores whitespace around a whole-value expression', async () => {
    await expect(evaluateTemplate('  {% $input.total %}\n', bindings)).resolves.toBe(42);
  });

  it('gives null when a whole-value expression has no result', async () => {
    await expect(evaluateTemplate('{% $input.missing %}', bindings)).resolves.toBeNull();
  });

  it('splices results into the surrounding text', async () => {
    await expect(evaluateTemplate('order {% $input.orderId %} costs {% $input.total %}', bindings)).resolves.toBe(
      'order A7 costs 42',
    );
  });

  it('splices objects and arrays as JSON and missing results as nothing', async () => {
    await expect(evaluateTemplate('tags={% $input.tags %} n={% $input.nested %} m={% $input.missing %}.', bindings)).resolves.toBe(
      'tags=["x","y"] n={"ok":true} m=.',
    );
  });

  it('resolves expressions nested in objects and arrays and leaves other values alone', async () => {
    const value = {
      order: '{% $input.orderId %}',
      amount: '{% $input.total * 100 %}',
      lines: [{ tag: '{% $input.tags[0] %}' }, 7, true, null, 'plain'],
      '{% not a key %}': 'key kept',
    };
    await expect(evaluateTemplate(value, bindings)).resolves.toEqual({
      order: 'A7',
      amount: 4200,
      lines: [{ tag: 'x' }, 7, true, null, 'plain'],
      '{% not a key %}': 'key kept',
    });
  });

  it('binds $input, $steps and $run', async () => {
    await expect(
      evaluateTemplate('{% $steps.charge.output.body.id & "/" & $steps.charge.status & "/" & $run.id %}', bindings),
    ).resolves.toBe('ch_1/SUCCEEDED/run-1');
  });

  it('evaluates with an empty object as the context value', async () => {
    await expect(evaluateTemplate('{% $ %}', bindings)).resolves.toEqual({});
  });

  it('returns plain arrays instead of JSONata sequences', async () => {
    const result = await evaluateTemplate('{% $input.tags.$uppercase($) %}', bindings);
    expect(result).toEqual(['X', 'Y']);
    expect(Object.keys(result as object)).toEqual(['0', '1']);
    expect(Object.getPrototypeOf(await evaluateTemplate('{% {"a": 1} %}', bindings))).toBe(Object.prototype);
  });

  it('keeps $now() and $millis() working', async () => {
    await expect(evaluateTemplate('{% $now() %}', bindings)).resolves.toMatch(/^\d{4}-\d\d-\d\dT/);
    await expect(evaluateTemplate('{% $millis() %}', bindings)).resolves.toEqual(expect.any(Number));
  });

  it('gives nothing for __proto__, constructor and other host properties', async () => {
    await expect(evaluateTemplate('{% $input.__proto__ %}', bindings)).resolves.toBeNull();
    await expect(evaluateTemplate('{% $$.constructor %}', bindings)).resolves.toBeNull();
    await expect(evaluateTemplate('{% $input.constructor %}', bindings)).resolves.toBeNull();
    await expect(evaluateTemplate('{% $input.toString %}', bindings)).resolves.toBeNull();
  });

  it('keeps an object key named __proto__ as data instead of a prototype', async () => {
    const result = (await evaluateTemplate(JSON.parse('{"__proto__": {"polluted": "{% 1 %}"}}'), bindings)) as Record<string, unknown>;
    expect(Object.getPrototypeOf(result)).toBe(Object.prototype);
    expect(Object.keys(result)).toEqual(['__proto__']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('reports a failing expression with its source, its pointer and the JSONata reason', async () => {
    const error = await failure(evaluateTemplate({ body: { x: "{% $input.orderId + 'b' %}" } }, bindings, { pointer: '/steps/a' }));
    expect(error.message).toBe(`"$input.orderId + 'b'": The left side of the "+" operator must evaluate to a number`);
    expect(error.pointer).toBe('/steps/a/body/x');
    expect(error.source).toBe(" $input.orderId + 'b' ");
  });

  it('reports an expression that does not parse', async () => {
    const error = await failure(evaluateTemplate('{% $input.( %}', bindings));
    expect(error.message).toMatch(/^"\$input\.\(": syntax error at character \d+: Expected "\)" before end of expression$/);
  });

  it('reports a "{%" without its closing "%}"', async () => {
    const error = await failure(evaluateTemplate({ a: 'x {% $input.total' }, bindings));
    expect(error.message).toContain('has no closing "%}"');
    expect(error.pointer).toBe('/a');
  });

  it('refuses to return a function', async () => {
    const error = await failure(evaluateTemplate('{% $sum %}', bindings));
    expect(error.message).toBe('"$sum": result is a function, not JSON');
    await failure(evaluateTemplate('{% {"f": function($x) { $x }} %}', bindings));
  });

  it('stops an endless tail-recursive loop after the step budget', async () => {
    const error = await failure(evaluateTemplate('{% ( $f := function($n){ $f($n+1) }; $f(0) ) %}', bindings));
    expect(error.message).toContain('expression exceeded 100000 evaluation steps');
  });

  it('stops deep non-tail recursion at the nesting limit, before it can overflow the stack', async () => {
    const error = await failure(
      evaluateTemplate('{% ( $f := function($n){ $n = 0 ? 0 : 1 + $f($n - 1) }; $f(10000000) ) %}', bindings),
    );
    expect(error.message).toContain('Stack overflow');
    await expect(evaluateTemplate('{% ( $f := function($n){ $n = 0 ? 0 : 1 + $f($n - 1) }; $f(20) ) %}', bindings)).resolves.toBe(20);
  });

  it('shares one step budget across all expressions of a value', async () => {
    const loop = '{% $sum($map([1..300], function($v) { $v })) %}';
    // One of these costs about 300 steps: three fit in 1000, the fourth does not.
    await expect(evaluateTemplate([loop, loop, loop], bindings, { maxSteps: 1_000 })).resolves.toEqual([45150, 45150, 45150]);
    const error = await failure(evaluateTemplate([loop, loop, loop, loop], bindings, { maxSteps: 1_000 }));
    expect(error.message).toContain('exceeded 1000 evaluation steps');
    expect(error.pointer).toBe('/3');
  });

  it('gives the same verdict on every evaluation, as a replay needs', async () => {
    const loop = '{% $count($map([1..500], function($v) { $v * 2 })) %}';
    const outcomes = await Promise.all(
      [1, 2, 3].map(() => evaluateTemplate(loop, bindings, { maxSteps: 1_000 }).then(String, (error: Error) => error.message)),
    );
    expect(new Set(outcomes).size).toBe(1);
  });

  it('refuses to build a huge sequence before allocating it', async () => {
    const error = await failure(evaluateTemplate('{% [1..10000000] %}', bindings));
    expect(error.message).toContain('maximum sequence length');
  });


  it('still allows ordinary regular expressions', async () => {
    await expect(evaluateTemplate('{% $contains("order-42", /[a-z]+-\\d+/) %}', bindings)).resolves.toBe(true);
  });

  it('passes functions given as bindings through to expressions', async () => {
    const secret = (name: string): string => `secret:${name}`;
    await expect(evaluateTemplate("Bearer {% $secret('PAY_TOKEN') %}", { ...bindings, secret })).resolves.toBe(
      'Bearer secret:PAY_TOKEN',
    );
  });

  it('does not let the step budget be read as a variable', async () => {
    await expect(evaluateTemplate('{% $keys($) %}', bindings)).resolves.toBeNull();
    await expect(evaluateTemplate('{% $string($input) %}', bindings)).resolves.not.toContain('budget');
  });

  describe('sandbox escape attempts', () => {
    /** The outcome of an expression: its JSON value, or the message of the ExpressionError it failed with. */
    async function outcome(source: string): Promise<{ value: unknown } | { error: string }> {
      return evaluateTemplate(`{% ${source} %}`, bindings).then(
        (value) => ({ value }),
        (error: unknown) => {
          expect(error).toBeInstanceOf(ExpressionError);
          return { error: (error as Error).message };
        },
      );
    }

    it.each([
      '$$.constructor',
      '$.constructor',
      "$.constructor.constructor('return process')()",
      "$input.constructor.constructor('return process')()",
      '$string.constructor',
      '$string.implementation',
      "$lookup($, 'constructor')",
      "$lookup($input, 'constructor')",
      "$lookup($string, 'implementation')",
      "$lookup($input, '__proto__')",
      '$input.__proto__.constructor',
      '$input.__proto__.__proto__',
      "$input.`__proto__`.`constructor`",
      '$keys($string)',
      '$keys($input.__proto__)',
      '$now.constructor',
      '$string.environment',
    ])('gives nothing for %s', async (source) => {
      await expect(outcome(source)).resolves.toEqual({ value: null });
    });

    it.each([
      '$sift($string, function($v) { true })',
      '$each($string, function($v, $k) { $k })',
      '$spread($string)',
      '$merge([$string])',
      '$type($string) = "function" ? $string : null',
    ])('fails %s with an ExpressionError instead of reaching a host object', async (source) => {
      await expect(outcome(source)).resolves.toEqual({ error: expect.any(String) });
    });

    it('lets $sift and $each see only the own fields of the data', async () => {
      await expect(outcome('$sift($input.nested, function($v) { true })')).resolves.toEqual({ value: { ok: true } });
      await expect(outcome('$each($input.nested, function($v, $k) { $k })')).resolves.toEqual({ value: 'ok' });
      await expect(outcome('$each($$, function($v, $k) { $k })')).resolves.toEqual({ value: null });
    });

    it('never changes Object.prototype through a result, whatever the expression builds', async () => {
      const before = Object.getOwnPropertyNames(Object.prototype).sort();
      await expect(outcome('{"__proto__": {"polluted": true}}')).resolves.toEqual({ value: JSON.parse('{"__proto__": {"polluted": true}}') });
      await outcome('$merge([{"__proto__": {"polluted": true}}, {"constructor": {"prototype": {"polluted": true}}}])');
      await outcome('$input ~> | $ | {"__proto__": {"polluted": true}} |');
      await outcome('$input.nested ~> | $ | {"constructor": {"prototype": {"polluted": true}}} |');
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(before);
    });

    it('refuses $eval, which would evaluate text past the checks of parseExpression', async () => {
      for (const source of ["$eval('1 + 1')", "'1' ~> $eval", '($f := $eval; $f("1"))']) {
        const result = await outcome(source);
        expect(result).toEqual({ error: expect.stringContaining('$eval is not available') });
      }
    });

    it('refuses $eval of a backtracking regular expression at once, instead of running it for seconds', async () => {
      const result = await outcome(`$eval('$match("${'a'.repeat(32)}!", /(a+)+$/)')`);
      expect(result).toEqual({ error: expect.stringContaining('$eval is not available') });
    });
  });
});

describe('evaluateTemplate string limits', () => {
  it('refuses $pad to a width past MAX_STRING_LENGTH before it allocates anything', async () => {
    await expect(evaluateTemplate("{% $pad('', 100000000) %}", {})).rejects.toThrow(
      `$pad to width 100000000 exceeds the longest string an expression may build (${MAX_STRING_LENGTH} characters)`,
    );
  });

  it('stops a string that keeps doubling at the first result past MAX_STRING_LENGTH', async () => {
    await expect(evaluateTemplate("{% $reduce([1..40], function($a, $b){ $a & $a }, 'xxxxxxxx') %}", {})).rejects.toThrow(
      /a string of 2097152 characters exceeds the longest string/,
    );
  });

  it('leaves $pad working as JSONata defines it', async () => {
    await expect(evaluateTemplate("{% $pad('x', 5, '-') %}|{% $pad('x', -3) %}|{% $pad('abc', 2) %}", {})).resolves.toBe('x----|  x|abc');
  });
});
