import type { Kysely } from 'kysely';
import type { Database } from '../db/database';
import { activeKeyIds, keysRequired, type ApiKeyNotification } from './api-keys';
import type { Caller } from './authenticate';

/**
 * Close codes of graphql-ws sockets the API closes itself (graphql-ws's own codes aside): 4403
 * when the socket's credentials are refused at connection or stop being valid (its key revoked,
 * or keys now required of a keyless socket); 4429 when a limit refuses the connection (too many
 * sockets of one key, too many failed authentications from one address).
 */
export const SOCKET_CLOSE_CODES = Object.freeze({ forbidden: 4403, tooManyRequests: 4429 });

/** An open graphql-ws socket, as the registry sees it. */
export type TrackedSocket = {
  /** Whom the socket acts for; refreshed at each operation. */
  caller: Caller;
  /** True once the socket is being closed: it takes no more operations. */
  readonly closing: boolean;
  /** Closes the socket with `code` and stops every subscription on it at once. */
  close(code: number, reason: string): void;
};

/** How often open sockets are checked against the database, besides notifications. */
const SWEEP_INTERVAL_MS = 5_000;
/** How long a revoked key is remembered, for a socket that authenticated just before the revocation. */
const REVOKED_MEMORY_MS = 60_000;

/** The key a caller's sockets are counted and closed by: its API key, else (keyless) its tenant. */
export function callerIdentity(caller: Caller): string {
  return caller.keyId !== undefined ? `key:${caller.keyId}` : `tenant:${caller.tenantId}`;
}

/**
 * The open graphql-ws sockets of one API process, by the key they authenticated with, so that
 * they are closed as soon as their key stops being valid:
 * - on each `api_keys` notification (see {@link ApiKeyNotification}), in every API process;
 * - after the notification connection was lost and came back (notifications may have been
 *   missed), and every {@link SWEEP_INTERVAL_MS} in case the connection died unnoticed, by
 *   looking every socket's key up again ({@link revalidate}).
 * Operations on a socket check its key in the database too (request-guard.ts), so a revoked key
 * runs nothing more even before its socket is closed.
 */
export class SocketRegistry {
  private readonly sockets = new Map<string, Set<TrackedSocket>>();
  private readonly revokedAt = new Map<string, number>();
  private sweepTimer: NodeJS.Timeout | undefined;

  constructor(private readonly db: Kysely<Database>) {}

  /** Starts the periodic check. */
  start(): void {
    this.sweepTimer ??= setInterval(() => void this.revalidate().catch(() => undefined), SWEEP_INTERVAL_MS);
    this.sweepTimer.unref();
  }

  stop(): void {
    clearInterval(this.sweepTimer);
    this.sweepTimer = undefined;
  }

  /** Open sockets of the caller's key (keyless: of its tenant). */
  count(caller: Caller): number {
    return this.sockets.get(callerIdentity(caller))?.size ?? 0;
  }

  /** Tracks an authenticated socket; closes it at once if its key was revoked meanwhile. */
  add(socket: TrackedSocket): void {
    const identity = callerIdentity(socket.caller);
    let set = this.sockets.get(identity);
    if (!set) this.sockets.set(identity, (set = new Set()));
    set.add(socket);
    // The revocation's notification may have come while the key was being looked up.
    if (socket.caller.keyId !== undefined && this.revokedAt.has(socket.caller.keyId)) {
      socket.close(SOCKET_CLOSE_CODES.forbidden, 'API key revoked');
    }
  }

  remove(socket: TrackedSocket): void {
    const identity = callerIdentity(socket.caller);
    const set = this.sockets.get(identity);
    set?.delete(socket);
    if (set?.size === 0) this.sockets.delete(identity);
  }

  /** Acts on a notification of the `api_keys` channel (its JSON payload). */
  notified(payload: string): void {
    let note: ApiKeyNotification;
    try {
      note = JSON.parse(payload) as ApiKeyNotification;
    } catch {
      return;
    }
    if (note.event === 'revoked') this.keyRevoked(note.keyId);
    else if (note.event === 'created') this.closeAll((identity) => identity.startsWith('tenant:'), 'API keys are now required');
    else if (note.event === 'truncated') this.closeAll((identity) => identity.startsWith('key:'), 'API key revoked');
  }

  /** Closes every socket of a key that is no longer valid. */
  keyRevoked(keyId: string): void {
    const now = Date.now();
    this.revokedAt.set(keyId, now);
    for (const [id, at] of this.revokedAt) if (now - at > REVOKED_MEMORY_MS) this.revokedAt.delete(id);
    this.closeAll((identity) => identity === `key:${keyId}`, 'API key revoked');
  }

  /**
   * Looks every open socket's key up again and closes the sockets whose key is revoked or gone,
   * and the keyless sockets once keys are required.
   * @throws when the database cannot be reached (the next sweep tries again)
   */
  async revalidate(): Promise<void> {
    const identities = [...this.sockets.keys()];
    const keyIds = identities.filter((identity) => identity.startsWith('key:')).map((identity) => identity.slice('key:'.length));
    if (keyIds.length > 0) {
      const active = await activeKeyIds(this.db, keyIds);
      for (const keyId of keyIds) if (!active.has(keyId)) this.keyRevoked(keyId);
    }
    if (identities.some((identity) => identity.startsWith('tenant:')) && (await keysRequired(this.db))) {
      this.closeAll((identity) => identity.startsWith('tenant:'), 'API keys are now required');
    }
  }

  private closeAll(matches: (identity: string) => boolean, reason: string): void {
    for (const [identity, set] of this.sockets) {
      if (!matches(identity)) continue;
      for (const socket of set) socket.close(SOCKET_CLOSE_CODES.forbidden, reason);
    }
  }
}
