import { z } from 'zod';

/** Levels of `LOG_LEVEL`, most verbose first; `silent` logs nothing. */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
/** One of {@link LOG_LEVELS}. */
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Span exporters `OTEL_TRACES_EXPORTER` may name (the OpenTelemetry specification's names). */
export const TRACE_EXPORTERS = ['otlp', 'console', 'none'] as const;
/** One of {@link TRACE_EXPORTERS}. */
export type TraceExporter = (typeof TRACE_EXPORTERS)[number];

/** The only OTLP protocol Trellis exports with (the specification's default). */
const OTLP_PROTOCOL = 'http/protobuf';

/** Secrets as `trellis keys create` makes them: `trk_` and 32 random bytes in base64url. */
const API_KEY_PATTERN = /^trk_[A-Za-z0-9_-]{43}$/;

const port = z.coerce.number().int().min(1).max(65535);

/**
 * The environment variables of deployment and observability, merged into `src/config.ts`'s
 * schema: the bootstrap admin key, the metrics listener, logs, and the standard `OTEL_*`
 * variables of traces.
 */
export const operationsEnv = {
  TRELLIS_BOOTSTRAP_ADMIN_KEY: z
    .string()
    .regex(API_KEY_PATTERN, {
      error: 'must be "trk_" followed by 43 base64url characters (32 random bytes), e.g. echo "trk_$(openssl rand -base64 32 | tr \'+/\' \'-_\' | tr -d =)"',
    })
    .optional(),
  TRELLIS_METRICS_PORT: port.optional(),
  LOG_LEVEL: z.enum(LOG_LEVELS).default('info'),
  OTEL_SDK_DISABLED: z.enum(['true', 'false']).optional(),
  OTEL_TRACES_EXPORTER: z
    .string()
    .refine((text) => list(text).every((item) => (TRACE_EXPORTERS as readonly string[]).includes(item)), {
      error: `must be a comma-separated list of ${TRACE_EXPORTERS.join(', ')} (Trellis exports no other way)`,
    })
    .optional(),
  OTEL_EXPORTER_OTLP_ENDPOINT: z.string().url().optional(),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: z.string().url().optional(),
  OTEL_EXPORTER_OTLP_PROTOCOL: z.literal(OTLP_PROTOCOL, { error: `Trellis exports OTLP as ${OTLP_PROTOCOL} only` }).optional(),
  OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: z.literal(OTLP_PROTOCOL, { error: `Trellis exports OTLP as ${OTLP_PROTOCOL} only` }).optional(),
  OTEL_SERVICE_NAME: z.string().min(1).default('trellis'),
};

type OperationsEnv = z.output<z.ZodObject<typeof operationsEnv>>;

/** Deployment and observability settings (README "Operations"). */
export type OperationsConfig = Readonly<{
  /**
   * An admin key of the operator tenant that Trellis registers at start while no API key exists
   * at all, so a fresh deployment is never keyless (`TRELLIS_BOOTSTRAP_ADMIN_KEY`). Only its hash
   * is stored. @default none
   */
  bootstrapAdminKey: string | undefined;
  /** A listener of its own serving `GET /metrics` without authentication, on `HOST` (`TRELLIS_METRICS_PORT`). @default none */
  metricsPort: number | undefined;
  /** `LOG_LEVEL`. @default 'info' */
  logLevel: LogLevel;
  /** Where spans go; `undefined` (the default) means tracing is off. */
  tracing: Readonly<{ exporters: readonly Exclude<TraceExporter, 'none'>[]; serviceName: string; otlpTracesUrl: string | undefined }> | undefined;
}>;

/** The {@link OperationsConfig} of parsed variables. */
export function operationsConfig(e: OperationsEnv): OperationsConfig {
  return Object.freeze({
    bootstrapAdminKey: e.TRELLIS_BOOTSTRAP_ADMIN_KEY,
    metricsPort: e.TRELLIS_METRICS_PORT,
    logLevel: e.LOG_LEVEL,
    tracing: tracingConfig(e),
  });
}

/**
 * Tracing is off unless asked for: `OTEL_TRACES_EXPORTER` naming an exporter, or an OTLP endpoint
 * set while `OTEL_TRACES_EXPORTER` is unset. `OTEL_SDK_DISABLED=true` turns it off whatever else says.
 */
function tracingConfig(e: OperationsEnv): OperationsConfig['tracing'] {
  if (e.OTEL_SDK_DISABLED === 'true') return undefined;
  const endpointSet = e.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT !== undefined || e.OTEL_EXPORTER_OTLP_ENDPOINT !== undefined;
  const named = e.OTEL_TRACES_EXPORTER === undefined ? (endpointSet ? ['otlp'] : []) : list(e.OTEL_TRACES_EXPORTER);
  if (named.includes('none')) return undefined;
  const exporters = [...new Set(named)] as Array<Exclude<TraceExporter, 'none'>>;
  if (exporters.length === 0) return undefined;
  // As the specification says: the signal's own endpoint is used as is, the shared one gets /v1/traces.
  const otlpTracesUrl =
    e.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ??
    (e.OTEL_EXPORTER_OTLP_ENDPOINT === undefined ? undefined : `${e.OTEL_EXPORTER_OTLP_ENDPOINT.replace(/\/+$/, '')}/v1/traces`);
  return Object.freeze({ exporters: Object.freeze(exporters), serviceName: e.OTEL_SERVICE_NAME, otlpTracesUrl });
}

function list(text: string): string[] {
  return text
    .split(',')
    .map((item) => item.trim().toLowerCase())
    .filter(Boolean);
}
