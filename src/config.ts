import path from 'node:path';
import { z } from 'zod';
import { TASK_QUEUE_PATTERN, type TaskQueuePolicy } from '../definition/task-queues';
import { DEFINITION_NAME_PATTERN } from '../definition/definition-schema';
import { parseDuration } from '../definition/duration';
import { parseEgressAllowList, type EgressAllowList } from './net/egress-allow-list';
import { readEnvironmentSecrets, type EnvironmentSecrets } from './secrets/environment-secrets';
import { operationsConfig, operationsEnv, type OperationsConfig } from './operations-config';
import { codeLimitsFrom, codeStepEnv, type CodeLimits } from './code-steps/code-limits';
import { workerTuningConfig, workerTuningEnv, type WorkerTuning } from './worker-tuning-config';

const ROLES = ['all', 'api', 'worker'] as const;
export type Role = (typeof ROLES)[number];

const port = z.coerce.number().int().min(0).max(65535);

const HOUR_MS = 3_600_000;

/** A duration variable (`"5m"`, `"24h"`, `"PT30S"`, see parseDuration), read as milliseconds between `minMs` and `maxMs`; `"0"` when `minMs` is 0. */
function duration(fallback: string, minMs: number, maxMs: number) {
  return z
    .string()
    .default(fallback)
    .transform((text, context) => {
      const ms = text.trim() === '0' ? 0 : parseDuration(text.trim());
      if (ms === undefined || ms < minMs || ms > maxMs) {
        context.addIssue({ code: 'custom', message: `must be a duration such as "90s", "5m" or "24h" from ${minMs} ms to ${maxMs / HOUR_MS} h, got ${JSON.stringify(text)}` });
        return z.NEVER;
      }
      return ms;
    });
}

/** A comma-separated list of task queue names (see TASK_QUEUE_PATTERN). */
const queueList = z.string().superRefine((text, context) => {
  const names = splitList(text);
  if (names.length === 0) context.addIssue({ code: 'custom', message: 'must list at least one task queue' });
  for (const name of names) if (!TASK_QUEUE_PATTERN.test(name)) context.addIssue({ code: 'custom', message: `invalid task queue "${name}": a letter or digit, then letters, digits, ".", "_" or "-", at most 100 characters` });
});

function splitList(text: string): string[] {
  return text.split(',').map((item) => item.trim()).filter(Boolean);
}

/**
 * `TRELLIS_STEP_QUEUES`: `type=queue` pairs, comma-separated (`code=trellis-code,send-email=mail`).
 * @returns the map, and every problem found (a pair without `=`, an invalid queue, a type twice)
 */
export function parseStepQueues(text: string): { byStepType: Record<string, string>; errors: string[] } {
  const byStepType: Record<string, string> = {};
  const errors: string[] = [];
  for (const pair of splitList(text)) {
    const [type = '', queue = '', ...rest] = pair.split('=').map((part) => part.trim());
    if (type === '' || queue === '' || rest.length > 0) errors.push(`"${pair}" is not <step type>=<task queue>`);
    else if (!TASK_QUEUE_PATTERN.test(queue)) errors.push(`invalid task queue "${queue}" for step type "${type}"`);
    else if (Object.hasOwn(byStepType, type)) errors.push(`step type "${type}" is given two queues`);
    else Object.defineProperty(byStepType, type, { value: queue, enumerable: true });
  }
  return { byStepType, errors };
}

