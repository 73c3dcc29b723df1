import { SECRET_NAME_PATTERN } from '../../definition/expression';
import { DEFINITION_NAME_PATTERN } from '../../definition/definition-schema';

/** Prefix of worker environment variables that serve as secrets (`TRELLIS_SECRET_PAY_TOKEN`). */
export const SECRET_ENV_PREFIX = 'TRELLIS_SECRET_';

/**
 * Variables under {@link SECRET_ENV_PREFIX} that configure Trellis rather than hold a secret runs
 * may read: the store's and codec's keys, and the scopes below.
 */
export const RESERVED_SECRET_VARIABLES: ReadonlySet<string> = new Set(['TRELLIS_SECRET_KEY', 'TRELLIS_SECRET_KEY_PREVIOUS', 'TRELLIS_SECRET_SCOPES']);

/** The tenant an environment secret serves unless `TRELLIS_SECRET_SCOPES` says otherwise. */
export const DEFAULT_SECRET_TENANT = 'default';

/** A secret from the worker's environment and the tenants whose runs may read it. */
export type EnvironmentSecret = Readonly<{ value: string; tenants: '*' | readonly string[] }>;

/** Environment secrets by name. */
export type EnvironmentSecrets = Readonly<Record<string, EnvironmentSecret>>;

/**
 * Reads `TRELLIS_SECRET_<NAME>` variables. Each serves tenant `default` only, unless
 * `TRELLIS_SECRET_SCOPES` names its tenants: `PAY_TOKEN=acme,globex;SHARED_TOKEN=*` (`*`: every
 * tenant). A deployment shared by tenants that do not trust each other should store secrets per
 * tenant with `setSecret` instead.
 * @returns the secrets, and a message per invalid entry (an unknown name, a bad tenant)
 */
export function readEnvironmentSecrets(env: Readonly<Record<string, string | undefined>>): { secrets: EnvironmentSecrets; errors: string[] } {
  const values = new Map<string, string>();
  for (const [variable, value] of Object.entries(env)) {
    if (!variable.startsWith(SECRET_ENV_PREFIX) || RESERVED_SECRET_VARIABLES.has(variable) || value === undefined) continue;
    values.set(variable.slice(SECRET_ENV_PREFIX.length), value);
  }
  const errors: string[] = [];
  const scopes = new Map<string, '*' | string[]>();
  for (const entry of (env.TRELLIS_SECRET_SCOPES ?? '').split(';').map((item) => item.trim()).filter(Boolean)) {
    const separator = entry.indexOf('=');
    const name = separator < 0 ? entry : entry.slice(0, separator).trim();
    const tenants = separator < 0 ? [] : entry.slice(separator + 1).split(',').map((item) => item.trim()).filter(Boolean);
    if (!SECRET_NAME_PATTERN.test(name) || !values.has(name)) {
      errors.push(`TRELLIS_SECRET_SCOPES: "${name}" is not a TRELLIS_SECRET_<NAME> variable of this process`);
      continue;
    }
    if (tenants.length === 0) {
      errors.push(`TRELLIS_SECRET_SCOPES: "${name}" names no tenants (write ${name}=tenant-a,tenant-b or ${name}=*)`);
      continue;
    }
    const bad = tenants.filter((tenant) => tenant !== '*' && !DEFINITION_NAME_PATTERN.test(tenant));
    if (bad.length > 0) errors.push(`TRELLIS_SECRET_SCOPES: "${name}" names invalid tenants ${bad.map((t) => JSON.stringify(t)).join(', ')}`);
    else scopes.set(name, tenants.includes('*') ? '*' : tenants);
  }
  const secrets: Record<string, EnvironmentSecret> = {};
  for (const [name, value] of values) {
    secrets[name] = Object.freeze({ value, tenants: scopes.get(name) ?? [DEFAULT_SECRET_TENANT] });
  }
  return { secrets: Object.freeze(secrets), errors };
}

/** The value of an environment secret for `tenantId`, or `undefined` when it does not serve that tenant. */
export function environmentSecretFor(secrets: EnvironmentSecrets, name: string, tenantId: string): string | undefined {
  const secret = Object.hasOwn(secrets, name) ? secrets[name] : undefined;
  if (!secret) return undefined;
  return secret.tenants === '*' || secret.tenants.includes(tenantId) ? secret.value : undefined;
}
