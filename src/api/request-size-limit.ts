import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';

/**
 * The largest request body (`POST /graphql`) and graphql-ws message the API reads: 1 MiB. A
 * definition may be 256 KiB of JSON; sent as a YAML or JSON string its escaping can double it,
 * which still leaves room for the rest of the request.
 */
export const MAX_REQUEST_BYTES = 1024 * 1024;

/**
 * Fastify error handler that answers an oversized `/graphql` body with HTTP 413 and a GraphQL
 * `errors` body naming the limit and the size; every other error goes on to Fastify's default
 * handler.
 */
export function requestTooLargeHandler(error: FastifyError, request: FastifyRequest, reply: FastifyReply) {
  if (error.code !== 'FST_ERR_CTP_BODY_TOO_LARGE' || request.routeOptions.url !== '/graphql') throw error;
  // Without a Content-Length (a chunked body), reading stopped at the limit: the size is not known.
  const declared = Number(request.headers['content-length']);
  const actual = Number.isInteger(declared) && declared > MAX_REQUEST_BYTES ? declared : undefined;
  const size = actual === undefined ? `more than ${MAX_REQUEST_BYTES} bytes` : `${actual} bytes`;
  return reply.code(413).send({
    errors: [
      {
        message: `request body too large: ${size}, the limit is ${MAX_REQUEST_BYTES} bytes (1 MiB)`,
        extensions: { code: 'BAD_USER_INPUT', limit: { name: 'requestBytes', max: MAX_REQUEST_BYTES, actual: actual ?? null } },
      },
    ],
  });
}
