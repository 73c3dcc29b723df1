import { createApiKey, listApiKeys, revokeApiKey } from '../src/api/api-keys';
import type { ApiKeyRow } from '../src/db/database';
import { NotFoundError, TrellisError } from '../src/errors';
import type { GraphQLContext } from './context';
import { isUuid } from './runs.resolver';

/**
 * @throws TrellisError `FORBIDDEN` unless the caller used an admin key (in keyless mode nobody
 * is: operators create a tenant's first key with `trellis keys create`)
 */
function requireAdmin(ctx: GraphQLContext): void {
  if (!ctx.caller.admin) {
    const hint = ctx.caller.keyId ? 'this key is not an admin key' : 'create a first admin key with `trellis keys create --tenant <name> --admin`';
    throw new TrellisError('FORBIDDEN', `managing API keys needs an admin key: ${hint}`);
  }
}

const keyNode = (row: ApiKeyRow) => ({
  id: row.id,
  name: row.name,
  admin: row.admin,
  prefix: row.key_prefix,
  createdAt: row.created_at,
  revokedAt: row.revoked_at,
});

export const apiKeysResolvers = {
  Query: {
    // ctx.db sees only the caller's tenant's keys (row-level security).
    async apiKeys(_: unknown, _args: unknown, ctx: GraphQLContext) {
      requireAdmin(ctx);
      return (await listApiKeys(ctx.db)).map(keyNode);
    },
  },
  Mutation: {
    async createApiKey(_: unknown, args: { name: string; admin?: boolean | null }, ctx: GraphQLContext) {
      requireAdmin(ctx);
      const { row, secret } = await createApiKey(ctx.db, ctx.tenantId, args.name, args.admin ?? false);
      return { key: keyNode(row), secret };
    },
    async revokeApiKey(_: unknown, args: { id: string }, ctx: GraphQLContext) {
      requireAdmin(ctx);
      const row = isUuid(args.id) ? await revokeApiKey(ctx.db, args.id) : undefined;
      if (!row) throw new NotFoundError(`API key "${args.id}"`);
      return keyNode(row);
    },
  },
};
