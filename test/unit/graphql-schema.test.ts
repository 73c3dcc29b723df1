import { readFileSync } from 'node:fs';
import path from 'node:path';
import { buildSchema, getVariableValues, isEnumType, isInputObjectType, isInterfaceType, isObjectType, parse, specifiedRules, validate, type GraphQLNamedType, type OperationDefinitionNode } from 'graphql';
import { operationRules } from '../../graphql/operation-limits';
import { RESOLVERS, createSchema, loadTypeDefs } from '../../graphql/schema';

/** What in a named type needs a description of its own: fields and their arguments, input fields, enum values. */
function undocumentedParts(type: GraphQLNamedType): string[] {
  const missing: string[] = [];
  if (isObjectType(type) || isInterfaceType(type)) {
    for (const field of Object.values(type.getFields())) {
      if (!field.description) missing.push(`${type.name}.${field.name}`);
      for (const arg of field.args) if (!arg.description) missing.push(`${type.name}.${field.name}(${arg.name})`);
    }
  } else if (isInputObjectType(type)) {
    for (const field of Object.values(type.getFields())) if (!field.description) missing.push(`${type.name}.${field.name}`);
  } else if (isEnumType(type)) {
    for (const value of type.getValues()) if (!value.description) missing.push(`${type.name}.${value.name}`);
  }
  return missing;
}

/**
 * The ```graphql blocks of the README, with the variables a block gives on a line of its own
 * (`# variables: {"id": "…"}`). Blocks holding only comments (a sample answer) are left out.
 */
function readmeExamples(): Array<{ line: number; source: string; variables?: Record<string, unknown> }> {
  const readme = readFileSync(path.join(__dirname, '../../README.md'), 'utf8');
  const examples: Array<{ line: number; source: string; variables?: Record<string, unknown> }> = [];
  for (const match of readme.matchAll(/^[ \t]*```graphql[ \t]*\n([\s\S]*?)^[ \t]*```[ \t]*$/gm)) {
    const source = match[1]!;
    if (source.split('\n').every((text) => text.trim() === '' || text.trim().startsWith('#'))) continue;
    const line = readme.slice(0, match.index).split('\n').length;
    const declared = /^[ \t]*# variables: (.*)$/m.exec(source);
    examples.push(declared ? { line, source, variables: JSON.parse(declared[1]!) as Record<string, unknown> } : { line, source });
  }
  return examples;
}

describe('the GraphQL schema', () => {
  const schema = createSchema();

  it('has a resolver for every query, mutation and subscription the SDL declares, and none for one it does not', () => {
    const resolved = new Map<string, Set<string>>();
    for (const group of RESOLVERS) {
      for (const [type, fields] of Object.entries(group)) {
        if (typeof fields === 'object' && fields !== null) {
          const names = resolved.get(type) ?? new Set<string>();
          Object.keys(fields).forEach((name) => names.add(name));
          resolved.set(type, names);
        }
      }
    }
    for (const root of [schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()]) {
      const declared = Object.keys(root!.getFields()).sort();
      expect([root!.name, [...(resolved.get(root!.name) ?? [])].sort()]).toEqual([root!.name, declared]);
    }
  });

  it('serves every field that takes arguments with a resolver of its own', () => {
    const unserved: string[] = [];
    for (const type of Object.values(schema.getTypeMap())) {
      if (!isObjectType(type) || type.name.startsWith('__')) continue;
      for (const field of Object.values(type.getFields())) {
        if (field.args.length > 0 && !field.resolve && !field.subscribe) unserved.push(`${type.name}.${field.name}`);
      }
    }
    expect(unserved).toEqual([]);
  });

  it('describes every type, field, argument, input field and enum value of the SDL', () => {
    // The SDL as written: in the executable schema, a scalar is the resolver's GraphQLScalarType,
    // whose description (none in graphql/scalars.ts) replaces the SDL's.
    const sdl = buildSchema(loadTypeDefs());
    const undocumented: string[] = [];
    for (const type of Object.values(sdl.getTypeMap())) {
      if (type.name.startsWith('__') || ['String', 'Int', 'Float', 'Boolean', 'ID'].includes(type.name)) continue;
      if (!type.description) undocumented.push(type.name);
      undocumented.push(...undocumentedParts(type));
    }
    expect(undocumented).toEqual([]);
  });

  it("accepts every ```graphql example of the README: it parses, validates, passes the operation limits and takes the variables it shows", () => {
    const examples = readmeExamples();
    expect(examples.length).toBeGreaterThanOrEqual(10);
    const refused: Array<{ line: number; errors: string[] }> = [];
    for (const { line, source, variables } of examples) {
      const document = parse(source);
      const errors = validate(schema, document, [...specifiedRules, ...operationRules({ variables, development: false })]).map((error) => error.message);
      if (variables) {
        for (const operation of document.definitions.filter((definition): definition is OperationDefinitionNode => definition.kind === 'OperationDefinition')) {
          const coerced = getVariableValues(schema, operation.variableDefinitions ?? [], variables);
          errors.push(...(coerced.errors ?? []).map((error) => error.message));
        }
      }
      if (errors.length > 0) refused.push({ line, errors });
    }
    expect(refused).toEqual([]);
  });
});
