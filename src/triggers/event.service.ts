import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { inspectJson, MAX_JSON_DEPTH } from '../../definition/storable-json';
import type { Database, EventRow, TriggerRow } from '../db/database';
import { BadUserInputError, ConflictError, RateLimitedError, TrellisError, UnavailableError, type FieldError } from '../errors';
import type { RunService } from '../runs/run.service';
import { sha256OfJson } from '../support/canonical-json';
import { MAX_EVENT_ID_CHARS, type ChainLink } from './trigger-chain';
import { evaluateTriggerExpression } from './trigger-expression';
import { EVENT_TYPE_PATTERN, TRIGGER_LIMITS } from './trigger-limits';
import { insertEvent, insertFiring, triggersOfEvent } from './triggers.repository';
import { unstorableReason } from '../../definition/storable-json';

/** A `publishEvent` request: `id` de-duplicates publisher retries (a UUID when omitted). */
export type PublishRequest = { type: string; payload: unknown; id?: string | null; chain?: ChainLink[] };

export type EventServiceOptions = {
  /** The tenant's database (row-level security). */
  db: Kysely<Database>;
  /** The tenant's RunService (its database, the chain checks, the start timeout). */
  runs: RunService;
};

/** How long a dispatch may take before the dispatcher takes the event over (see EventDispatcher). */
export const DISPATCH_LEASE_MS = 30_000;

/**
 * Publishes events and fires their triggers (SPEC §7). An event is stored first (durably, status
 * PENDING), then dispatched at once: every trigger of its type that existed when it was published
 * and whose filter is `true` starts one run through RunService, with trigger `{type: "event", id:
 * <trigger id>, eventId}` and idempotency key `event:<event id>:<trigger id>`, so a repeated
 * dispatch (the publisher's retry, the dispatcher's) starts nothing new. A trigger that refuses
 * (its filter or input fails, the input schema, a loop in the chain) records why as a firing; when
 * Temporal cannot be reached the event stays PENDING and the EventDispatcher retries it.
 */
export class EventService {
  constructor(private readonly options: EventServiceOptions) {}

  /** The tenant's database this service writes to. */
  get db(): Kysely<Database> {
    return this.options.db;
  }

  /**
   * Stores the event (or finds the one of that id) and dispatches it.
   * @returns the event as stored after the dispatch (PENDING when some start must be retried)
   * @throws BadUserInputError for an invalid type, id or payload; ConflictError for an id already used with another type or payload
   */
  async publish(tenantId: string, request: PublishRequest): Promise<EventRow> {
    const { db } = this.options;
    const problems: FieldError[] = [];
    if (!EVENT_TYPE_PATTERN.test(request.type)) problems.push({ path: '/type', message: 'must be a letter or digit, then letters, digits or _ . : / -, at most 128 characters (such as "order.created")' });
    if (request.id != null && (request.id.length === 0 || request.id.length > MAX_EVENT_ID_CHARS || unstorableReason(request.id) !== undefined)) {
      problems.push({ path: '/id', message: `must be 1 to ${MAX_EVENT_ID_CHARS} characters` });
    }
    problems.push(...inspectJson(request.payload, '/payload', { maxDepth: MAX_JSON_DEPTH }).problems);
    if (problems.length === 0 && Buffer.byteLength(JSON.stringify(request.payload ?? null)) > TRIGGER_LIMITS.eventPayloadBytes) {
      problems.push({ path: '/payload', message: `is larger than ${TRIGGER_LIMITS.eventPayloadBytes} bytes of JSON` });
    }
    if (problems.length > 0) throw new BadUserInputError('invalid event', problems);
    const id = request.id ?? randomUUID();
    const payload = request.payload ?? null;
    const hash = sha256OfJson({ type: request.type, payload });
    const now = new Date();
    const { row, created } = await insertEvent(db, {
      tenant_id: tenantId,
      id,
      type: request.type,
      payload: JSON.stringify(payload),
      payload_hash: hash,
      chain: request.chain && request.chain.length > 0 ? JSON.stringify(request.chain) : null,
      published_at: now,
      status: 'PENDING',
      // The dispatcher leaves it to this call for a while.
      next_attempt_at: new Date(now.getTime() + DISPATCH_LEASE_MS),
    });
    if (!created && row.payload_hash !== hash) {
      throw new ConflictError(`event "${id}" was already published with another type or payload: an event id names one event`);
    }
    if (row.status !== 'PENDING') return row;
    return this.dispatch(row);
  }

