import type { Kysely } from 'kysely';
import { FINAL_RUN_STATUSES } from '../../definition/step-types';
import type { AuditEventInput } from '../../interpreter/run-types';
import type { Database } from '../db/database';
import { errorFields, logger } from './logger';
import { metrics } from './metrics';

/** Statuses that end a step's attempts (a STEP_FAILED that will be retried keeps it RUNNING). */
const STEP_FINAL_STATUSES: ReadonlySet<string> = new Set(['SUCCEEDED', 'FAILED', 'CANCELLED', 'COMPENSATED', 'COMPENSATION_FAILED']);

/**
 * What the audit sink reports of each event it wrote for the first time (a rewrite of the same
 * event reports nothing, so nothing is counted or logged twice):
 * - metrics: runs started and finished by definition and status, step attempts by step type, and
 *   each step's duration and attempts when it reaches its final status;
 * - logs: one line per event, with `tenantId`, `runId`, `stepId`. A failed attempt of a step
 *   (a target's 409, a refused address, an expression error) is a business failure: one WARN line
 *   with the step, the HTTP status when there is one, and the message, never a stack trace. Run
 *   ends are INFO; other transitions DEBUG.
 *
 * Never throws: what it cannot read only costs a metric, never the run.
 */
export async function observeAuditEvent(db: Kysely<Database>, event: AuditEventInput): Promise<void> {
  try {
    const ids = { tenantId: event.tenantId, runId: event.runId, ...(event.stepId ? { stepId: event.stepId, stepType: event.stepType } : {}) };
    if (event.type === 'RUN_STARTED') {
      const definition = event.run?.definitionName ?? (await definitionOf(db, event.runId));
      metrics.runsStarted.inc({ definition: metrics.definitions.value(definition) });
      logger.info({ ...ids, definition, event: event.type }, 'run started');
      return;
    }
    if (event.runStatus !== undefined && FINAL_RUN_STATUSES.has(event.runStatus)) {
      const definition = await definitionOf(db, event.runId);
      metrics.runsFinished.inc({ definition: metrics.definitions.value(definition), status: event.runStatus });
      logger.info({ ...ids, definition, event: event.type, status: event.runStatus, ...(event.error ? { error: event.error.message } : {}) }, `run ${event.runStatus.toLowerCase()}`);
      return;
    }
    const stepType = metrics.stepTypes.value(event.stepType ?? 'unknown');
    if (event.type === 'STEP_STARTED') metrics.stepAttempts.inc({ step_type: stepType });
    if ((event.type === 'STEP_FAILED' && event.error?.type !== 'Cancelled') || event.type === 'COMPENSATION_FAILED') {
      const details = event.error?.details as { status?: unknown } | undefined;
      logger.warn(
        {
          ...ids,
          event: event.type,
          attempt: event.attempt,
          ...(typeof details?.status === 'number' ? { status: details.status } : {}),
          errorType: event.error?.type,
          retryable: event.error?.retryable,
          error: event.error?.message,
        },
        event.message ?? event.error?.message ?? 'step failed',
      );
    } else {
      logger.debug({ ...ids, event: event.type, attempt: event.attempt }, event.message ?? event.type);
    }
    if (event.stepId && event.stepStatus !== undefined && STEP_FINAL_STATUSES.has(event.stepStatus) && event.type !== 'STEP_SKIPPED') {
      const step = await db
        .selectFrom('run_steps')
        .select(['started_at', 'attempts'])
        .where('run_id', '=', event.runId)
        .where('step_id', '=', event.stepId)
        .executeTakeFirst();
      const labels = { step_type: stepType, status: event.stepStatus };
      if (step?.started_at) metrics.stepDuration.observe(labels, Math.max(0, (Date.parse(event.at) - new Date(step.started_at).getTime()) / 1000));
      if (step && step.attempts > 0) metrics.stepFinishAttempts.observe(labels, step.attempts);
    }
  } catch (err) {
    logger.warn({ tenantId: event.tenantId, runId: event.runId, ...errorFields(err, true) }, 'cannot observe an audit event for metrics');
  }
}

async function definitionOf(db: Kysely<Database>, runId: string): Promise<string> {
  const row = await db.selectFrom('runs').select('definition_name').where('id', '=', runId).executeTakeFirst();
  return row?.definition_name ?? 'unknown';
}
