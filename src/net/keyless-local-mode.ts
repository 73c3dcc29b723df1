import type { Kysely } from 'kysely';
import { keysRequired } from '../api/api-keys';
import type { Database } from '../db/database';

/** What besides the keys decides keyless local mode: how the API is exposed, and the mode. */
export type KeylessLocalModeSettings = {
  /** `TRELLIS_ALLOW_REMOTE`: the API serves the network, so it is not one local user's. */
  allowRemote: boolean;
  /** Off under `NODE_ENV=production`, which is never one local user's either. */
  development: boolean;
};

/**
 * Whether this deployment is `npm start`'s keyless local mode (one local user: no API key was ever
 * created, or an operator returned to keyless mode; the API served to loopback only, development
 * mode), in which steps may reach loopback without `TRELLIS_HTTP_ALLOW` (SPEC §7b). Reads the
 * persistent "keys are required" fact (see {@link keysRequired}), as the API does: revoking every
 * key does not reopen loopback. A database error answers `false` (the stricter policy).
 */
export async function isKeylessLocalMode(db: Kysely<Database>, settings: KeylessLocalModeSettings): Promise<boolean> {
  if (settings.allowRemote || !settings.development) return false;
  try {
    return !(await keysRequired(db));
  } catch {
    return false;
  }
}

/** How long {@link keylessLocalModeProbe} trusts an answer. @default 5 s */
export const KEYLESS_MODE_TTL_MS = 5_000;

/**
 * {@link isKeylessLocalMode}, asked again at most every `ttlMs`, so that creating the first key
 * closes loopback within seconds, also in a worker that runs apart from the API.
 */
export function keylessLocalModeProbe(db: Kysely<Database>, settings: KeylessLocalModeSettings, ttlMs = KEYLESS_MODE_TTL_MS): () => Promise<boolean> {
  let cached: { value: Promise<boolean>; at: number } | undefined;
  return () => {
    if (!cached || Date.now() - cached.at > ttlMs) cached = { value: isKeylessLocalMode(db, settings), at: Date.now() };
    return cached.value;
  };
}
