import { isScalarType } from 'graphql';
import { inspectJson, MAX_JSON_DEPTH } from '../definition/storable-json';
import { BadUserInputError, type FieldError } from '../src/errors';
import { toGraphQLError } from './errors';

/**
 * Arguments that hold a definition document (its object, or its JSON or YAML text): the
 * definition validator checks them, at pointers into the document (`/steps/a/url`), so that
 * `validateDefinition` answers `valid: false` like for any other problem of the document.
 */
const DOCUMENT_ARGUMENTS: ReadonlySet<string> = new Set(['spec']);

/**
 * The problems of a field's arguments, each at `/<argument>/…`: JSON nested deeper than
 * {@link MAX_JSON_DEPTH}, and strings or object keys PostgreSQL cannot store (U+0000, unpaired
 * surrogates), in every argument but {@link DOCUMENT_ARGUMENTS}. Never recurses, whatever the
 * depth.
 */
export function argumentProblems(args: Readonly<Record<string, unknown>>): FieldError[] {
  const problems: FieldError[] = [];
  for (const [name, value] of Object.entries(args)) {
    if (DOCUMENT_ARGUMENTS.has(name)) continue;
    problems.push(...inspectJson(value, `/${name}`, { maxDepth: MAX_JSON_DEPTH }).problems);
  }
  return problems;
}

/**
 * Resolver maps (as `makeExecutableSchema` takes them) whose every field resolver, and every
 * subscription's `subscribe`, first checks its arguments ({@link argumentProblems}); scalars
 * are kept as they are. So whatever a client sends — run input, signal payloads, mocks,
 * idempotency keys, names, reasons, over HTTP or graphql-ws — is refused with
 * `BAD_USER_INPUT` at its pointer before anything stores it or walks it recursively.
 * @throws GraphQLError (from the wrapped resolvers) coded `BAD_USER_INPUT`, listing every problem
 * in `extensions.errors`
 */
export function withArgumentChecks<T extends object>(resolvers: T): T {
  const guarded: Record<string, unknown> = {};
  for (const [typeName, fields] of Object.entries(resolvers)) {
    if (isScalarType(fields) || fields === null || typeof fields !== 'object') {
      guarded[typeName] = fields;
      continue;
    }
    const wrapped: Record<string, unknown> = {};
    for (const [fieldName, field] of Object.entries(fields as Record<string, unknown>)) wrapped[fieldName] = guardField(field);
    guarded[typeName] = wrapped;
  }
  return guarded as T;
}

type Resolver = (parent: unknown, args: Record<string, unknown>, ...rest: unknown[]) => unknown;

function guardField(field: unknown): unknown {
  if (typeof field === 'function') return guard(field as Resolver);
  if (field === null || typeof field !== 'object') return field;
  const { subscribe, resolve } = field as { subscribe?: Resolver; resolve?: Resolver };
  return {
    ...field,
    ...(subscribe ? { subscribe: guard(subscribe) } : {}),
    ...(resolve ? { resolve: guard(resolve) } : {}),
  };
}

function guard(resolver: Resolver): Resolver {
  return (parent, args, ...rest) => {
    const problems = argumentProblems(args ?? {});
    // A GraphQLError keeps its code over graphql-ws too, where results skip formatError.
    if (problems.length > 0) throw toGraphQLError(new BadUserInputError('invalid arguments', problems));
    return resolver(parent, args, ...rest);
  };
}
