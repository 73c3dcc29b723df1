import { undeclaredField } from '../../definition/json-schema-fields';

const closed = (properties: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  type: 'object',
  properties,
  additionalProperties: false,
  ...extra,
});

describe('undeclaredField', () => {
  it('finds a field that a closed object schema does not declare, with the fields it does', () => {
    expect(undeclaredField(closed({ status: {}, body: {} }), ['bdy'])).toEqual({ depth: 0, name: 'bdy', declared: ['status', 'body'] });
  });

  it('treats properties without additionalProperties as closed, and required names as declared', () => {
    expect(undeclaredField({ properties: { a: {} } }, ['b'])).toEqual({ depth: 0, name: 'b', declared: ['a'] });
    expect(undeclaredField({ properties: { a: {} }, required: ['b'] }, ['b'])).toBeUndefined();
  });

  it('follows nested properties and steps through array items, nested arrays included', () => {
    const schema = closed({ body: closed({ lines: { type: 'array', items: { type: ['array', 'null'], items: closed({ sku: {} }) } } }) });
    expect(undeclaredField(schema, ['body', 'lines', 'sku'])).toBeUndefined();
    expect(undeclaredField(schema, ['body', 'lines', 'skew'])).toEqual({ depth: 2, name: 'skew', declared: ['sku'] });
  });

  it('accepts every declared path', () => {
    expect(undeclaredField(closed({ a: closed({ b: {} }) }), ['a', 'b'])).toBeUndefined();
    expect(undeclaredField(closed({ a: {} }), [])).toBeUndefined();
  });

  it.each([
    ['additionalProperties: true', { properties: { a: {} }, additionalProperties: true }],
    ['additionalProperties as a schema', { properties: { a: {} }, additionalProperties: { type: 'string' } }],
    ['patternProperties', closed({ a: {} }, { patternProperties: { '^x': {} } })],
    ['no properties', { type: 'object', additionalProperties: false }],
    ['$ref', closed({ a: {} }, { $ref: '#/$defs/other' })],
    ['anyOf', closed({ a: {} }, { anyOf: [{}, {}] })],
    ['allOf', closed({ a: {} }, { allOf: [{ properties: { x: {} } }] })],
    ['oneOf', closed({ a: {} }, { oneOf: [{}] })],
    ['if/then', closed({ a: {} }, { if: {}, then: { properties: { x: {} } } })],
    ['dependentSchemas', closed({ a: {} }, { dependentSchemas: { a: { properties: { x: {} } } } })],
    ['unevaluatedProperties', { properties: { a: {} }, unevaluatedProperties: true }],
    ['const', { properties: { a: {} }, const: { x: 1 } }],
    ['a boolean schema', true],
    ['a type that mixes objects and arrays', { type: ['object', 'array'], properties: { a: {} }, items: {} }],
    ['array items without a schema object', { type: 'array' }],
    ['prefixItems', { type: 'array', prefixItems: [closed({ a: {} })], items: closed({ a: {} }) }],
  ])('reports nothing it cannot follow statically: %s', (_name, schema) => {
    expect(undeclaredField(schema, ['x'])).toBeUndefined();
  });

  it('stops at a non-object schema instead of guessing', () => {
    expect(undeclaredField(closed({ n: { type: 'number' } }), ['n', 'x'])).toBeUndefined();
    expect(undeclaredField(undefined, ['x'])).toBeUndefined();
  });
});
