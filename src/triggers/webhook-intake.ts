import type { Kysely } from 'kysely';
import { inspectJson, MAX_JSON_DEPTH } from '../../definition/storable-json';
import type { Database, WebhookRow } from '../db/database';
import { BadUserInputError, ConflictError, NotFoundError, RateLimitedError, TrellisError, UnavailableError, type FieldError } from '../errors';
import type { RunService } from '../runs/run.service';
import type { SealedValues } from '../secrets/sealed-values';
import { isUuid } from '../support/uuid';
import type { ChainLink, TriggerChains } from './trigger-chain';
import { ChainRefusedError } from './trigger-chain';
import { evaluateTriggerExpression } from './trigger-expression';
import { TRIGGER_LIMITS } from './trigger-limits';
import { acceptedSecrets } from './webhook.service';
import { parseSignatureHeader, signatureMatches, signedDigest } from './webhook-signature';
import { findRunOfSignedDelivery, findWebhookById, insertDelivery } from './webhooks.repository';

/** What `POST /hooks/:id` hands over once the body is read. */
export type DeliveryRequest = {
  deliveryId: string;
  receivedAt: Date;
  body: Buffer;
  signature: string | string[] | undefined;
  idempotencyKey: string | string[] | undefined;
  chain: string | string[] | undefined;
};

/** How a delivery is answered, and what is recorded of it. */
export type DeliveryOutcome = {
  status: number;
  /** The JSON answer: `{runId, deliveryId}` for 202, `{error, errors?}` otherwise. */
  body: Record<string, unknown>;
  headers?: Record<string, string>;
  runId?: string;
  /** A failed signature: counted against the sender's address for this webhook. */
  failedSignature?: boolean;
  idempotencyKey?: string;
  signedDigest?: string;
  chain?: ChainLink[];
};

export type WebhookIntakeOptions = {
  /** The owner's database: finds a webhook by id, whatever its tenant. */
  owner: Kysely<Database>;
  /** The tenant's database (row-level security), where its deliveries are recorded. */
  tenantDb: (tenantId: string) => Kysely<Database>;
  /** The RunService of a tenant (its database, the chain checks, the start timeout). */
  runsFor: (tenantId: string) => RunService;
  sealed: SealedValues;
  chains: TriggerChains;
  /** How far a signature's timestamp may be from now. */
  toleranceMs: number;
  /** @default Date.now */
  now?: () => number;
};

/**
 * Takes webhook deliveries (SPEC §6): checks the signature (HMAC-SHA256 over `<t>.<raw body>`,
 * in constant time, against the secret and, during a rotation's overlap, the previous one) and
 * its timestamp, reads the body as hostile JSON, maps it with the webhook's `input`, and starts a
 * run through {@link RunService} with trigger `{type: "webhook", id, deliveryId}`, answering 202
 * only once the run is started. Deliveries are made exactly once per run by the run's idempotency
 * key: `webhook:<id>:<Idempotency-Key>`, or without that header the signed content's digest, so
 * an exact replay of a signed delivery (within the tolerance) answers the first run too.
 */
export class WebhookIntake {
  constructor(private readonly options: WebhookIntakeOptions) {}

  /** The webhook a URL names, whatever its tenant; undefined for an id that is not one. */
  async findWebhook(id: string): Promise<WebhookRow | undefined> {
    return isUuid(id) ? findWebhookById(this.options.owner, id.toLowerCase()) : undefined;
  }

  /** Checks and performs one delivery; never throws for what the sender did (only for Trellis's own failures). */
  async deliver(webhook: WebhookRow, request: DeliveryRequest): Promise<DeliveryOutcome> {
    const { chains, toleranceMs } = this.options;
    const parsed = parseSignatureHeader(request.signature);
    if ('problem' in parsed) return { ...refusal(401, parsed.problem), failedSignature: true };
    const now = (this.options.now ?? Date.now)();
    if (!signatureMatches(acceptedSecrets(webhook, this.options.sealed, new Date(now)), parsed, request.body)) {
      return { ...refusal(401, 'the signature does not match: sign "<t>.<raw body>" with HMAC-SHA256 under the webhook\'s secret'), failedSignature: true };
    }
    const skewSeconds = Math.round(now / 1000 - parsed.timestamp);
    if (Math.abs(skewSeconds) * 1000 > toleranceMs) {
      return {
        ...refusal(401, `the signature's timestamp is ${Math.abs(skewSeconds)} s in the ${skewSeconds > 0 ? 'past' : 'future'}, outside the tolerance of ${toleranceMs / 1000} s (a replayed delivery, or a clock that is off)`),
        failedSignature: true,
      };
    }
    const digest = signedDigest(parsed.timestamp, request.body);
    const key = readIdempotencyKey(request.idempotencyKey);
    if (typeof key === 'object') return { ...refusal(400, key.problem), signedDigest: digest };
    let chain: ChainLink[];
    try {
      chain = chains.parse(request.chain);
    } catch (err) {
      return { ...refusal(400, (err as Error).message), signedDigest: digest, idempotencyKey: key };
    }
    const base = { signedDigest: digest, idempotencyKey: key, chain };
    const tenantDb = this.options.tenantDb(webhook.tenant_id);
    // An exact replay of a delivery that started a run answers that run, whatever Idempotency-Key it now carries.
    const replayed = await findRunOfSignedDelivery(tenantDb, webhook.id, digest);
    if (replayed) return { ...base, status: 202, runId: replayed.runId, body: { runId: replayed.runId, deliveryId: request.deliveryId, replayOf: replayed.deliveryId } };

    const body = readBody(request.body);
    if ('problem' in body) return { ...base, ...refusal(body.status, body.problem, body.errors) };
    let input: unknown = body.value;
    if (webhook.input !== null) {
      try {
        input = await evaluateTriggerExpression(webhook.input, { body: body.value });
      } catch (err) {
        const message = `the webhook's input mapping failed: ${(err as Error).message}`;
        return { ...base, ...refusal(422, message, [{ path: '/input', message: (err as Error).message }]) };
      }
      const problems = inspectJson(input, '/input', { maxDepth: MAX_JSON_DEPTH }).problems;
      if (problems.length > 0) return { ...base, ...refusal(422, 'the input mapping gave a value that cannot be stored', problems) };
    }
    try {
      const run = await this.options.runsFor(webhook.tenant_id).startRun(webhook.tenant_id, {
        definition: webhook.definition_name,
        input: input ?? undefined,
        idempotencyKey: `webhook:${webhook.id}:${key ?? `sha256:${digest}`}`,
        trigger: { type: 'webhook', id: webhook.id, deliveryId: request.deliveryId },
        chain,
        refusal: { key: `webhook:${request.deliveryId}`, via: `webhook ${webhook.id} (delivery ${request.deliveryId})` },
      });
      return { ...base, status: 202, runId: run.id, body: { runId: run.id, deliveryId: request.deliveryId } };
    } catch (err) {
      return { ...base, ...startRefusal(err) };
    }
  }

