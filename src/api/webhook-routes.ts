import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { WebhookRow } from '../db/database';
import type { TriggerSettings } from '../config';
import { CHAIN_HEADER } from '../triggers/trigger-chain';
import type { DeliveryOutcome, WebhookIntake } from '../triggers/webhook-intake';
import { SIGNATURE_HEADER } from '../triggers/webhook-signature';
import { TokenBuckets } from './token-buckets';

/** Where webhooks are served: `POST /hooks/<webhook id>`. */
export const HOOKS_PATH = '/hooks';

export type WebhookRoutesOptions = {
  intake: WebhookIntake;
  settings: Pick<TriggerSettings, 'webhookMaxBodyBytes' | 'webhookRatePerSecond' | 'webhookRateBurst'>;
  /** Failed signatures one address may send one webhook per minute (and at once): `TRELLIS_AUTH_FAILURES_PER_MINUTE`. */
  failuresPerMinute: number;
};

/** What the route keeps of a request between its hooks. */
type DeliveryState = { webhook: WebhookRow; deliveryId: string; receivedAt: Date; startedAt: number };

const states = new WeakMap<FastifyRequest, DeliveryState>();

/**
 * `POST /hooks/:id` (SPEC §6), in its own Fastify scope whose only body parser keeps the raw
 * bytes the signature covers, whatever the content type, up to `TRELLIS_WEBHOOK_MAX_BODY_BYTES`.
 *
 * Before the body is read: an unknown id is 404 (the same for every tenant's ids, so it says
 * nothing about who owns one); an address that failed this webhook's signature too often, and a
 * webhook past its rate (`TRELLIS_WEBHOOK_RATE_LIMIT`), get 429 with `Retry-After`. Failed
 * signatures are counted per address *and webhook*, not per address as API keys are: senders
 * (payment processors, code hosts) post for many tenants from a few addresses, and one tenant's
 * misconfigured webhook must not stop another tenant's deliveries. Then {@link WebhookIntake}
 * does the rest; every answer but 404 and 429 is recorded as a delivery, 413 included.
 */
export async function registerWebhookRoutes(app: FastifyInstance, options: WebhookRoutesOptions): Promise<void> {
  const { intake, settings } = options;
  const rates = new TokenBuckets({ ratePerSecond: settings.webhookRatePerSecond, capacity: settings.webhookRateBurst });
  const failures = new TokenBuckets({ ratePerSecond: options.failuresPerMinute / 60, capacity: options.failuresPerMinute });
  const failureKey = (request: FastifyRequest, webhookId: string) => `${request.socket.remoteAddress ?? 'unknown'}\n${webhookId}`;

  const answer = async (request: FastifyRequest, reply: FastifyReply, state: DeliveryState, outcome: DeliveryOutcome) => {
    if (outcome.failedSignature) failures.take(failureKey(request, state.webhook.id));
    const latencyMs = performance.now() - state.startedAt;
    try {
      await intake.record(state.webhook, state, outcome, Math.round(latencyMs * 1000) / 1000);
    } catch (err) {
      // The answer stands (a run may have started): only its record is missing.
      console.error(`cannot record delivery ${state.deliveryId} of webhook ${state.webhook.id}:`, err);
    }
    return reply.code(outcome.status).headers(outcome.headers ?? {}).send(outcome.body);
  };

  await app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: settings.webhookMaxBodyBytes }, (_request, body, done) => done(null, body));

    scope.setErrorHandler(async (error: FastifyError, request, reply) => {
      const state = states.get(request);
      if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE' && state) {
        const message = `the body is larger than ${settings.webhookMaxBodyBytes} bytes (TRELLIS_WEBHOOK_MAX_BODY_BYTES)`;
        return answer(request, reply, state, { status: 413, body: { error: message } });
      }
      const status = typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500;
      if (status === 500) console.error(`unexpected error in POST ${HOOKS_PATH}/:id:`, error);
      const outcome = { status, body: { error: status === 500 ? 'internal server error' : error.message } };
      return state ? answer(request, reply, state, outcome) : reply.code(status).send(outcome.body);
    });

    scope.post<{ Params: { id: string } }>(`${HOOKS_PATH}/:id`, {
      bodyLimit: settings.webhookMaxBodyBytes,
      onRequest: async (request, reply) => {
        const startedAt = performance.now();
        const { id } = request.params;
        if (failures.check(failureKey(request, id)) > 0) {
          const wait = failures.check(failureKey(request, id));
          return reply.code(429).header('retry-after', String(wait)).send({ error: `too many failed signatures from this address for this webhook: try again in ${wait} s` });
        }
        const webhook = await intake.findWebhook(id);
        if (!webhook) return reply.code(404).send({ error: `no webhook ${JSON.stringify(id)}` });
        const wait = rates.take(webhook.id);
        if (wait > 0) {
          return reply.code(429).header('retry-after', String(wait)).send({ error: `webhook ${webhook.id} takes at most ${settings.webhookRatePerSecond} deliveries a second (TRELLIS_WEBHOOK_RATE_LIMIT): try again in ${wait} s` });
        }
        states.set(request, { webhook, deliveryId: randomUUID(), receivedAt: new Date(), startedAt });
      },
    }, async (request, reply) => {
      const state = states.get(request)!;
      const { headers } = request;
      const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      const outcome = await intake.deliver(state.webhook, {
        deliveryId: state.deliveryId,
        receivedAt: state.receivedAt,
        body,
        signature: headers[SIGNATURE_HEADER.toLowerCase()],
        idempotencyKey: headers['idempotency-key'],
        chain: headers[CHAIN_HEADER.toLowerCase()],
      });
      return answer(request, reply, state, outcome);
    });
  });
}
