import type { AuditEvent, ErrorInfo } from './types';

/** One attempt of a step, from its STEP_STARTED event to the event that settled it. */
export type Attempt = {
  attempt: number;
  startedAt: string;
  finishedAt?: string;
  outcome: 'running' | 'succeeded' | 'failed' | 'cancelled';
  error?: ErrorInfo | null;
  message?: string | null;
  inputHash?: string | null;
};

/** What the audit trail says about one step beyond its state: attempts, compensation, skip reason, signal. */
export type StepHistory = {
  attempts: Attempt[];
  compensation?: { at: string; ok: boolean; output?: unknown; error?: ErrorInfo | null; message?: string | null };
  skipped?: string;
  signal?: { at: string; message?: string | null; payload: unknown };
};

/** Folds a run's audit events into each step's history, by step id. */
export function stepHistories(events: readonly AuditEvent[]): Map<string, StepHistory> {
  const histories = new Map<string, StepHistory>();
  const of = (id: string) => {
    let history = histories.get(id);
    if (!history) histories.set(id, (history = { attempts: [] }));
    return history;
  };
  for (const event of events) {
    if (!event.stepId) continue;
    const history = of(event.stepId);
    const current = history.attempts.find((attempt) => attempt.attempt === (event.attempt ?? 1));
    switch (event.type) {
      case 'STEP_STARTED':
        history.attempts.push({ attempt: event.attempt ?? 1, startedAt: event.at, outcome: 'running', inputHash: event.inputHash });
        break;
      case 'STEP_SUCCEEDED':
        if (current) Object.assign(current, { finishedAt: event.at, outcome: 'succeeded', message: event.message });
        else history.attempts.push({ attempt: event.attempt ?? 0, startedAt: event.at, finishedAt: event.at, outcome: 'succeeded', message: event.message });
        break;
      case 'STEP_FAILED': {
        const outcome = event.error?.type === 'Cancelled' ? 'cancelled' : 'failed';
        const target = event.attempt == null ? history.attempts[history.attempts.length - 1] : current;
        if (target) Object.assign(target, { finishedAt: event.at, outcome, error: event.error, message: event.message });
        else history.attempts.push({ attempt: event.attempt ?? 1, startedAt: event.at, finishedAt: event.at, outcome, error: event.error, message: event.message });
        break;
      }
      case 'STEP_SKIPPED':
        history.skipped = event.message ?? 'skipped';
        break;
      case 'SIGNAL_RECEIVED':
        history.signal = { at: event.at, message: event.message, payload: event.output };
        break;
      case 'STEP_COMPENSATED':
        history.compensation = { at: event.at, ok: true, output: event.output, message: event.message };
        break;
      case 'COMPENSATION_FAILED':
        history.compensation = { at: event.at, ok: false, error: event.error, message: event.message };
        break;
    }
  }
  return histories;
}
