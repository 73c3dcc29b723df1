import type { LogStep } from '../definition/definition-schema';
import type { LogLevel } from '../definition/log-levels';
import { LoggedOutput, logMessage } from './step-logs';

/** What a `log` step logs when it sets no `level`. */
export const DEFAULT_LOG_LEVEL: LogLevel = 'info';

/** A `log` step's resolved input, audited with STEP_STARTED and its output: the line it logs. */
export type LogStepLine = { level: LogLevel; message: string };

/** A `log` step's line from its evaluated `message` (a string as is, anything else as JSON, capped). */
export function logStepInput(step: LogStep, message: unknown): LogStepLine {
  return { level: step.level ?? DEFAULT_LOG_LEVEL, message: logMessage(message) };
}

/** Performs a `log` step: its line becomes a LOG event and its output. */
export function performLogStep(input: unknown): LoggedOutput {
  const line = input as LogStepLine;
  return new LoggedOutput({ level: line.level, message: line.message }, [line]);
}
