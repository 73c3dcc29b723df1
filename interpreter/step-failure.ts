import { ActivityFailure, ApplicationFailure, ChildWorkflowFailure, TimeoutFailure } from '@temporalio/workflow';
import type { ErrorInfo } from './run-types';

/** A step failed for good; carries what the audit trail and the run's error report. */
export class StepFailure extends Error {
  constructor(
    readonly stepId: string,
    readonly info: ErrorInfo,
  ) {
    super(info.message);
  }
}

/** A deterministic failure of the definition's own logic (an expression, a contract): never retried. */
export function nonRetryable(message: string, type: string, details?: unknown): ApplicationFailure {
  return ApplicationFailure.create({ message, type, nonRetryable: true, details: details === undefined ? undefined : [details] });
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Turns whatever a step threw into the plain error the audit trail and GraphQL show. */
export function toErrorInfo(err: unknown): ErrorInfo {
  if (err instanceof StepFailure) return err.info;
  if (err instanceof ActivityFailure && err.cause) return toErrorInfo(err.cause);
  if (err instanceof ChildWorkflowFailure && err.cause) return toErrorInfo(err.cause);
  if (err instanceof TimeoutFailure) return { message: `timed out (${err.timeoutType ?? 'timeout'})`, type: 'Timeout', retryable: true };
  if (err instanceof ApplicationFailure) {
    const info: ErrorInfo = { message: err.message, type: err.type ?? 'Error', retryable: !err.nonRetryable };
    if (err.details && err.details.length > 0) info.details = err.details[0];
    return info;
  }
  if (err instanceof Error) {
    // Expression errors are deterministic: retrying would fail the same way.
    return { message: err.message, type: err.name === 'Error' ? 'Error' : err.name, retryable: err.name !== 'ExpressionError' };
  }
  return { message: String(err), type: 'Error', retryable: true };
}
