import { unwrapResolverError } from '@apollo/server/errors';
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { TrellisError } from '../src/errors';

/** Turns a domain error into the GraphQL error clients see (`extensions.code`, `extensions.errors`). */
export function toGraphQLError(err: unknown): GraphQLError {
  if (err instanceof GraphQLError) return err;
  if (err instanceof TrellisError) {
    const extensions: Record<string, unknown> = { code: err.code };
    // Read by Apollo Server when the error is thrown while building the request context.
    if (err.code === 'UNAUTHENTICATED') extensions.http = { status: 401 };
    if (err.code === 'FORBIDDEN') extensions.http = { status: 403 };
    if (err.errors.length > 0) extensions.errors = err.errors;
    return new GraphQLError(err.message, { extensions });
  }
  return new GraphQLError('internal server error', { extensions: { code: 'INTERNAL_SERVER_ERROR' } });
}

/**
 * Apollo's `formatError`: domain errors keep their message and code; anything unexpected is
 * logged here and reaches the client only as "internal server error".
 */
export function formatError(formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError {
  const original = unwrapResolverError(error);
  if (original instanceof TrellisError) {
    const { message, extensions } = toGraphQLError(original);
    return { ...formatted, message, extensions };
  }
  // Apollo codes every validation error GRAPHQL_VALIDATION_FAILED; a rule that set its own code
  // (an operation limit's BAD_USER_INPUT, graphql/operation-limits.ts) keeps it.
  const ruleCode = original instanceof GraphQLError && original.originalError instanceof GraphQLError ? original.originalError.extensions.code : undefined;
  if (formatted.extensions?.code === 'GRAPHQL_VALIDATION_FAILED' && typeof ruleCode === 'string') {
    return { ...formatted, extensions: { ...formatted.extensions, code: ruleCode } };
  }
  if (formatted.extensions?.code && formatted.extensions.code !== 'INTERNAL_SERVER_ERROR') return formatted;
  if (original instanceof GraphQLError) return formatted;
  console.error('unexpected error in a resolver:', original);
  return { ...formatted, message: 'internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR' } };
}
