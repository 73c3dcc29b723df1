import { templateReads } from '../../definition/template-reads';

describe('templateReads', () => {
  it('lists the step ids read as $steps.<id>, in every string of a nested value', () => {
    const reads = templateReads({ url: 'https://x/{% $steps.cart.output.id %}', body: { a: ['{% $steps.rate.output * $item %}', 'plain'] } });
    expect([...reads.steps].sort()).toEqual(['cart', 'rate']);
    expect(reads.anyStep).toBe(false);
    expect(reads.input).toBe(false);
  });

  it('says when $input is read', () => {
    expect(templateReads('{% $input.customer %}').input).toBe(true);
  });

  it.each([
    ["$lookup($steps, 'rate').output", 'a dynamic lookup'],
    ['$keys($steps)', 'the whole object'],
    ['$steps[0]', 'a predicate on $steps'],
    ['($steps := {}; $steps.rate)', 'a rebinding'],
    ['function($steps) { $steps.a }(1)', 'a parameter named steps'],
    ['$steps.rate.output + (', 'an expression that does not parse'],
  ])('treats %s (%s) as reading any step', (expression) => {
    expect(templateReads(`{% ${expression} %}`).anyStep).toBe(true);
  });

  it('reads nothing from a value without templates', () => {
    expect(templateReads({ a: 1, b: 'no template', c: [null, true] })).toEqual({ steps: new Set(), anyStep: false, input: false });
  });
});
