import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Caller } from './authenticate';
import type { EventRow } from '../db/database';
import { BadUserInputError, RateLimitedError, TrellisError, UnavailableError, type ErrorCode } from '../errors';
import { CHAIN_HEADER, type TriggerChains } from '../triggers/trigger-chain';
import type { EventService } from '../triggers/event.service';
import { firingsOfEvent } from '../triggers/triggers.repository';

/** Where applications publish events over plain HTTP. */
export const EVENTS_PATH = '/events';

export type EventRoutesOptions = {
  /** Authenticates and rate-limits a request as `/graphql` does (API key in `Authorization`). */
  admit: (request: FastifyRequest) => Promise<Caller>;
  eventsFor: (tenantId: string) => EventService;
  chains: TriggerChains;
};

const STATUS_OF: Record<ErrorCode, number> = {
  BAD_USER_INPUT: 400,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  RATE_LIMITED: 429,
  UNAVAILABLE: 503,
};

/**
 * `POST /events` with `{"type", "payload", "id"?}` (SPEC §7): the same as GraphQL `publishEvent`,
 * for publishers that speak plain HTTP. It is authenticated like the GraphQL API, with an API key
 * in `Authorization: Bearer` (keyless mode: loopback only): publishers are the tenant's own
 * applications, which hold keys already, and a key says which tenant publishes — a second kind of
 * tenant secret would add rotation and storage for no gain. Answers 202 with the event and its
 * firings; errors as `{error, code, errors?}` with the status of their code.
 */
export async function registerEventRoutes(app: FastifyInstance, options: EventRoutesOptions): Promise<void> {
  app.post(EVENTS_PATH, async (request, reply) => {
    try {
      const caller = await options.admit(request);
      const body = request.body as { type?: unknown; payload?: unknown; id?: unknown } | null | undefined;
      if (body === null || typeof body !== 'object' || Array.isArray(body) || typeof body.type !== 'string' || !('payload' in body) || (body.id != null && typeof body.id !== 'string')) {
        throw new BadUserInputError('the body must be a JSON object {"type": string, "payload": any JSON, "id"?: string}', [{ path: '/', message: 'expected {type, payload, id?}' }]);
      }
      const chain = options.chains.parse(request.headers[CHAIN_HEADER.toLowerCase()]);
      const events = options.eventsFor(caller.tenantId);
      const event: EventRow = await events.publish(caller.tenantId, { type: body.type, payload: body.payload, id: (body.id as string | undefined) ?? null, chain });
      const firings = await firingsOfEvent(events.db, caller.tenantId, event.id);
      return reply.code(202).send({
        id: event.id,
        type: event.type,
        status: event.status,
        firings: firings.map((f) => ({ triggerId: f.trigger_id, status: f.status, runId: f.run_id, reason: f.reason })),
      });
    } catch (err) {
      if (!(err instanceof TrellisError)) throw err;
      const headers: Record<string, string> = {};
      if (err instanceof RateLimitedError && err.retryAfterSeconds !== undefined) headers['retry-after'] = String(err.retryAfterSeconds);
      if (err instanceof UnavailableError) headers['retry-after'] = String(err.retryAfterSeconds);
      return reply
        .code(STATUS_OF[err.code])
        .headers(headers)
        .send({ error: err.message, code: err.code, ...(err.errors.length > 0 ? { errors: err.errors } : {}) });
    }
  });
}