  /**
   * Fires every matching trigger of a PENDING event that has not fired yet; marks it DISPATCHED
   * once each has a firing, or leaves it PENDING with `last_error` when a start must be retried.
   * @returns the event as stored now
   */
  async dispatch(event: EventRow): Promise<EventRow> {
    const { db } = this.options;
    let retry: string | undefined;
    for (const trigger of await triggersOfEvent(db, event)) {
      try {
        await this.fire(event, trigger);
      } catch (err) {
        // Temporal unreachable, or the tenant's runs in flight at the limit: both pass.
        if (!(err instanceof UnavailableError || err instanceof RateLimitedError)) throw err;
        retry = err.message;
      }
    }
    const attempts = event.attempts + 1;
    const updated = await db
      .updateTable('events')
      .set(
        retry === undefined
          ? { status: 'DISPATCHED', dispatched_at: new Date(), attempts, last_error: null }
          : { attempts, last_error: retry, next_attempt_at: new Date(Date.now() + Math.min(60_000, 1000 * 2 ** Math.min(attempts, 6))) },
      )
      .where('tenant_id', '=', event.tenant_id)
      .where('id', '=', event.id)
      .where('status', '=', 'PENDING')
      .returningAll()
      .executeTakeFirst();
    return updated ?? event;
  }

  /**
   * One trigger and one event: nothing when the filter is not `true`; otherwise a run started
   * (STARTED) or a refusal (REFUSED, with why), recorded once.
   * @throws UnavailableError when Temporal cannot be reached, RateLimitedError at the runs-in-flight limit (nothing recorded: retried)
   */
  private async fire(event: EventRow, trigger: TriggerRow): Promise<void> {
    const { db, runs } = this.options;
    const record = (status: 'STARTED' | 'REFUSED', runId: string | null, reason: string | null) =>
      insertFiring(db, { tenant_id: event.tenant_id, event_id: event.id, trigger_id: trigger.id, status, run_id: runId, reason, at: new Date() });
    const bound = { event: { id: event.id, type: event.type, payload: event.payload, publishedAt: event.published_at.toISOString() } };
    if (trigger.filter !== null) {
      let matched: unknown;
      try {
        matched = await evaluateTriggerExpression(trigger.filter, bound);
      } catch (err) {
        return record('REFUSED', null, `the filter failed: ${(err as Error).message}`);
      }
      if (matched !== true) return;
    }
    let input: unknown = event.payload;
    if (trigger.input !== null) {
      try {
        input = await evaluateTriggerExpression(trigger.input, bound);
      } catch (err) {
        return record('REFUSED', null, `the input mapping failed: ${(err as Error).message}`);
      }
    }
    // The runs an event starts come after the event in their chain.
    const chain: ChainLink[] = [...(event.chain ?? []), { e: event.id }];
    try {
      const run = await runs.startRun(event.tenant_id, {
        definition: trigger.definition_name,
        input: input ?? undefined,
        idempotencyKey: `event:${event.id}:${trigger.id}`,
        trigger: { type: 'event', id: trigger.id, eventId: event.id },
        chain,
        refusal: { key: `event:${event.id}:${trigger.id}`, via: `event "${event.id}" (${event.type}), trigger ${trigger.id}` },
      });
      await record('STARTED', run.id, null);
    } catch (err) {
      if (err instanceof UnavailableError || err instanceof RateLimitedError || !(err instanceof TrellisError)) throw err;
      const errors = err.errors.length > 0 ? `: ${err.errors.map((e) => `${e.path} ${e.message}`).join('; ')}` : '';
      await record('REFUSED', null, `${err.message}${errors}`);
    }
  }
}
