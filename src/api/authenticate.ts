import type { Kysely } from 'kysely';
import type { Database } from '../db/database';
import { TrellisError } from '../errors';
import { anyActiveKey, findActiveKey } from './api-keys';
import { resolveTenant } from './tenant';

/** Who is calling: the tenant it acts for, and the API key it used (none in keyless mode). */
export type Caller = { tenantId: string; keyId?: string; admin: boolean };

/**
 * Authenticates a request by its `Authorization` header (SPEC §5). A `Bearer` API key that is
 * known and not revoked acts for its tenant. Without a header, and while no key exists at all,
 * loopback clients act for tenant `default` (see {@link resolveTenant}); once a key exists,
 * every request needs one.
 * @throws TrellisError `UNAUTHENTICATED` naming what is wrong
 */
export async function authenticate(
  db: Kysely<Database>,
  authorization: string | undefined,
  remoteAddress: string | undefined,
  options: { allowRemote: boolean },
): Promise<Caller> {
  if (authorization !== undefined && authorization !== '') {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (!match) throw new TrellisError('UNAUTHENTICATED', 'the Authorization header must read "Bearer <API key>"');
    const key = await findActiveKey(db, match[1]!);
    if (!key) throw new TrellisError('UNAUTHENTICATED', 'the API key is unknown or has been revoked');
    return { tenantId: key.tenant_id, keyId: key.id, admin: key.admin };
  }
  if (await anyActiveKey(db)) {
    throw new TrellisError('UNAUTHENTICATED', 'this API needs an API key: send "Authorization: Bearer <API key>"');
  }
  return { tenantId: resolveTenant(remoteAddress, options), admin: false };
}
