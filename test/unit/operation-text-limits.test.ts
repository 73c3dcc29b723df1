import { MAX_OPERATION_NESTING, operationNesting, operationNestingError } from '../../graphql/operation-text-limits';

describe('operationNesting', () => {
  it('counts {, [ and ( inside one another', () => {
    expect(operationNesting('{ runs(first: 1) { edges { node { id } } } }')).toBe(4);
    expect(operationNesting('mutation { startRun(definition: "d", input: {a: [{b: 1}]}) { id } }')).toBe(5);
  });

  it('skips strings, block strings (with escaped quotes) and comments', () => {
    expect(operationNesting('{ run(id: "{{[[(\\"((") { id } }')).toBe(2);
    expect(operationNesting('{ a(x: """ {{{ \\""" [[[ """) }')).toBe(2);
    expect(operationNesting('# {{{{{{\n{ a }')).toBe(1);
  });

  it(`refuses more than ${MAX_OPERATION_NESTING} levels with BAD_USER_INPUT and the limit`, () => {
    const deep = `{ a(x: ${'['.repeat(200)}${']'.repeat(200)}) }`;
    expect(operationNestingError(deep)?.extensions).toEqual({ code: 'BAD_USER_INPUT', limit: { name: 'nesting', max: MAX_OPERATION_NESTING, actual: 202 } });
    expect(operationNestingError(`{ a(x: ${'['.repeat(100)}${']'.repeat(100)}) }`)).toBeUndefined();
    expect(operationNesting('['.repeat(1_000_000))).toBe(1_000_000);
  });
});
