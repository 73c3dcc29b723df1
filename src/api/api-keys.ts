import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import { DEFINITION_NAME_PATTERN } from '../../definition/definition-schema';
import type { ApiKeyRow, Database } from '../db/database';
import { BadUserInputError } from '../errors';
import { TurnBatch } from '../support/turn-batch';

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

/** Channel of the notifications the `api_keys` trigger sends (see the api-key-events migration). */
export const API_KEYS_CHANNEL = 'trellis_api_keys';

/**
 * What the `api_keys` trigger tells every API process: a key was created, or stopped being valid
 * (revoked, deleted, or its secret, tenant or admin flag changed), or every key was truncated away.
 */
export type ApiKeyNotification =
  | { event: 'created' | 'revoked'; keyId: string; tenantId: string }
  | { event: 'truncated' };

/** Of these key ids, those that still name a key that is not revoked. */
export async function activeKeyIds(db: Kysely<Database>, ids: readonly string[]): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const rows = await db.selectFrom('api_keys').select('id').where('id', 'in', ids).where('revoked_at', 'is', null).execute();
  return new Set(rows.map((row) => row.id));
}

/**
 * Whether every request needs a key: true from the moment the first key was created, even once
 * every key is revoked or deleted (the database keeps the fact, see the api-key-events migration),
 * until an operator runs `trellis keys allow-keyless`.
 */
export async function keysRequired(db: Kysely<Database>): Promise<boolean> {
  const row = await db.selectFrom('api_key_mode').select('keys_required_since').executeTakeFirst();
  return row?.keys_required_since != null;
}

/**
 * The key lookups of authentication, batched per turn of the event loop ({@link TurnBatch}): the
 * sockets of 50 dashboards opened at once, and each of their operations, cost one query per kind
 * of lookup and turn instead of one each. Each lookup still reads after it was asked, as one of
 * its own would: a key revoked before a request arrives is refused.
 */
export class KeyLookups {
  private readonly byHash: TurnBatch<string, ApiKeyRow>;
  private readonly byId: TurnBatch<string, ApiKeyRow>;
  private readonly mode: TurnBatch<'mode', boolean>;

  constructor(db: Kysely<Database>) {
    const active = async (column: 'key_hash' | 'id', values: string[]) => {
      const rows = await db.selectFrom('api_keys').selectAll().where(column, 'in', values).where('revoked_at', 'is', null).execute();
      return new Map(rows.map((row) => [row[column], row]));
    };
    this.byHash = new TurnBatch((hashes) => active('key_hash', hashes));
    this.byId = new TurnBatch((ids) => active('id', ids));
    this.mode = new TurnBatch(async () => new Map([['mode', await keysRequired(db)]]));
  }

  /** The key this secret is, unless revoked. */
  activeKey(secret: string): Promise<ApiKeyRow | undefined> {
    return this.byHash.load(hashApiKey(secret));
  }

  /** The key with this id, unless revoked or gone: what an open socket checks before each operation. */
  activeKeyById(id: string): Promise<ApiKeyRow | undefined> {
    return this.byId.load(id);
  }

  /** {@link keysRequired}. */
  async keysRequired(): Promise<boolean> {
    return (await this.mode.load('mode')) === true;
  }
}

/**
 * Returns the API to keyless mode (loopback clients act for tenant `default`), for an operator who
 * means it. Refused while a key is active: revoke every key first.
 * @returns false when an active key exists (nothing changed)
 */
export async function allowKeyless(db: Kysely<Database>): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    // The lock keeps a key from being created between the check and the update.
    await sql`lock table api_keys in share row exclusive mode`.execute(trx);
    const active = await trx.selectFrom('api_keys').select('id').where('revoked_at', 'is', null).limit(1).executeTakeFirst();
    if (active) return false;
    await trx.updateTable('api_key_mode').set({ keys_required_since: null }).execute();
    return true;
  });
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
