import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database, TriggerRow } from '../db/database';
import { BadUserInputError, type FieldError } from '../errors';
import { isUuid } from '../support/uuid';
import { triggerExpressionProblems } from './trigger-expression';
import { EVENT_TYPE_PATTERN, TRIGGER_LIMITS, checkCount } from './trigger-limits';
import { requireTriggerTarget } from './trigger-target';
import { countTriggers, deleteTriggerRow, insertTrigger, listTriggers } from './triggers.repository';

/** A `createTrigger` request (SPEC §7): filter and input are JSONata on `$event`. */
export type CreateTriggerRequest = { event: string; filter?: string | null; definition: string; input?: string | null };

/** Creates, lists and deletes a tenant's event triggers. */
export class TriggerService {
  constructor(private readonly db: Kysely<Database>) {}

  /**
   * @throws BadUserInputError for an invalid event type (/event), a filter or input that does not parse (/filter, /input), an archived definition; NotFoundError for an unknown definition; RateLimitedError past the limits
   */
  async create(tenantId: string, request: CreateTriggerRequest): Promise<TriggerRow> {
    const problems: FieldError[] = [];
    if (!EVENT_TYPE_PATTERN.test(request.event)) {
      problems.push({ path: '/event', message: 'must be a letter or digit, then letters, digits or _ . : / -, at most 128 characters (such as "order.created")' });
    }
    if (request.filter != null) problems.push(...triggerExpressionProblems(request.filter, '/filter'));
    if (request.input != null) problems.push(...triggerExpressionProblems(request.input, '/input'));
    if (problems.length > 0) throw new BadUserInputError('invalid trigger', problems);
    await requireTriggerTarget(this.db, tenantId, request.definition);
    checkCount(await countTriggers(this.db, tenantId), TRIGGER_LIMITS.triggersPerTenant, 'triggers', tenantId);
    checkCount(await countTriggers(this.db, tenantId, request.event), TRIGGER_LIMITS.triggersPerEventType, `triggers of event type ${request.event}`, tenantId);
    return insertTrigger(this.db, {
      id: randomUUID(),
      tenant_id: tenantId,
      event_type: request.event,
      filter: request.filter ?? null,
      definition_name: request.definition,
      input: request.input ?? null,
    });
  }

  list(tenantId: string): Promise<TriggerRow[]> {
    return listTriggers(this.db, tenantId);
  }

  /** @returns whether a trigger was deleted; false for one the tenant does not have */
  delete(tenantId: string, id: string): Promise<boolean> {
    return isUuid(id) ? deleteTriggerRow(this.db, tenantId, id.toLowerCase()) : Promise.resolve(false);
  }
}
