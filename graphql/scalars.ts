import { GraphQLError, GraphQLScalarType, Kind, type ValueNode } from 'graphql';
import { MAX_OPERATION_NESTING } from './operation-text-limits';

// Recursive, but over a document whose nesting the API checked before parsing it
// (graphql/operation-text-limits.ts); the depth check stands in for that check where it was skipped.
function literalToJson(node: ValueNode, variables: Record<string, unknown> | null | undefined, depth = 0): unknown {
  if (depth > MAX_OPERATION_NESTING) {
    throw new GraphQLError(`JSON literal nests deeper than ${MAX_OPERATION_NESTING} levels`, { extensions: { code: 'BAD_USER_INPUT' } });
  }
  switch (node.kind) {
    case Kind.STRING:
    case Kind.BOOLEAN:
      return node.value;
    case Kind.INT:
    case Kind.FLOAT:
      return Number(node.value);
    case Kind.NULL:
      return null;
    case Kind.LIST:
      return node.values.map((v) => literalToJson(v, variables, depth + 1));
    case Kind.OBJECT:
      return Object.fromEntries(node.fields.map((f) => [f.name.value, literalToJson(f.value, variables, depth + 1)]));
    case Kind.VARIABLE:
      return variables?.[node.name.value];
    default:
      throw new GraphQLError(`JSON cannot represent ${node.kind}`);
  }
}

/**
 * Any JSON value, passed through as is: its depth and strings are checked with the field's other
 * arguments (graphql/argument-guard.ts), where the argument's name gives the error its pointer.
 */
export const JSONScalar = new GraphQLScalarType({
  name: 'JSON',
  serialize: (value) => value,
  parseValue: (value) => value,
  parseLiteral: literalToJson,
});

/** Timestamps as ISO-8601 strings. */
export const DateTimeScalar = new GraphQLScalarType({
  name: 'DateTime',
  serialize: (value) => (value instanceof Date ? value.toISOString() : new Date(String(value)).toISOString()),
  parseValue: (value) => {
    const date = new Date(String(value));
    if (Number.isNaN(date.getTime())) throw new GraphQLError(`invalid DateTime "${String(value)}"`);
    return date;
  },
});
