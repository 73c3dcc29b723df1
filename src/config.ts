import path from 'node:path';
import { z } from 'zod';

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
});

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
  });
}
