import type { FastifyReply, FastifyRequest } from 'fastify';
import { GraphQLError } from 'graphql';
import { MAX_JSON_DEPTH } from '../definition/storable-json';

/**
 * Deepest nesting of `{`, `[` and `(` an operation's text may have, checked before it is parsed:
 * graphql-js parses recursively and overflows its stack at a few thousand levels. 128 leaves room
 * for the deepest operation the depth limit allows (12 fields) around a literal JSON value nested
 * {@link MAX_JSON_DEPTH} levels, which the arguments' own check then refuses with its pointer.
 */
export const MAX_OPERATION_NESTING = 128;

/**
 * How deeply `{`, `[` and `(` nest in a GraphQL document's text, not counting those inside
 * strings, block strings and comments. Linear in the text, no recursion; a text that does not
 * parse gets a number all the same (the parser then says what is wrong).
 * @example operationNesting('{ run(id: "{") { id } }') // 2
 */
export function operationNesting(text: string): number {
  let depth = 0;
  let deepest = 0;
  for (let index = 0; index < text.length; index += 1) {
    const char = text[index];
    if (char === '#') {
      while (index < text.length && text[index] !== '\n' && text[index] !== '\r') index += 1;
    } else if (char === '"') {
      index = text.startsWith('"""', index) ? blockStringEnd(text, index) : stringEnd(text, index);
    } else if (char === '{' || char === '[' || char === '(') {
      depth += 1;
      deepest = Math.max(deepest, depth);
    } else if (char === '}' || char === ']' || char === ')') {
      depth -= 1;
    }
  }
  return deepest;
}

/**
 * The error an operation nested deeper than {@link MAX_OPERATION_NESTING} gets (`BAD_USER_INPUT`,
 * with `extensions.limit`), or undefined when it is within the limit.
 */
export function operationNestingError(text: string): GraphQLError | undefined {
  const nesting = operationNesting(text);
  if (nesting <= MAX_OPERATION_NESTING) return undefined;
  return new GraphQLError(
    `operation too deeply nested: {, [ and ( nest ${nesting} levels in its text, the limit is ${MAX_OPERATION_NESTING} (JSON values may nest ${MAX_JSON_DEPTH} levels)`,
    { extensions: { code: 'BAD_USER_INPUT', limit: { name: 'nesting', max: MAX_OPERATION_NESTING, actual: nesting } } },
  );
}

/**
 * Fastify `preHandler` hook for `/graphql`: answers an operation nested deeper than
 * {@link MAX_OPERATION_NESTING} (in a POST body's `query`, or a GET's `query` parameter) with
 * HTTP 400 and the error, before Apollo Server parses it.
 */
export async function refuseDeeplyNestedOperations(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> {
  if (request.routeOptions.url !== '/graphql') return undefined;
  const queries = [request.body, request.query].flatMap((source) => (Array.isArray(source) ? source : [source])).map((source) => (source as { query?: unknown } | null | undefined)?.query);
  for (const query of queries) {
    const error = typeof query === 'string' ? operationNestingError(query) : undefined;
    if (error) return reply.code(400).send({ errors: [error.toJSON()] });
  }
  return undefined;
}

// Index of the closing quote of the string starting at `start` (or of the line's end).
function stringEnd(text: string, start: number): number {
  let index = start + 1;
  while (index < text.length && text[index] !== '"' && text[index] !== '\n' && text[index] !== '\r') index += text[index] === '\\' ? 2 : 1;
  return index;
}

// Index of the last quote of the block string starting at `start` (an escaped \""" does not end it).
function blockStringEnd(text: string, start: number): number {
  let index = start + 3;
  for (;;) {
    const end = text.indexOf('"""', index);
    if (end < 0) return text.length;
    if (text[end - 1] !== '\\') return end + 2;
    index = end + 3;
  }
}
