import path from 'node:path';
import { z } from 'zod';
import { readEnvironmentSecrets, type EnvironmentSecrets } from './secrets/environment-secrets';

const ROLES = ['all', 'api', 'worker'] as const;
export type Role = (typeof ROLES)[number];

const port = z.coerce.number().int().min(0).max(65535);

const envSchema = z.object({
  PORT: port.default(4000),
  HOST: z.string().min(1).default('127.0.0.1'),
  TRELLIS_ALLOW_REMOTE: z.enum(['true', 'false']).default('false'),
  TRELLIS_ROLE: z.enum(ROLES).default('all'),
  TRELLIS_DATA_DIR: z.string().min(1).optional(),
  TRELLIS_TASK_QUEUE: z.string().min(1).default('trellis'),
  DATABASE_URL: z.string().url().optional(),
  TEMPORAL_ADDRESS: z.string().min(1).optional(),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TEMPORAL_PORT: port.default(7233),
  TEMPORAL_UI_PORT: port.default(8233),
  TEMPORAL_UI_URL: z.string().url().optional(),
  TEMPORAL_CLI_PATH: z.string().min(1).optional(),
  TRELLIS_SECRET_KEY: z
    .string()
    .refine((text) => decodeKey(text) !== undefined, { error: 'must be 32 bytes as 64 hex digits or base64 (openssl rand -base64 32)' })
    .optional(),
  TRELLIS_STEP_TYPES: z.string().min(1).optional(),
  NODE_ENV: z.string().optional(),
});

export { SECRET_ENV_PREFIX } from './secrets/environment-secrets';

function decodeKey(text: string): Buffer | undefined {
  const key = /^[0-9a-fA-F]{64}$/.test(text) ? Buffer.from(text, 'hex') : Buffer.from(text, 'base64');
  return key.length === 32 ? key : undefined;
}

/** Process configuration, read once from the environment at start-up. */
export type Config = Readonly<{
  port: number;
  /** Interface the API listens on. @default 127.0.0.1 */
  host: string;
  /** Serve non-loopback clients while no API keys exist (SPEC §5). @default false */
  allowRemote: boolean;
  role: Role;
  /** Where embedded PostgreSQL and the embedded Temporal server keep their data. @default `<cwd>/.data` */
  dataDir: string;
  taskQueue: string;
  /** `undefined` means: start embedded PostgreSQL under `dataDir`. */
  databaseUrl: string | undefined;
  temporal: Readonly<{
    /** `undefined` means: start the embedded Temporal dev server. */
    address: string | undefined;
    namespace: string;
    port: number;
    uiPort: number;
    /** Base URL of the Temporal Web UI; derived from `uiPort` for the embedded server. */
    uiUrl: string | undefined;
    cliPath: string | undefined;
  }>;
  /** Key of the secret store (AES-256-GCM); `undefined` means: use or create `<dataDir>/secret.key`. */
  secretKey: Buffer | undefined;
  /**
   * Secrets from `TRELLIS_SECRET_<NAME>` variables, by name, each with the tenants it serves
   * (`default` unless `TRELLIS_SECRET_SCOPES` says otherwise); they serve when the tenant's store
   * has no secret of that name.
   */
  environmentSecrets: EnvironmentSecrets;
  /** Modules whose default export registers custom step types (`TRELLIS_STEP_TYPES`, comma-separated paths). */
  stepTypeModules: readonly string[];
  /**
   * Development mode: GraphQL introspection and the Apollo Sandbox on `GET /graphql`. Off only
   * when `NODE_ENV=production`. @default true
   */
  development: boolean;
}>;

/**
 * Validates the environment and returns a frozen {@link Config}. Nothing else in Trellis reads
 * `process.env`.
 * @throws Error naming every invalid variable and why.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => `  ${issue.path.join('.')}: ${issue.message}`);
    throw new Error(`Invalid configuration:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  const environment = readEnvironmentSecrets(env);
  if (environment.errors.length > 0) {
    throw new Error(`Invalid configuration:\n${environment.errors.map((error) => `  ${error}`).join('\n')}`);
  }
  const embeddedUi = e.TEMPORAL_ADDRESS ? undefined : `http://localhost:${e.TEMPORAL_UI_PORT}`;
  return Object.freeze({
    port: e.PORT,
    host: e.HOST,
    allowRemote: e.TRELLIS_ALLOW_REMOTE === 'true',
    role: e.TRELLIS_ROLE,
    dataDir: path.resolve(e.TRELLIS_DATA_DIR ?? '.data'),
    taskQueue: e.TRELLIS_TASK_QUEUE,
    databaseUrl: e.DATABASE_URL,
    temporal: Object.freeze({
      address: e.TEMPORAL_ADDRESS,
      namespace: e.TEMPORAL_NAMESPACE,
      port: e.TEMPORAL_PORT,
      uiPort: e.TEMPORAL_UI_PORT,
      uiUrl: e.TEMPORAL_UI_URL ?? embeddedUi,
      cliPath: e.TEMPORAL_CLI_PATH,
    }),
    secretKey: e.TRELLIS_SECRET_KEY === undefined ? undefined : decodeKey(e.TRELLIS_SECRET_KEY),
    environmentSecrets: environment.secrets,
    stepTypeModules: Object.freeze((e.TRELLIS_STEP_TYPES ?? '').split(',').map((item) => item.trim()).filter(Boolean).map((item) => path.resolve(item))),
    development: e.NODE_ENV !== 'production',
  });
}
