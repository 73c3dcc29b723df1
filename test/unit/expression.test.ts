import {
  ExpressionError,
  findExpressions,
  isTemplate,
  parseExpression,
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

describe('parseExpression', () => {
  it('names the position and the JSONata reason of a syntax error', () => {
    expect(() => parseExpression('1 +', '/x')).toThrow('"1 +": syntax error at character 3: Unexpected end of expression');
  });

  it('rejects an empty expression', () => {
    expect(() => parseExpression('  ')).toThrow('empty expression');
  });

  it.each(['/(a+)+$/', '/(a*)*b/', '/((ab)*c)+/', '/(\\w+\\s?)*$/', '/(x+){2,}/'])(
    'rejects the nested repetition %s',
    (regex) => {
      expect(() => parseExpression(`$match("s", ${regex})`)).toThrow(/exponential time/);
    },
  );

  it.each(['/[a-z]+-\\d+/', '/(ab)+/', '/(a|b)*c/', '/(?:x+)?y/', '/\\(a+\\)+/', '/[(a+)]+/'])(
    'accepts the regular expression %s',
    (regex) => {
      expect(() => parseExpression(`$match("s", ${regex})`)).not.toThrow();
    },
  );
});
