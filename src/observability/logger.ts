import { createRequire } from 'node:module';
import pino, { type DestinationStream, type Logger } from 'pino';
import type { LogLevel } from '../operations-config';

/** Options of {@link configureLogger}. */
export type LoggerOptions = {
  /** `LOG_LEVEL`. @default 'info' */
  level?: LogLevel;
  /**
   * Human-readable lines (pino-pretty, a devDependency) instead of JSON, when it is installed.
   * @default false
   */
  pretty?: boolean;
  /** Where lines go (tests capture them). @default standard output */
  destination?: DestinationStream;
};

/**
 * The process's structured logger: one JSON object per line (`level`, `time`, `msg`, and the
 * ids known where the event happened: `tenantId`, `runId`, `stepId`…). Every part of Trellis logs
 * through it (the Temporal SDK's logger, Fastify's and Apollo's unexpected errors, the audit
 * sink), so one `LOG_LEVEL` rules them all. JSON at `info` until {@link configureLogger} is called.
 */
export let logger: Logger = pino({ level: 'info', base: undefined });
let configured = false;

/** Whether {@link configureLogger} was called in this process. */
export function loggerConfigured(): boolean {
  return configured;
}

/**
 * Replaces {@link logger}: `src/main.ts` calls it once at start, with `LOG_LEVEL` and pretty
 * output in development when standard output is a terminal.
 */
export function configureLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? 'info';
  const destination = options.destination ?? (options.pretty ? prettyStream() : undefined);
  logger = pino({ level, base: undefined }, destination ?? pino.destination({ sync: true }));
  configured = true;
  return logger;
}

/** pino-pretty when it is installed (a devDependency: production images have none). */
function prettyStream(): DestinationStream | undefined {
  try {
    const pretty = createRequire(__filename)('pino-pretty') as (options: Record<string, unknown>) => DestinationStream;
    return pretty({ colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname', sync: true });
  } catch {
    return undefined;
  }
}

/**
 * How an error is logged: its class, code and message, and its stack only when `fault` (a fault of
 * Trellis's own, worth a developer's time). Business failures (a target's 409, a step's
 * expression error) are not faults: their message says everything.
 */
export function errorFields(err: unknown, fault: boolean): Record<string, unknown> {
  // Errors from Temporal's workflow sandbox belong to another realm: not `instanceof Error` here.
  const isError = err instanceof Error || (typeof err === 'object' && err !== null && typeof (err as Error).message === 'string');
  if (!isError) return { error: { message: String(err) } };
  const error = err as Error & { code?: unknown; type?: unknown };
  return {
    error: {
      name: error.name,
      ...(typeof error.type === 'string' ? { type: error.type } : {}),
      ...(typeof error.code === 'string' || typeof error.code === 'number' ? { code: error.code } : {}),
      message: error.message,
      ...(fault && typeof error.stack === 'string' ? { stack: error.stack } : {}),
    },
  };
}
