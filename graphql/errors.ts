import { errorFields, logger } from '../src/observability/logger';
import { unwrapResolverError } from '@apollo/server/errors';
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { RateLimitedError, TrellisError, UnavailableError } from '../src/errors';
import { answerForTemporalError } from '../src/temporal/temporal-errors';
import { tokenLimitError } from './operation-limits';

/** Turns a domain error into the GraphQL error clients see (`extensions.code`, `extensions.errors`). */
export function toGraphQLError(err: unknown): GraphQLError {
  if (err instanceof GraphQLError) return err;
  const temporalAnswer = answerForTemporalError(err);
  if (temporalAnswer) return toGraphQLError(temporalAnswer);
  if (err instanceof TrellisError) {
    const extensions: Record<string, unknown> = { code: err.code };
    // Read by Apollo Server when the error is thrown while building the request context.
    if (err.code === 'UNAUTHENTICATED') extensions.http = { status: 401 };
    if (err.code === 'FORBIDDEN') extensions.http = { status: 403 };
    if (err instanceof RateLimitedError) {
      extensions.limit = err.limit;
      // Only a rate limit says when to come back; a limit on work in progress frees up as it finishes.
      if (err.retryAfterSeconds !== undefined) {
        extensions.retryAfter = err.retryAfterSeconds;
        extensions.http = { status: 429, headers: new Map([['retry-after', String(err.retryAfterSeconds)]]) };
      }
    }
    if (err instanceof UnavailableError) {
      extensions.retryAfter = err.retryAfterSeconds;
      extensions.http = { status: 503, headers: new Map([['retry-after', String(err.retryAfterSeconds)]]) };
    }
    if (err.errors.length > 0) extensions.errors = err.errors;
    return new GraphQLError(err.message, { extensions });
  }
  return new GraphQLError('internal server error', { extensions: { code: 'INTERNAL_SERVER_ERROR' } });
}

/**
 * An error as a graphql-ws client gets it: {@link toGraphQLError} without `extensions.http`
 * (the HTTP status and headers Apollo Server reads, which mean nothing on a socket).
 */
export function toSocketError(err: unknown): GraphQLError {
  const error = toGraphQLError(err);
  if (!('http' in error.extensions)) return error;
  const { http: _http, ...extensions } = error.extensions;
  return new GraphQLError(error.message, { nodes: error.nodes, source: error.source, positions: error.positions, path: error.path, extensions });
}

/**
 * Apollo's `formatError`: domain errors keep their message and code, Temporal client errors
 * Trellis can explain become one (see `answerForTemporalError`); anything unexpected is logged
 * here and reaches the client only as "internal server error".
 */
export function formatError(formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError {
  const original = unwrapResolverError(error);
  if (original instanceof TrellisError || answerForTemporalError(original)) {
    const { message, extensions } = toGraphQLError(original);
    return { ...formatted, message, extensions };
  }
  // Apollo codes every validation error GRAPHQL_VALIDATION_FAILED; a rule that set its own code
  // (an operation limit's BAD_USER_INPUT, graphql/operation-limits.ts) keeps it.
  const ruleCode = original instanceof GraphQLError && original.originalError instanceof GraphQLError ? original.originalError.extensions.code : undefined;
  if (formatted.extensions?.code === 'GRAPHQL_PARSE_FAILED' && original instanceof GraphQLError) {
    const limited = tokenLimitError(original);
    if (limited !== original) return { message: limited.message, extensions: limited.extensions };
  }
  if (formatted.extensions?.code === 'GRAPHQL_VALIDATION_FAILED' && typeof ruleCode === 'string') {
    return { ...formatted, extensions: { ...formatted.extensions, code: ruleCode } };
  }
  if (formatted.extensions?.code && formatted.extensions.code !== 'INTERNAL_SERVER_ERROR') return formatted;
  if (original instanceof GraphQLError) return formatted;
  logger.error({ path: formatted.path, ...errorFields(original, true) }, 'unexpected error in a resolver');
  return { ...formatted, message: 'internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR' } };
}
