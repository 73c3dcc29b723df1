import { randomUUID } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import type { Database } from '../db/database';
import { API_KEY_PREFIX, checkTenantName, hashApiKey } from './api-keys';

/** What {@link registerBootstrapAdminKey} found and did. */
export const BOOTSTRAP_OUTCOMES = ['registered', 'present', 'revoked', 'other-keys'] as const;
/** One of {@link BOOTSTRAP_OUTCOMES}. */
export type BootstrapOutcome = (typeof BOOTSTRAP_OUTCOMES)[number];

/** The name the bootstrap key is stored under (`trellis keys list` shows it). */
export const BOOTSTRAP_KEY_NAME = 'bootstrap';

/**
 * Registers `secret` (`TRELLIS_BOOTSTRAP_ADMIN_KEY`) as an admin key of `tenant` (the operator
 * tenant) when the database holds no API key at all, so that a deployment is never keyless: the
 * first key exists before any API process listens. Only the key's SHA-256 is stored.
 *
 * Idempotent, also when several processes start together: each runs this in a transaction that
 * first takes the lock `allowKeyless` takes (`share row exclusive` on `api_keys`, which conflicts
 * with itself), so one registers and the others then find it.
 *
 * Nothing is changed when the key is already there (`present`), when it was revoked (`revoked`:
 * a revoked bootstrap key is never brought back), or when other keys exist (`other-keys`: the
 * operator manages keys from then on, and the bootstrap key may be removed from the environment).
 * @throws BadUserInputError when `tenant` is not a valid tenant name
 */
export async function registerBootstrapAdminKey(db: Kysely<Database>, secret: string, tenant: string): Promise<BootstrapOutcome> {
  checkTenantName(tenant);
  const hash = hashApiKey(secret);
  return db.transaction().execute(async (trx) => {
    await sql`lock table api_keys in share row exclusive mode`.execute(trx);
    const same = await trx.selectFrom('api_keys').select('revoked_at').where('key_hash', '=', hash).executeTakeFirst();
    if (same) return same.revoked_at === null ? 'present' : 'revoked';
    const other = await trx.selectFrom('api_keys').select('id').limit(1).executeTakeFirst();
    if (other) return 'other-keys';
    await trx
      .insertInto('api_keys')
      .values({ id: randomUUID(), tenant_id: tenant, name: BOOTSTRAP_KEY_NAME, admin: true, key_hash: hash, key_prefix: secret.slice(0, API_KEY_PREFIX.length + 6) })
      .execute();
    return 'registered';
  });
}

/** A line for the start-up log saying what {@link registerBootstrapAdminKey} did. */
export function describeBootstrapOutcome(outcome: BootstrapOutcome, tenant: string): string {
  switch (outcome) {
    case 'registered':
      return `TRELLIS_BOOTSTRAP_ADMIN_KEY registered as an admin key of the operator tenant "${tenant}"`;
    case 'present':
      return `TRELLIS_BOOTSTRAP_ADMIN_KEY is an admin key of the operator tenant "${tenant}"`;
    case 'revoked':
      return 'warning: TRELLIS_BOOTSTRAP_ADMIN_KEY was revoked and stays revoked; remove it from the environment';
    case 'other-keys':
      return 'TRELLIS_BOOTSTRAP_ADMIN_KEY not registered: API keys already exist';
  }
}
