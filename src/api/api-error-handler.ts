import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { errorFields, logger } from '../observability/logger';
import { requestTooLargeHandler } from './request-size-limit';

/**
 * Fastify's error handler for the API: an oversized `/graphql` body gets its GraphQL answer
 * ({@link requestTooLargeHandler}); a client error (4xx, such as malformed JSON) gets Fastify's
 * default answer; anything else is logged here and answered 500 with no detail of it (no message,
 * no stack: they may name internals).
 */
export function apiErrorHandler(error: FastifyError, request: FastifyRequest, reply: FastifyReply) {
  if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE' && request.routeOptions.url === '/graphql') return requestTooLargeHandler(error, request, reply);
  const status = typeof error.statusCode === 'number' ? error.statusCode : 500;
  // Fastify's own handler answers them: their messages say what is wrong with the request.
  if (status >= 400 && status < 500) throw error;
  logger.error({ method: request.method, route: request.routeOptions.url ?? 'unmatched', ...errorFields(error, true) }, 'unexpected error in an HTTP request');
  return reply.code(500).send({ statusCode: 500, error: 'Internal Server Error', message: 'internal server error' });
}
