import type { Insertable, Kysely } from 'kysely';
import type { Database, WebhookDeliveriesTable, WebhookDeliveryRow, WebhookRow, WebhooksTable } from '../db/database';

/** The tenant's webhooks, oldest first. */
export function listWebhooks(db: Kysely<Database>, tenantId: string): Promise<WebhookRow[]> {
  return db.selectFrom('webhooks').selectAll().where('tenant_id', '=', tenantId).orderBy('created_at').orderBy('id').execute();
}

export function findWebhook(db: Kysely<Database>, tenantId: string, id: string): Promise<WebhookRow | undefined> {
  return db.selectFrom('webhooks').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();
}

/**
 * A webhook by id whatever its tenant: what `POST /hooks/:id` looks up before it knows the
 * tenant. Only with the owner's database (row-level security hides other tenants' rows).
 */
export function findWebhookById(owner: Kysely<Database>, id: string): Promise<WebhookRow | undefined> {
  return owner.selectFrom('webhooks').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function countWebhooks(db: Kysely<Database>, tenantId: string): Promise<number> {
  const { count } = await db.selectFrom('webhooks').select((eb) => eb.fn.countAll<string>().as('count')).where('tenant_id', '=', tenantId).executeTakeFirstOrThrow();
  return Number(count);
}

export function insertWebhook(db: Kysely<Database>, row: Insertable<WebhooksTable>): Promise<WebhookRow> {
  return db.insertInto('webhooks').values(row).returningAll().executeTakeFirstOrThrow();
}

/** Replaces a webhook's secret, keeping the one it replaces until `previousExpiresAt`. */
export function rotateWebhookSecretRow(
  db: Kysely<Database>,
  tenantId: string,
  id: string,
  secret: { ciphertext: Buffer; iv: Buffer; tag: Buffer },
  previousExpiresAt: Date,
): Promise<WebhookRow | undefined> {
  return db
    .updateTable('webhooks')
    .set((eb) => ({
      previous_ciphertext: eb.ref('secret_ciphertext'),
      previous_iv: eb.ref('secret_iv'),
      previous_tag: eb.ref('secret_tag'),
      previous_expires_at: previousExpiresAt,
      secret_ciphertext: secret.ciphertext,
      secret_iv: secret.iv,
      secret_tag: secret.tag,
      rotated_at: new Date(),
    }))
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirst();
}

/** @returns whether a webhook was deleted (its deliveries go with it) */
export async function deleteWebhookRow(db: Kysely<Database>, tenantId: string, id: string): Promise<boolean> {
  const result = await db.deleteFrom('webhooks').where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
}

export async function insertDelivery(db: Kysely<Database>, row: Insertable<WebhookDeliveriesTable>): Promise<void> {
  await db.insertInto('webhook_deliveries').values(row).execute();
}

/** The run an earlier delivery of exactly this signed content started, if one did. */
export async function findRunOfSignedDelivery(db: Kysely<Database>, webhookId: string, signedDigest: string): Promise<{ deliveryId: string; runId: string } | undefined> {
  const row = await db
    .selectFrom('webhook_deliveries')
    .select(['id', 'run_id'])
    .where('webhook_id', '=', webhookId)
    .where('signed_digest', '=', signedDigest)
    .where('run_id', 'is not', null)
    .orderBy('received_at')
    .limit(1)
    .executeTakeFirst();
  return row && { deliveryId: row.id, runId: row.run_id! };
}

/** A webhook's deliveries, newest first, after the `(receivedAt, id)` keyset position `after`. */
export function listDeliveries(
  db: Kysely<Database>,
  webhookId: string,
  options: { after?: { receivedAt: Date; id: string }; limit: number },
): Promise<WebhookDeliveryRow[]> {
  let query = db.selectFrom('webhook_deliveries').selectAll().where('webhook_id', '=', webhookId).orderBy('received_at', 'desc').orderBy('id', 'desc').limit(options.limit);
  const after = options.after;
  if (after) {
    query = query.where((eb) => eb.or([eb('received_at', '<', after.receivedAt), eb.and([eb('received_at', '=', after.receivedAt), eb('id', '<', after.id)])]));
  }
  return query.execute();
}
