import { checkDefinition } from '../../src/definitions/definition.service';
import { MAX_EXPRESSIONS, expressionCountError } from '../../src/definitions/expression-count';

const withExpressions = (count: number) => ({ name: 'many', steps: { s: { type: 'transform', value: Array.from({ length: count }, (_, i) => `{% ${i} %}`) } } });

describe('the expression count of a definition', () => {
  it('counts every {% in strings and keys, at any depth, several in one string too', () => {
    expect(expressionCountError({ a: ['{% 1 %} and {% 2 %}', { '{% k %}': '{% 3 %}' }] }, 3)).toEqual({
      path: '',
      message: 'the definition holds more than 3 expressions ({% … %}); the limit is 3',
    });
    expect(expressionCountError({ a: ['{% 1 %} and {% 2 %}', { k: '{% 3 %}' }] }, 3)).toBeUndefined();
  });

  it('refuses a definition of more than 5000 expressions before checking anything else', () => {
    expect(checkDefinition(withExpressions(MAX_EXPRESSIONS)).valid).toBe(true);
    expect(checkDefinition(withExpressions(MAX_EXPRESSIONS + 1))).toEqual({
      valid: false,
      errors: [{ path: '', message: 'the definition holds more than 5000 expressions ({% … %}); the limit is 5000' }],
    });
  });
});
