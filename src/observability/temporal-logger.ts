import { ApplicationFailure, CancelledFailure, type LogLevel, type LogMetadata, type Logger } from '@temporalio/common';
import { errorFields, logger } from './logger';

const PINO_LEVELS = { TRACE: 'trace', DEBUG: 'debug', INFO: 'info', WARN: 'warn', ERROR: 'error' } as const;
const SEVERITY = { TRACE: 0, DEBUG: 1, INFO: 2, WARN: 3, ERROR: 4 } as const;

/** A Trellis run's workflow id: `<tenant>/<definition>/<run id>`. */
const RUN_WORKFLOW_ID = /^([^/]+)\/([^/]+)\/([0-9a-f-]{36})(?:\/|$)/;

/**
 * The Temporal SDK's {@link Logger}, writing through Trellis's structured logger, so worker and
 * native (Core) lines are JSON lines like every other, with `tenantId` and `runId` taken from the
 * workflow id where there is one (Temporal's own run id is `temporalRunId`).
 *
 * Failures a step's activity chose to report (an `ApplicationFailure`: a target's 409, a refused
 * address) are business failures: the audit sink logs each once, as a WARN with the step, so the
 * SDK's own "Activity failed" line for them drops to DEBUG, as does its "Workflow failed" (the
 * run's end, which the audit sink logs too), and no business failure is logged with a stack
 * trace. Any other error (a fault of Trellis's own) keeps its level and its stack.
 */
export class TemporalLogger implements Logger {
  /** @param minimum the SDK's own level: lines below it are dropped whatever `LOG_LEVEL` says. @default 'TRACE' */
  constructor(private readonly minimum: LogLevel = 'TRACE') {}

  log(level: LogLevel, message: string, meta: LogMetadata = {}): void {
    const { error, runId, workflowId, ...rest } = meta as Record<string, unknown>;
    const business = error instanceof ApplicationFailure || error instanceof CancelledFailure;
    // A workflow fails only by the interpreter's choice (a fault in its code fails the workflow
    // task instead, and is retried): the run's end, which the audit sink logs.
    const effective: LogLevel = (business && message === 'Activity failed') || message === 'Workflow failed' ? 'DEBUG' : level;
    const pinoLevel = PINO_LEVELS[effective];
    if (SEVERITY[effective] < SEVERITY[this.minimum] || !logger.isLevelEnabled(pinoLevel)) return;
    const ids = typeof workflowId === 'string' ? RUN_WORKFLOW_ID.exec(workflowId) : null;
    logger[pinoLevel](
      {
        ...rest,
        ...(ids ? { tenantId: ids[1], definition: ids[2], runId: ids[3] } : {}),
        ...(workflowId === undefined ? {} : { workflowId }),
        ...(runId === undefined ? {} : { temporalRunId: runId }),
        ...(error === undefined ? {} : errorFields(error, !business)),
      },
      message,
    );
  }

  trace(message: string, meta?: LogMetadata): void {
    this.log('TRACE', message, meta);
  }

  debug(message: string, meta?: LogMetadata): void {
    this.log('DEBUG', message, meta);
  }

  info(message: string, meta?: LogMetadata): void {
    this.log('INFO', message, meta);
  }

  warn(message: string, meta?: LogMetadata): void {
    this.log('WARN', message, meta);
  }

  error(message: string, meta?: LogMetadata): void {
    this.log('ERROR', message, meta);
  }
}
