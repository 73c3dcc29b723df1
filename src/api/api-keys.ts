import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { DEFINITION_NAME_PATTERN } from '../../definition/definition-schema';
import type { ApiKeyRow, Database } from '../db/database';
import { BadUserInputError } from '../errors';

/** Every key starts so, which lets secret scanners and people recognise one. */
export const API_KEY_PREFIX = 'trk_';

/** A key as created: `secret` is shown to its owner this once and never stored. */
export type CreatedApiKey = { row: ApiKeyRow; secret: string };

/** SHA-256 of a key: keys are 256 random bits, so a fast hash suffices (no password stretching). */
export function hashApiKey(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

/**
 * Checks a tenant name: lowercase letters, digits, `-` and `_`, as definition names (tenants are
 * part of Temporal workflow ids, `<tenant>/<definition>/<run id>`).
 * @throws BadUserInputError
 */
export function checkTenantName(tenant: string): void {
  if (!DEFINITION_NAME_PATTERN.test(tenant)) {
    throw new BadUserInputError(`invalid tenant ${JSON.stringify(tenant)}`, [
      { path: '/tenant', message: 'use lowercase letters, digits, "-" or "_", starting with a letter or digit, at most 63 characters' },
    ]);
  }
}

/**
 * Creates a key of `tenant`. `db` may be the owner's database (the CLI creating a tenant's first
 * key) or the tenant's own (an admin key creating another), whose row-level security then
 * refuses any other tenant.
 */
export async function createApiKey(db: Kysely<Database>, tenant: string, name: string, admin: boolean): Promise<CreatedApiKey> {
  checkTenantName(tenant);
  if (name.trim() === '' || name.length > 100) throw new BadUserInputError('invalid key name', [{ path: '/name', message: 'must be 1 to 100 characters' }]);
  const secret = `${API_KEY_PREFIX}${randomBytes(32).toString('base64url')}`;
  const row = await db
    .insertInto('api_keys')
    .values({ id: randomUUID(), tenant_id: tenant, name, admin, key_hash: hashApiKey(secret), key_prefix: secret.slice(0, API_KEY_PREFIX.length + 6) })
    .returningAll()
    .executeTakeFirstOrThrow();
  return { row, secret };
}

/** The key that hashes to this secret's hash, unless revoked. */
export function findActiveKey(db: Kysely<Database>, secret: string): Promise<ApiKeyRow | undefined> {
  return db.selectFrom('api_keys').selectAll().where('key_hash', '=', hashApiKey(secret)).where('revoked_at', 'is', null).executeTakeFirst();
}

/** Whether any tenant has a key that is not revoked: from then on every request needs one. */
export async function anyActiveKey(db: Kysely<Database>): Promise<boolean> {
  const row = await db.selectFrom('api_keys').select('id').where('revoked_at', 'is', null).limit(1).executeTakeFirst();
  return row !== undefined;
}

/** Keys of a tenant, oldest first; revoked ones too (they show when). */
export function listApiKeys(db: Kysely<Database>, tenant?: string): Promise<ApiKeyRow[]> {
  let query = db.selectFrom('api_keys').selectAll().orderBy('created_at').orderBy('id');
  if (tenant !== undefined) query = query.where('tenant_id', '=', tenant);
  return query.execute();
}

/** Revokes a key; returns it, or undefined when `db` cannot see a key with that id. Revoking twice keeps the first time. */
export async function revokeApiKey(db: Kysely<Database>, id: string): Promise<ApiKeyRow | undefined> {
  return db
    .updateTable('api_keys')
    .set((eb) => ({ revoked_at: eb.fn.coalesce('revoked_at', eb.val(new Date())) }))
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirst();
}
