import jsonata from 'jsonata';
import {
  ExpressionError,
  expressionReferences,
  findExpressions,
  isTemplate,
  parseExpression,
  referencedSecrets,
  referencedSteps,
  splitTemplate,
  wholeExpression,
} from '../../definition/expression';

describe('findExpressions', () => {
  it('lists every expression with the JSON pointer of the string holding it', () => {
    const value = { a: 'x {% 1 %} y {% 2 %}', list: ['plain', { 'b/c': '{% $input.id %}' }], n: 5 };
    expect(findExpressions(value, '/steps/s')).toEqual([
      { pointer: '/steps/s/a', source: ' 1 ' },
      { pointer: '/steps/s/a', source: ' 2 ' },
      { pointer: '/steps/s/list/1/b~1c', source: ' $input.id ' },
    ]);
  });

  it('does not treat object keys as templates', () => {
    expect(findExpressions({ '{% key %}': 1 })).toEqual([]);
  });

  it('flags a "{%" that is never closed', () => {
    expect(findExpressions('a {% 1 %} b {% 2')).toEqual([
      { pointer: '', source: ' 1 ' },
      { pointer: '', source: ' 2', unterminated: true },
    ]);
  });
});

describe('template strings', () => {
  it('recognises a string that is exactly one expression', () => {
    expect(wholeExpression('{% $x %}')).toBe(' $x ');
    expect(wholeExpression(' {% $x %}\n')).toBe(' $x ');
    expect(wholeExpression('{% $x %} and {% $y %}')).toBeUndefined();
    expect(wholeExpression('id {% $x %}')).toBeUndefined();
  });

  it('splits text and expressions in order', () => {
    expect(splitTemplate('a{% 1 %}b')).toEqual([
      { kind: 'text', text: 'a' },
      { kind: 'expression', source: ' 1 ' },
      { kind: 'text', text: 'b' },
    ]);
    expect(() => splitTemplate('a {% 1')).toThrow(ExpressionError);
  });

  it('tells templates from plain strings', () => {
    expect(isTemplate('x {% 1 %}')).toBe(true);
    expect(isTemplate('100%')).toBe(false);
    expect(isTemplate(3)).toBe(false);
  });
});

describe('referencedSteps', () => {
  it('finds $steps.<id> references, quoted ids included, once each', () => {
    expect(
      referencedSteps('$steps.charge.output.body.id & $steps."id-x".status & $steps.`q-w` & $steps.charge.status'),
    ).toEqual(['charge', 'id-x', 'q-w']);
  });

  it('ignores step names inside string literals and other variables', () => {
    expect(referencedSteps('"$steps.fake" & $input.steps.other')).toEqual([]);
  });

  it('finds references inside functions and blocks', () => {
    expect(referencedSteps('( $x := $map($steps.a.output, function($v) { $v + $steps.b.output }); $x )')).toEqual(['a', 'b']);
  });

  it('references nothing when the expression does not parse', () => {
    expect(referencedSteps('$steps.a.(')).toEqual([]);
  });
});

describe('referencedSecrets', () => {
  it('finds the names of $secret calls with a literal name, once each, in order', () => {
    expect(referencedSecrets(" 'Bearer ' & $secret('PAY_TOKEN') & $secret(\"SIGN\") & $secret('PAY_TOKEN') ")).toEqual(['PAY_TOKEN', 'SIGN']);
  });

  it('finds calls inside functions and blocks', () => {
    expect(referencedSecrets("( $k := $secret('KEY'); $map([1], function($v) { $v & $secret('OTHER') }) )")).toEqual(['KEY', 'OTHER']);
  });

  it('names nothing for a computed name, a string that merely mentions $secret, or an expression that does not parse', () => {
    expect(referencedSecrets('$secret($input.name)')).toEqual([]);
    expect(referencedSecrets('"$secret(\'X\')"')).toEqual([]);
    expect(referencedSecrets("$secret('X'")).toEqual([]);
  });
});

describe('expressionReferences', () => {
  const references = (source: string) => expressionReferences(jsonata(source).ast());

  it('gives the static path of names read after each $steps.<id>', () => {
    expect(references('$steps.charge.output.body.id & $steps."get-user".status & $steps.a').steps).toEqual([
      { id: 'charge', fields: ['output', 'body', 'id'] },
      { id: 'get-user', fields: ['status'] },
      { id: 'a', fields: [] },
    ]);
  });

  it('ends the path at a predicate, a wildcard, a function or a block', () => {
    expect(
      references('$steps.a.output.items[0].name & $steps.b.output.*.x & $steps.c.output.$lookup($, "x") & $steps.d.output.(x)').steps,
    ).toEqual([
      { id: 'a', fields: ['output', 'items'] },
      { id: 'b', fields: ['output'] },
      { id: 'c', fields: ['output'] },
      { id: 'd', fields: ['output'] },
    ]);
  });

  it('tells a literal $secret call from any other use of $secret', () => {
    expect(references("$secret('A') & $secret($x) & ($f := $secret; 1)").secrets).toEqual([{ name: 'A' }, {}, {}]);
  });

  it('lists the variables read and those the expression binds itself', () => {
    const found = references('( $x := $item; $map($input, function($v, $i) { $v }) ; $list#$index.$index )');
    expect([...found.variables].sort()).toEqual(['index', 'input', 'item', 'list', 'map', 'v']);
    expect([...found.bound].sort()).toEqual(['i', 'index', 'v', 'x']);
  });
});

describe('parseExpression', () => {
  it('names the position and the JSONata reason of a syntax error', () => {
    expect(() => parseExpression('1 +', '/x')).toThrow('"1 +": syntax error at character 3: Unexpected end of expression');
  });

  it('refuses $eval however it is reached, as the text it evaluates would escape every check', () => {
    for (const source of ["$eval('1 + 1')", "'1' ~> $eval", '($f := $eval; $f("1"))', "$map(['1'], $eval)"]) {
      expect(() => parseExpression(source)).toThrow('$eval is not available');
    }
  });

  it('rejects an empty expression', () => {
    expect(() => parseExpression('  ')).toThrow('empty expression');
  });

  it.each(['/(a)\\1/', '/x(?=y)/', '/x(?!y)/', '/(?<=a)b/', '/(?<!a)b/'])(
    'rejects %s, which RE2 cannot match in linear time',
    (regex) => {
      expect(() => parseExpression(`$match("s", ${regex})`, '/x')).toThrow(/RE2 semantics/);
    },
  );

  it.each(['/[a-z]+-\\d+/', '/(ab)+/', '/(a|b)*c/', '/(?:x+)?y/', '/(a+)+$/', '/(a|a)*$/', '/(?<year>\\d{4})/i'])(
    'accepts the regular expression %s (RE2 matches even nested repetition in linear time)',
    (regex) => {
      expect(() => parseExpression(`$match("s", ${regex})`)).not.toThrow();
    },
  );
});