  /** Records a delivery and its answer in the tenant's `webhook_deliveries` (listed by `webhookDeliveries`). */
  async record(webhook: WebhookRow, request: Pick<DeliveryRequest, 'deliveryId' | 'receivedAt'>, outcome: DeliveryOutcome, latencyMs: number): Promise<void> {
    const error = outcome.status === 202 ? null : { message: outcome.body.error, ...(outcome.body.errors ? { errors: outcome.body.errors } : {}) };
    await insertDelivery(this.options.tenantDb(webhook.tenant_id), {
      id: request.deliveryId,
      tenant_id: webhook.tenant_id,
      webhook_id: webhook.id,
      received_at: request.receivedAt,
      status_code: outcome.status,
      latency_ms: latencyMs,
      run_id: outcome.runId ?? null,
      error: error === null ? null : JSON.stringify(error),
      idempotency_key: outcome.idempotencyKey ?? null,
      signed_digest: outcome.signedDigest ?? null,
      chain: outcome.chain && outcome.chain.length > 0 ? JSON.stringify(outcome.chain) : null,
    });
  }
}

function refusal(status: number, message: string, errors?: FieldError[]): Pick<DeliveryOutcome, 'status' | 'body'> {
  return { status, body: errors && errors.length > 0 ? { error: message, errors } : { error: message } };
}

/** How a refused or failed start is answered; errors that are not the sender's are rethrown (500). */
function startRefusal(err: unknown): Pick<DeliveryOutcome, 'status' | 'body' | 'headers'> {
  if (err instanceof ChainRefusedError || err instanceof ConflictError) return refusal(409, err.message);
  if (err instanceof BadUserInputError) return refusal(422, err.message, err.errors);
  if (err instanceof NotFoundError) return refusal(422, `${err.message}: the webhook's definition no longer exists`);
  if (err instanceof UnavailableError) return { ...refusal(503, err.message), headers: { 'retry-after': String(err.retryAfterSeconds) } };
  // Runs in flight free up as they finish: come back in a while.
  if (err instanceof RateLimitedError) return { ...refusal(429, err.message), headers: { 'retry-after': String(err.retryAfterSeconds ?? 30) } };
  if (err instanceof TrellisError) return refusal(400, err.message, err.errors);
  throw err;
}

/** The `Idempotency-Key` header: absent, or at most 255 printable characters. */
function readIdempotencyKey(value: string | string[] | undefined): string | undefined | { problem: string } {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') return { problem: 'Idempotency-Key was sent more than once' };
  if (value === '' || value.length > TRIGGER_LIMITS.idempotencyKeyChars || !/^[\x20-\x7e]+$/.test(value)) {
    return { problem: `Idempotency-Key must be 1 to ${TRIGGER_LIMITS.idempotencyKeyChars} printable ASCII characters` };
  }
  return value;
}

/**
 * A delivery's body as JSON, read as GraphQL reads its arguments: an empty body is `null`; text
 * that is not JSON is a 400; JSON nested deeper than {@link MAX_JSON_DEPTH} or holding strings
 * PostgreSQL cannot store is a 422 with the pointers (found without recursion).
 */
function readBody(raw: Buffer): { value: unknown } | { problem: string; status: number; errors?: FieldError[] } {
  if (raw.length === 0) return { value: null };
  const text = raw.toString('utf8');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { status: 400, problem: `the body is not JSON: ${(err as Error).message}` };
  }
  const { problems } = inspectJson(value, '/body', { maxDepth: MAX_JSON_DEPTH });
  if (problems.length > 0) return { status: 422, problem: 'the body holds values Trellis does not accept', errors: problems };
  return { value };
}
