import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database, WebhookRow } from '../db/database';
import { BadUserInputError, NotFoundError } from '../errors';
import type { SealedValues } from '../secrets/sealed-values';
import { isUuid } from '../support/uuid';
import { triggerExpressionProblems } from './trigger-expression';
import { TRIGGER_LIMITS, checkCount } from './trigger-limits';
import { requireTriggerTarget } from './trigger-target';
import { newWebhookSecret } from './webhook-signature';
import { countWebhooks, deleteWebhookRow, findWebhook, insertWebhook, listWebhooks, rotateWebhookSecretRow } from './webhooks.repository';

/** What a webhook's secret is bound to when sealed: a sealed secret opens only on its own row. */
export function webhookSecretContext(webhook: Pick<WebhookRow, 'tenant_id' | 'id'>): string {
  return `webhook/${webhook.tenant_id}/${webhook.id}`;
}

/**
 * The secrets a delivery to `webhook` may be signed with at `now`: its secret, and the one before
 * its last rotation until that one expires.
 */
export function acceptedSecrets(webhook: WebhookRow, sealed: SealedValues, now: Date): string[] {
  const context = webhookSecretContext(webhook);
  const secrets = [sealed.open(context, { ciphertext: webhook.secret_ciphertext, iv: webhook.secret_iv, tag: webhook.secret_tag }).value];
  const { previous_ciphertext: ciphertext, previous_iv: iv, previous_tag: tag, previous_expires_at: expires } = webhook;
  if (ciphertext && iv && tag && expires && expires.getTime() > now.getTime()) secrets.push(sealed.open(context, { ciphertext, iv, tag }).value);
  return secrets;
}

/** A webhook and its secret, as `createWebhook` and `rotateWebhookSecret` answer (the only time the secret is shown). */
export type WebhookWithSecret = { row: WebhookRow; secret: string };

export type WebhookServiceOptions = {
  /** The tenant's database (row-level security). */
  db: Kysely<Database>;
  sealed: SealedValues;
  /** How long the previous secret keeps working after a rotation. */
  secretOverlapMs: number;
};

/** Creates, lists, rotates and deletes a tenant's webhooks (SPEC §6). */
export class WebhookService {
  constructor(private readonly options: WebhookServiceOptions) {}

  /**
   * Creates a webhook that starts runs of `definition`; its secret is returned this once.
   * @param input JSONata on `$body` giving the run's input; the body itself when omitted
   * @throws NotFoundError for an unknown definition; BadUserInputError for an archived one or an invalid `input` (at /input); RateLimitedError past the tenant's webhooks
   */
  async create(tenantId: string, request: { definition: string; input?: string | null }): Promise<WebhookWithSecret> {
    const { db, sealed } = this.options;
    const problems = request.input == null ? [] : triggerExpressionProblems(request.input, '/input');
    if (problems.length > 0) throw new BadUserInputError('invalid webhook input mapping', problems);
    await requireTriggerTarget(db, tenantId, request.definition);
    checkCount(await countWebhooks(db, tenantId), TRIGGER_LIMITS.webhooksPerTenant, 'webhooks', tenantId);
    const id = randomUUID();
    const secret = newWebhookSecret();
    const sealedSecret = sealed.seal(webhookSecretContext({ tenant_id: tenantId, id }), secret);
    const row = await insertWebhook(db, {
      id,
      tenant_id: tenantId,
      definition_name: request.definition,
      input: request.input ?? null,
      secret_ciphertext: sealedSecret.ciphertext,
      secret_iv: sealedSecret.iv,
      secret_tag: sealedSecret.tag,
    });
    return { row, secret };
  }

  list(tenantId: string): Promise<WebhookRow[]> {
    return listWebhooks(this.options.db, tenantId);
  }

  /** @throws NotFoundError when the tenant has no such webhook */
  async find(tenantId: string, id: string): Promise<WebhookRow> {
    const row = isUuid(id) ? await findWebhook(this.options.db, tenantId, id) : undefined;
    if (!row) throw new NotFoundError(`webhook "${id}"`);
    return row;
  }

  /**
   * Gives a webhook a new secret, returned this once. The secret it replaces keeps working for
   * the overlap period (`TRELLIS_WEBHOOK_SECRET_OVERLAP`), so senders can switch without losing
   * deliveries; a second rotation within it ends the first secret's overlap at once.
   * @throws NotFoundError when the tenant has no such webhook
   */
  async rotate(tenantId: string, id: string): Promise<WebhookWithSecret> {
    const { db, sealed, secretOverlapMs } = this.options;
    await this.find(tenantId, id);
    const secret = newWebhookSecret();
    const sealedSecret = sealed.seal(webhookSecretContext({ tenant_id: tenantId, id }), secret);
    const row = await rotateWebhookSecretRow(db, tenantId, id, sealedSecret, new Date(Date.now() + secretOverlapMs));
    if (!row) throw new NotFoundError(`webhook "${id}"`);
    return { row, secret };
  }

  /** @returns whether a webhook was deleted (with its deliveries); false for one the tenant does not have */
  delete(tenantId: string, id: string): Promise<boolean> {
    return isUuid(id) ? deleteWebhookRow(this.options.db, tenantId, id) : Promise.resolve(false);
  }
}
