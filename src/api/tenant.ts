import { TrellisError } from '../errors';

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|::ffff:127\.\d+\.\d+\.\d+)$/;

/** The tenant served while no API keys exist (SPEC §5). */
export const DEFAULT_TENANT = 'default';

/**
 * The tenant a caller acts for. Until API keys exist, only loopback clients are served (as tenant
 * `default`) unless the operator explicitly opened the API, for example behind a private network.
 * @throws TrellisError `UNAUTHENTICATED` for a remote caller
 */
export function resolveTenant(remoteAddress: string | undefined, options: { allowRemote: boolean }): string {
  if (options.allowRemote || (remoteAddress !== undefined && LOOPBACK.test(remoteAddress))) return DEFAULT_TENANT;
  throw new TrellisError('UNAUTHENTICATED', 'no API keys are configured: the API serves loopback clients only (set TRELLIS_ALLOW_REMOTE=true to open it)');
}
