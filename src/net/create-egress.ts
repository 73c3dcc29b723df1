import type { Kysely } from 'kysely';
import type { Config } from '../config';
import type { Database } from '../db/database';
import { EgressPolicy } from './egress-policy';
import { createGuardedFetch, type GuardedFetch } from './guarded-fetch';
import { endpointOfUrl, InfrastructureEndpoints, type InfrastructureEndpoint } from './infrastructure-endpoints';
import { keylessLocalModeProbe } from './keyless-local-mode';

/** PostgreSQL's port when a URL names none. */
const POSTGRES_PORT = 5432;

/** A worker's outbound HTTP: the policy, the client that enforces it, and the endpoints it protects. */
export type Egress = { policy: EgressPolicy; fetch: GuardedFetch; infrastructure: InfrastructureEndpoints };

/**
 * Builds a worker's egress policy and client (SPEC §7b) from the configuration and what the
 * process knows of Trellis's infrastructure: the Temporal endpoints it connects to or started,
 * the database, and the API (`HOST`/`PORT` from the configuration, which a worker-only process
 * shares with the API on the same machine; an API on another host is out of its sight and must
 * be kept apart by the network). Add endpoints learnt later (an API on a port picked at start)
 * with `infrastructure.add`.
 */
export function createEgress(options: {
  config: Config;
  db: Kysely<Database>;
  databaseUrl: string;
  temporal: readonly InfrastructureEndpoint[];
}): Egress {
  const { config } = options;
  const infrastructure = new InfrastructureEndpoints();
  for (const endpoint of options.temporal) infrastructure.add(endpoint);
  const database = endpointOfUrl('PostgreSQL', options.databaseUrl, POSTGRES_PORT);
  if (database) infrastructure.add(database);
  infrastructure.add({ name: 'Trellis API', host: config.host, port: config.port });
  const policy = new EgressPolicy({
    allowList: config.httpAllow,
    loopbackByDefault: keylessLocalModeProbe(options.db, { allowRemote: config.allowRemote, development: config.development }),
    infrastructure,
  });
  return { policy, fetch: createGuardedFetch(policy), infrastructure };
}
