import { ActivityFailure, ApplicationFailure } from '@temporalio/workflow';
import { LOG_LEVELS, type LogLevel } from '../definition/log-levels';
import type { AuditEventInput } from './run-types';

/** Lines one attempt of a step may log; past it, one more line says how many were left out. */
export const MAX_LOG_LINES_PER_ATTEMPT = 100;
/** Characters of messages one attempt of a step may log in all (64 Ki); past it, as for lines. */
export const MAX_LOG_CHARS_PER_ATTEMPT = 64 * 1024;
/** Characters of one line's message; a longer one is cut and says so. */
export const MAX_LOG_LINE_CHARS = 8 * 1024;

/** One line of a step's log. */
export type LogLine = { level: LogLevel; message: string };

/** A LOG event as a graph emits it (the run fills in run id, tenant, time and actor). */
export type LogEvent = Omit<AuditEventInput, 'runId' | 'tenantId' | 'at' | 'actor'> & { type: 'LOG' };

const LEVELS: ReadonlySet<string> = new Set(LOG_LEVELS);

/**
 * A step's output together with the lines its attempt logged: what a step handler returns when
 * its action reported log lines (a `log` step; an activity whose result carries `logs`, see
 * {@link withActivityLogs}). The graph records the lines as LOG events, then takes `output` as
 * the step's output. Never crosses an activity boundary: a workflow-side wrapper only, so no
 * output a user or a service produces can pass for one.
 */
export class LoggedOutput {
  constructor(
    readonly output: unknown,
    readonly logs: readonly unknown[],
  ) {}
}

/**
 * The result of an activity that reports log lines: `{ output, logs?: [{ level, message }] }`
 * (the `code` step's activity; a custom step's when the call asked for it), as a
 * {@link LoggedOutput}. A result without `logs` gives its `output` alone.
 */
export function withActivityLogs(result: unknown): unknown {
  const { output, logs } = (result ?? {}) as { output?: unknown; logs?: unknown };
  return Array.isArray(logs) && logs.length > 0 ? new LoggedOutput(output ?? null, logs) : (output ?? null);
}

/**
 * The log lines a failed attempt reported: an activity failure whose first detail carries `logs`
 * (what a step printed before it threw). Empty when it carries none.
 */
export function logsOfFailure(err: unknown): readonly unknown[] {
  const failure = err instanceof ActivityFailure ? err.cause : err;
  if (!(failure instanceof ApplicationFailure)) return [];
  const logs = (failure.details?.[0] as { logs?: unknown } | null | undefined)?.logs;
  return Array.isArray(logs) ? logs : [];
}

/**
 * The LOG events of one attempt's lines, in order: each line's level (`info` when it names no
 * known level) and message (a string as is, anything else as JSON), each message cut at
 * {@link MAX_LOG_LINE_CHARS}; past {@link MAX_LOG_LINES_PER_ATTEMPT} lines or
 * {@link MAX_LOG_CHARS_PER_ATTEMPT} characters the rest is left out and a last `warn` line says
 * how many lines were.
 */
export function logEvents(stepId: string, stepType: string, attempt: number, lines: readonly unknown[]): LogEvent[] {
  const events: LogEvent[] = [];
  let chars = 0;
  for (const [index, raw] of lines.entries()) {
    const line = normalise(raw);
    if (events.length >= MAX_LOG_LINES_PER_ATTEMPT || chars + line.message.length > MAX_LOG_CHARS_PER_ATTEMPT) {
      const left = lines.length - index;
      const message = `${left} more log line${left === 1 ? '' : 's'} left out: a step's attempt logs at most ${MAX_LOG_LINES_PER_ATTEMPT} lines and ${MAX_LOG_CHARS_PER_ATTEMPT} characters`;
      events.push({ type: 'LOG', stepId, stepType, attempt, level: 'warn', line: events.length, message });
      break;
    }
    chars += line.message.length;
    events.push({ type: 'LOG', stepId, stepType, attempt, level: line.level, line: events.length, message: line.message });
  }
  return events;
}

/** One line as logged: a known level, and its message as text within {@link MAX_LOG_LINE_CHARS}. */
export function normalise(raw: unknown): LogLine {
  const { level, message } = raw !== null && typeof raw === 'object' ? (raw as { level?: unknown; message?: unknown }) : { level: undefined, message: raw };
  return { level: typeof level === 'string' && LEVELS.has(level) ? (level as LogLevel) : 'info', message: logMessage(message) };
}

/** A value as a log message: a string as is, anything else as JSON; cut at {@link MAX_LOG_LINE_CHARS}, saying so. */
export function logMessage(value: unknown): string {
  const text = typeof value === 'string' ? value : (JSON.stringify(value ?? null) ?? 'null');
  if (text.length <= MAX_LOG_LINE_CHARS) return text;
  return `${text.slice(0, MAX_LOG_LINE_CHARS)}… (cut: ${text.length} characters in all)`;
}

/**
 * The LOG events of a graph's steps' attempts, held until the next event of their step
 * (STEP_SUCCEEDED or STEP_FAILED), which they go just before: in the same audit batch, so the
 * step's end is never recorded without its lines and no extra write is waited for.
 */
export class StepLogBuffer {
  private readonly pending = new Map<string, LogEvent[]>();

  /**
   * What an attempt's action returned, as the step's output: a {@link LoggedOutput}'s lines are
   * held for the step's next event. Anything else is the output itself.
   */
  take(stepId: string, stepType: string, attempt: number, result: unknown): unknown {
    if (!(result instanceof LoggedOutput)) return result;
    this.hold(stepId, logEvents(stepId, stepType, attempt, result.logs));
    return result.output;
  }

  /** Holds the lines a failed attempt reported (see {@link logsOfFailure}). */
  takeFailure(stepId: string, stepType: string, attempt: number, err: unknown): void {
    const lines = logsOfFailure(err);
    if (lines.length > 0) this.hold(stepId, logEvents(stepId, stepType, attempt, lines));
  }

  /** The held lines of a step, now no longer held. */
  drain(stepId: string): LogEvent[] {
    const events = this.pending.get(stepId) ?? [];
    this.pending.delete(stepId);
    return events;
  }

  private hold(stepId: string, events: LogEvent[]): void {
    this.pending.set(stepId, [...(this.pending.get(stepId) ?? []), ...events]);
  }
}