const envSchema = z.object({
  PORT: port.default(4000),
  HOST: z.string().min(1).default('127.0.0.1'),
  TRELLIS_ALLOW_REMOTE: z.enum(['true', 'false']).default('false'),
  TRELLIS_ROLE: z.enum(ROLES).default('all'),
  TRELLIS_DATA_DIR: z.string().min(1).optional(),
  TRELLIS_TASK_QUEUE: z.string().min(1).default('trellis'),
  TRELLIS_TASK_QUEUES: queueList.optional(),
  TRELLIS_TASK_QUEUES_ALLOWED: queueList.optional(),
  TRELLIS_STEP_QUEUES: z
    .string()
    .superRefine((text, context) => {
      for (const message of parseStepQueues(text).errors) context.addIssue({ code: 'custom', message });
    })
    .optional(),
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
  TRELLIS_SECRET_KEY_PREVIOUS: z
    .string()
    .refine((text) => text.split(',').every((item) => decodeKey(item.trim()) !== undefined), {
      error: 'must be a comma-separated list of 32-byte keys, each 64 hex digits or base64',
    })
    .optional(),
  TRELLIS_OPERATOR_TENANT: z.string().regex(DEFINITION_NAME_PATTERN, { error: 'must be a tenant name (lowercase letters, digits, "-", "_")' }).optional(),
  TRELLIS_STEP_TYPES: z.string().min(1).optional(),
  TRELLIS_HTTP_ALLOW: z
    .string()
    .superRefine((text, context) => {
      for (const message of parseEgressAllowList(text).errors) context.addIssue({ code: 'custom', message });
    })
    .optional(),
  NODE_ENV: z.string().optional(),
  TRELLIS_ALLOWED_HOSTS: z
    .string()
    .refine((text) => everyItem(text, HOST_PATTERN), { error: 'must be "*" or comma-separated host[:port] values (example.com:4000, [::1]:4000)' })
    .optional(),
  TRELLIS_ALLOWED_ORIGINS: z
    .string()
    .refine((text) => everyItem(text, ORIGIN_PATTERN), { error: 'must be "*" or comma-separated origins, scheme://host[:port] without a path (https://dash.example)' })
    .optional(),
  TRELLIS_RATE_LIMIT: z.coerce.number().min(0).max(1_000_000).default(100),
  TRELLIS_RATE_LIMIT_BURST: z.coerce.number().int().min(1).max(10_000_000).default(1000),
  TRELLIS_AUTH_FAILURES_PER_MINUTE: z.coerce.number().int().min(1).max(1_000_000).default(60),
  TRELLIS_MAX_SUBSCRIPTIONS_PER_SOCKET: z.coerce.number().int().min(1).max(100_000).default(100),
  TRELLIS_MAX_SOCKETS_PER_KEY: z.coerce.number().int().min(1).max(100_000).default(100),
  TRELLIS_MAX_RUNS_IN_FLIGHT: z.coerce.number().int().min(1).max(10_000_000).default(1000),
  TRELLIS_RECONCILE_INTERVAL: interval(100, 60_000).default(1_000),
  TRELLIS_RECONCILE_SWEEP_INTERVAL: interval(1_000, 24 * 3_600_000).default(30_000),
  TRELLIS_RETENTION_DAYS: z.coerce.number().int().min(0).max(36_500).default(0),
  TRELLIS_RETENTION_BATCH_SIZE: z.coerce.number().int().min(1).max(100_000).default(10_000),
  TRELLIS_PUBLIC_URL: z
    .string()
    .regex(/^https?:\/\/[^/?#]+(\/[^?#]*)?$/, { error: 'must be an http(s) URL without a query, such as https://trellis.example.com' })
    .optional(),
  TRELLIS_WEBHOOK_TOLERANCE: duration('5m', 1_000, 24 * HOUR_MS),
  TRELLIS_WEBHOOK_SECRET_OVERLAP: duration('24h', 0, 30 * 24 * HOUR_MS),
  TRELLIS_WEBHOOK_MAX_BODY_BYTES: z.coerce.number().int().min(1024).max(64 * 1024 * 1024).default(1024 * 1024),
  TRELLIS_WEBHOOK_RATE_LIMIT: z.coerce.number().min(0).max(1_000_000).default(100),
  TRELLIS_WEBHOOK_RATE_LIMIT_BURST: z.coerce.number().int().min(1).max(10_000_000).default(1000),
  TRELLIS_TRIGGER_CHAIN_LIMIT: z.coerce.number().int().min(1).max(64).default(8),
  TRELLIS_START_TIMEOUT: duration('5s', 100, 10 * 60 * 1000),
  TRELLIS_EVENT_RETRY_INTERVAL: duration('2s', 100, HOUR_MS),
  ...operationsEnv,
  ...codeStepEnv,
  ...workerTuningEnv,
});

/** A duration ("500ms", "2s", "1m") between `min` and `max` milliseconds, read as milliseconds. */
function interval(min: number, max: number) {
  return z.string().transform((text, context) => {
    const ms = parseDuration(text);
    if (ms === undefined || ms < min || ms > max) {
      context.addIssue({ code: 'custom', message: `must be a duration from ${min} ms to ${max / 1000} s, such as "2s" or "500ms"` });
      return z.NEVER;
    }
    return ms;
  });
}

const HOST_PATTERN = /^([a-z0-9-]+(\.[a-z0-9-]+)*|\[[0-9a-f:.]+\])(:\d{1,5})?$/i;
const ORIGIN_PATTERN = /^https?:\/\/([a-z0-9-]+(\.[a-z0-9-]+)*|\[[0-9a-f:.]+\])(:\d{1,5})?$/i;

function everyItem(text: string, pattern: RegExp): boolean {
  const items = text.split(',').map((item) => item.trim()).filter(Boolean);
  return (items.length === 1 && items[0] === '*') || items.every((item) => pattern.test(item));
}

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
  /**
   * The queues this process's worker polls (`TRELLIS_TASK_QUEUES`): activities on each, and
   * workflow tasks only when the list holds `taskQueue`. @default [taskQueue]
   */
  workerQueues: readonly string[];
  /** Which queues steps may name and where step types run (`TRELLIS_TASK_QUEUES_ALLOWED`, `TRELLIS_STEP_QUEUES`). */
  taskQueues: TaskQueuePolicy;
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
   * Earlier values of `TRELLIS_SECRET_KEY`, still accepted for decryption (Temporal payloads and
   * stored secrets written before a rotation). @default []
   */
  previousSecretKeys: readonly Buffer[];
  /**
   * Tenant whose admin API keys are operators: once API keys exist, only they may use the codec
   * endpoint, which decodes every tenant's payloads. `undefined`: nobody may, once keys exist.
   */
  operatorTenant: string | undefined;
  /**
   * Secrets from `TRELLIS_SECRET_<NAME>` variables, by name, each with the tenants it serves
   * (`default` unless `TRELLIS_SECRET_SCOPES` says otherwise); they serve when the tenant's store
   * has no secret of that name.
   */
  environmentSecrets: EnvironmentSecrets;
  /**
   * What steps may reach besides public addresses (`TRELLIS_HTTP_ALLOW`: hosts, `*.suffix`,
   * addresses, CIDRs). `undefined` when unset: then loopback is allowed in keyless local mode
   * only (SPEC §7b).
   */
  httpAllow: EgressAllowList | undefined;
  /** Modules whose default export registers custom step types (`TRELLIS_STEP_TYPES`, comma-separated paths). */
  stepTypeModules: readonly string[];
  /**
   * Development mode: GraphQL introspection and the GraphQL explorer on `GET /graphql`. Off only
   * when `NODE_ENV=production`. @default true
   */
  development: boolean;
  /**
   * `Host` values keyless mode serves (`TRELLIS_ALLOWED_HOSTS`, comma-separated `host[:port]`);
   * `undefined` means `localhost`, `127.0.0.1` and `[::1]` at the API's port; `'*'` means any.
   */
  allowedHosts: readonly string[] | '*' | undefined;
  /**
   * `Origin` values keyless mode serves besides the API's own origin (`TRELLIS_ALLOWED_ORIGINS`,
   * comma-separated `scheme://host[:port]`); `'*'` means any. @default none
   */
  allowedOrigins: readonly string[] | '*';
  /** Abuse limits of the API (README "Limits"). */
  limits: Readonly<ApiLimits>;
  /** How Trellis keeps runs in step with Temporal (see `TemporalReconciler`). */
  reconcile: Readonly<{
    /** How often the leading process asks Temporal which runs ended outside Trellis. @default 1000 ms */
    intervalMs: number;
    /** How often it compares every run in flight with what Temporal runs (finds deleted workflows). @default 30000 ms */
    sweepIntervalMs: number;
  }>;
  /** Deletion of finished runs (see `registerRetentionSchedule`). */
  retention: Readonly<{
    /** Finished runs older than this many days are deleted, with their events and steps; 0 keeps everything. @default 0 */
    days: number;
    /** Rows one delete statement removes at most (one bounded transaction). @default 10000 */
    batchSize: number;
  }>;
  /** Webhooks, event triggers and schedules (README "Triggers"). */
  triggers: Readonly<TriggerSettings>;
  /** Hard limits of one execution of a code step (README "Code steps"). */
  codeLimits: Readonly<CodeLimits>;
  /** Temporal's levers: eager start and dispatch, worker slots, the sticky cache (README "Performance"). */
  workerTuning: WorkerTuning;
}> &
  OperationsConfig;

/** How triggers behave (README "Triggers", "Configuration"). */
export type TriggerSettings = {
  /**
   * The base URL senders reach the API at, for webhook URLs (`<publicUrl>/hooks/<id>`);
   * `undefined`: the `Host` of the request that creates or lists the webhook.
   */
  publicUrl: string | undefined;
  /** How far a webhook signature's timestamp may be from now, either way. @default 5 minutes */
  webhookToleranceMs: number;
  /** How long a webhook's previous secret keeps working after a rotation. @default 24 hours */
  secretOverlapMs: number;
  /** The largest webhook body read. @default 1 MiB */
  webhookMaxBodyBytes: number;
  /** Deliveries per second one webhook takes, per API process; 0 turns the limit off. @default 100 */
  webhookRatePerSecond: number;
  /** Deliveries one webhook may receive at once. @default 1000 */
  webhookRateBurst: number;
  /** Runs a chain may hold before a trigger refuses to add one more (loop prevention). @default 8 */
  chainLimit: number;
  /** How long starting a run waits for Temporal before the trigger answers UNAVAILABLE (503). @default 5 s */
  startTimeoutMs: number;
  /** How often the event dispatcher looks for events whose runs could not all be started yet. @default 2 s */
  eventRetryIntervalMs: number;
};

/** What one caller may ask of an API process (README "Limits"). */
export type ApiLimits = {
  /** Tokens per second a key (keyless: the tenant) gets back; 0 turns rate limiting off. @default 100 */
  ratePerSecond: number;
  /** Tokens a key may spend at once. @default 1000 */
  rateBurst: number;
  /** Failed authentications a client address may make per minute (and at once). @default 60 */
  authFailuresPerMinute: number;
  /** Operations in progress on one graphql-ws socket (subscriptions, and queries not yet answered). @default 100 */
  subscriptionsPerSocket: number;
  /** Open graphql-ws sockets per key (keyless: per tenant) in one API process. @default 100 */
  socketsPerKey: number;
  /** Runs a tenant may have RUNNING or COMPENSATING at once; starting one more is refused. @default 1000 */
  runsInFlight: number;
};

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
  if (e.NODE_ENV === 'production' && e.TRELLIS_SECRET_KEY === undefined) {
    throw new Error(
      'Invalid configuration:\n  TRELLIS_SECRET_KEY: required when NODE_ENV=production (32 bytes, e.g. `openssl rand -base64 32`); ' +
        'it encrypts stored secrets and Temporal payloads, and every API and worker process needs the same one',
    );
  }
  const operations = operationsConfig(e);
  if (operations.bootstrapAdminKey !== undefined && e.TRELLIS_OPERATOR_TENANT === undefined) {
    throw new Error('Invalid configuration:\n  TRELLIS_BOOTSTRAP_ADMIN_KEY: needs TRELLIS_OPERATOR_TENANT, the tenant the key is an admin key of');
  }
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
    workerQueues: Object.freeze(e.TRELLIS_TASK_QUEUES === undefined ? [e.TRELLIS_TASK_QUEUE] : [...new Set(splitList(e.TRELLIS_TASK_QUEUES))]),
    taskQueues: Object.freeze({
      allowed: Object.freeze(splitList(e.TRELLIS_TASK_QUEUES_ALLOWED ?? '')),
      byStepType: Object.freeze(parseStepQueues(e.TRELLIS_STEP_QUEUES ?? '').byStepType),
    }),
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
    previousSecretKeys: Object.freeze(
      (e.TRELLIS_SECRET_KEY_PREVIOUS ?? '').split(',').map((item) => item.trim()).filter(Boolean).map((item) => decodeKey(item)!),
    ),
    operatorTenant: e.TRELLIS_OPERATOR_TENANT,
    environmentSecrets: environment.secrets,
    httpAllow: e.TRELLIS_HTTP_ALLOW === undefined ? undefined : parseEgressAllowList(e.TRELLIS_HTTP_ALLOW).allowList,
    stepTypeModules: Object.freeze((e.TRELLIS_STEP_TYPES ?? '').split(',').map((item) => item.trim()).filter(Boolean).map((item) => path.resolve(item))),
    development: e.NODE_ENV !== 'production',
    allowedHosts: e.TRELLIS_ALLOWED_HOSTS === undefined ? undefined : listOrAny(e.TRELLIS_ALLOWED_HOSTS),
    allowedOrigins: listOrAny(e.TRELLIS_ALLOWED_ORIGINS ?? ''),
    limits: Object.freeze({
      ratePerSecond: e.TRELLIS_RATE_LIMIT,
      rateBurst: e.TRELLIS_RATE_LIMIT_BURST,
      authFailuresPerMinute: e.TRELLIS_AUTH_FAILURES_PER_MINUTE,
      subscriptionsPerSocket: e.TRELLIS_MAX_SUBSCRIPTIONS_PER_SOCKET,
      socketsPerKey: e.TRELLIS_MAX_SOCKETS_PER_KEY,
      runsInFlight: e.TRELLIS_MAX_RUNS_IN_FLIGHT,
    }),
    reconcile: Object.freeze({ intervalMs: e.TRELLIS_RECONCILE_INTERVAL, sweepIntervalMs: e.TRELLIS_RECONCILE_SWEEP_INTERVAL }),
    retention: Object.freeze({ days: e.TRELLIS_RETENTION_DAYS, batchSize: e.TRELLIS_RETENTION_BATCH_SIZE }),
    triggers: Object.freeze({
      publicUrl: e.TRELLIS_PUBLIC_URL?.replace(/\/+$/, ''),
      webhookToleranceMs: e.TRELLIS_WEBHOOK_TOLERANCE,
      secretOverlapMs: e.TRELLIS_WEBHOOK_SECRET_OVERLAP,
      webhookMaxBodyBytes: e.TRELLIS_WEBHOOK_MAX_BODY_BYTES,
      webhookRatePerSecond: e.TRELLIS_WEBHOOK_RATE_LIMIT,
      webhookRateBurst: e.TRELLIS_WEBHOOK_RATE_LIMIT_BURST,
      chainLimit: e.TRELLIS_TRIGGER_CHAIN_LIMIT,
      startTimeoutMs: e.TRELLIS_START_TIMEOUT,
      eventRetryIntervalMs: e.TRELLIS_EVENT_RETRY_INTERVAL,
    }),
    codeLimits: codeLimitsFrom(e),
    workerTuning: workerTuningConfig(e),
    ...operations,
  });
}

/** A comma-separated list, lowercased, or `'*'` (alone) for anything. */
function listOrAny(text: string): readonly string[] | '*' {
  const items = text.split(',').map((item) => item.trim().toLowerCase()).filter(Boolean);
  return items.length === 1 && items[0] === '*' ? '*' : Object.freeze(items);
}
