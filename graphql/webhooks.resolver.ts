import type { WebhookDeliveryRow, WebhookRow } from '../src/db/database';
import { BadUserInputError } from '../src/errors';
import { isUuid } from '../src/support/uuid';
import { HOOKS_PATH } from '../src/api/webhook-routes';
import { listDeliveries } from '../src/triggers/webhooks.repository';
import type { WebhookWithSecret } from '../src/triggers/webhook.service';
import type { GraphQLContext } from './context';
import { connection, decodeCursor, encodeCursor, pageSize } from './pagination';

/** A webhook's URL: `TRELLIS_PUBLIC_URL`, else the address the request reached the API at. */
export function webhookUrl(ctx: GraphQLContext, id: string): string {
  const base = ctx.services.triggers.settings.publicUrl ?? ctx.request.baseUrl ?? '';
  return `${base}${HOOKS_PATH}/${id}`;
}

const withSecret = (created: WebhookWithSecret, ctx: GraphQLContext) => ({
  id: created.row.id,
  url: webhookUrl(ctx, created.row.id),
  definition: created.row.definition_name,
  secret: created.secret,
  webhook: created.row,
});

export const webhooksResolvers = {
  Query: {
    webhooks(_: unknown, _args: unknown, ctx: GraphQLContext) {
      return ctx.webhooks.list(ctx.tenantId);
    },
    async webhookDeliveries(_: unknown, args: { webhookId: string; first?: number | null; after?: string | null }, ctx: GraphQLContext) {
      const size = pageSize(args.first);
      const webhook = await ctx.webhooks.find(ctx.tenantId, args.webhookId);
      let after: { receivedAt: Date; id: string } | undefined;
      if (args.after) {
        const [receivedAt, id] = decodeCursor(args.after, ['s', 's']) as [string, string];
        after = { receivedAt: new Date(receivedAt), id };
        if (Number.isNaN(after.receivedAt.getTime()) || !isUuid(id)) throw new BadUserInputError('invalid cursor', [{ path: '/after', message: 'is not a cursor this API returned' }]);
      }
      const rows = await listDeliveries(ctx.db, webhook.id, { after, limit: size + 1 });
      return connection(rows, size, (row) => encodeCursor(row.received_at.toISOString(), row.id), (row) => row);
    },
  },
  Mutation: {
    async createWebhook(_: unknown, args: { definition: string; input?: string | null }, ctx: GraphQLContext) {
      return withSecret(await ctx.webhooks.create(ctx.tenantId, args), ctx);
    },
    async rotateWebhookSecret(_: unknown, args: { id: string }, ctx: GraphQLContext) {
      return withSecret(await ctx.webhooks.rotate(ctx.tenantId, args.id), ctx);
    },
    deleteWebhook(_: unknown, args: { id: string }, ctx: GraphQLContext) {
      return ctx.webhooks.delete(ctx.tenantId, args.id);
    },
  },
  Webhook: {
    url: (row: WebhookRow, _: unknown, ctx: GraphQLContext) => webhookUrl(ctx, row.id),
    definition: (row: WebhookRow) => row.definition_name,
    createdAt: (row: WebhookRow) => row.created_at,
    rotatedAt: (row: WebhookRow) => row.rotated_at,
    // Only while it is still accepted.
    previousSecretExpiresAt: (row: WebhookRow) => (row.previous_expires_at && row.previous_expires_at.getTime() > Date.now() ? row.previous_expires_at : null),
  },
  WebhookDelivery: {
    receivedAt: (row: WebhookDeliveryRow) => row.received_at,
    statusCode: (row: WebhookDeliveryRow) => row.status_code,
    latencyMs: (row: WebhookDeliveryRow) => row.latency_ms,
    runId: (row: WebhookDeliveryRow) => row.run_id,
    idempotencyKey: (row: WebhookDeliveryRow) => row.idempotency_key,
  },
};
