import { TrellisError } from '../errors';
import type { KeyLookups } from './api-keys';
import type { OriginPolicy } from './origin-policy';
import { resolveTenant } from './tenant';

/** Who is calling: the tenant it acts for, and the API key it used (none in keyless mode). */
export type Caller = { tenantId: string; keyId?: string; admin: boolean };

/** What authentication reads of an HTTP request or a WebSocket upgrade. */
export type AuthenticationRequest = {
  /** The `Authorization` header (graphql-ws: the `Authorization` connection parameter). */
  authorization?: string;
  remoteAddress?: string;
  /** The `Host` header: keyless mode serves only its own host names (no DNS rebinding). */
  host?: string;
  /** The `Origin` header: keyless mode serves only pages of its own or allowed origins. */
  origin?: string;
};

export type AuthenticationPolicy = {
  /** Serve non-loopback clients in keyless mode. */
  allowRemote: boolean;
  /** The `Host` and `Origin` keyless mode serves. */
  origins: OriginPolicy;
};

/**
 * Authenticates a request by its `Authorization` header (SPEC §5). A `Bearer` API key that is
 * known and not revoked acts for its tenant (read from the database after every call, the reads
 * of one turn of the event loop made as one by {@link KeyLookups}: a revoked key is refused from
 * the next request on). Without a header, and only as long as no key was ever
 * created (see {@link keysRequired}), the API is in keyless mode: loopback clients (see
 * {@link resolveTenant}) whose `Host` and `Origin` pass `policy.origins` act for tenant `default`.
 * @throws TrellisError `UNAUTHENTICATED` naming what is wrong with the key, or that one is needed;
 *   `FORBIDDEN` for a keyless request from a host name or origin keyless mode does not serve
 */
export async function authenticate(keys: KeyLookups, request: AuthenticationRequest, policy: AuthenticationPolicy): Promise<Caller> {
  const { authorization } = request;
  if (authorization !== undefined && authorization !== '') {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (!match) throw new TrellisError('UNAUTHENTICATED', 'the Authorization header must read "Bearer <API key>"');
    const key = await keys.activeKey(match[1]!);
    if (!key) throw new TrellisError('UNAUTHENTICATED', 'the API key is unknown or has been revoked');
    return { tenantId: key.tenant_id, keyId: key.id, admin: key.admin };
  }
  if (await keys.keysRequired()) {
    throw new TrellisError('UNAUTHENTICATED', 'this API needs an API key: send "Authorization: Bearer <API key>"');
  }
  const tenantId = resolveTenant(request.remoteAddress, { allowRemote: policy.allowRemote });
  const problem = policy.origins.problem(request);
  if (problem) throw new TrellisError('FORBIDDEN', problem);
  return { tenantId, admin: false };
}

/** True for the errors {@link authenticate} throws: what counts as a failed attempt. */
export function isAuthenticationFailure(err: unknown): err is TrellisError {
  return err instanceof TrellisError && (err.code === 'UNAUTHENTICATED' || err.code === 'FORBIDDEN');
}
