import { CancelledFailure, WorkflowFailedError, type Client, type WorkflowExecutionDescription } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import type { Kysely } from 'kysely';
import type { Definition } from '../../definition/definition-schema';
import { FINAL_RUN_STATUSES, type RunStatus } from '../../definition/step-types';
import type { Actor, ErrorInfo } from '../../interpreter/run-types';
import { toStorableJson } from '../../definition/storable-json';
import { SupersededExecutionError, recordAuditEvent, type AuditEventRecord } from '../db/audit.repository';
import type { Database, RunRow } from '../db/database';
import { permanentDatabaseError } from '../db/database-error';
import { findVersion } from '../db/definitions.repository';
import { findRun, listRunSteps, recordRunEnd } from '../db/runs.repository';
import { timestampToDate } from '../temporal/history-values';
import { isWorkflowGone } from '../temporal/temporal-errors';
import { RunResets } from './run-resets';

/**
 * Error `type`s of a run that ended outside Trellis (RUN_TERMINATED, status TERMINATED): its
 * workflow was terminated, timed out by a workflow execution timeout, or deleted, in Temporal.
 */
export const OUTSIDE_END_TYPES = { terminated: 'Terminated', timedOut: 'WorkflowExecutionTimedOut', deleted: 'WorkflowDeleted' } as const;

const CLOSE_EVENT = temporal.api.enums.v1.HistoryEventFilterType.HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT;

/** How a run's workflow ended outside Trellis: what the RUN_TERMINATED event says. */
type OutsideEnd = { type: (typeof OUTSIDE_END_TYPES)[keyof typeof OUTSIDE_END_TYPES]; what: string; at: Date; details: Record<string, unknown> };

/**
 * Brings one run's record in line with Temporal: a run whose workflow ended without the run
 * recording it (terminated, timed out or deleted in Temporal, or an end the audit trail refused),
 * or that Temporal reset, gets the status and the audit event that say what happened. The
 * reconciler ({@link TemporalReconciler}) calls it for runs Temporal's visibility shows ended;
 * the run service for a run whose workflow a control mutation found gone.
 *
 * Recording is conditional on the run being in flight and still at the execution examined, so
 * several callers at once record it once.
 */
export class RunReconciler {
  private readonly resets: RunResets;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly client: Client,
  ) {
    this.resets = new RunResets(db, client);
  }

  /**
   * Examines a run in flight against Temporal and records what Temporal says became of it.
   * Temporal and database errors propagate (try again later).
   * @returns the run as it is now (unchanged when it is finished, not started, or still running)
   */
  async reconcile(run: RunRow): Promise<RunRow> {
    let current = run;
    // A reset accepted here may lead to an execution that has itself ended: look once more.
    for (let pass = 0; pass < 3; pass++) {
      if (FINAL_RUN_STATUSES.has(current.status) || !current.temporal_run_id) return current;
      const latest = await this.describe(current.workflow_id);
      if (latest && latest.runId !== current.temporal_run_id && (await this.resets.accept(current.id, latest.runId)).accepted) {
        current = (await findRun(this.db, current.tenant_id, current.id)) ?? current;
        continue;
      }
      const own = latest?.runId === current.temporal_run_id ? latest : await this.describe(current.workflow_id, current.temporal_run_id);
      return this.record(current, own);
    }
    return current;
  }

  private async record(run: RunRow, execution: WorkflowExecutionDescription | undefined): Promise<RunRow> {
    if (!execution) {
      return this.recordOutsideEnd(run, { type: OUTSIDE_END_TYPES.deleted, what: 'its workflow was deleted from Temporal', at: new Date(), details: { temporalRunId: run.temporal_run_id } });
    }
    switch (execution.status.name) {
      case 'TERMINATED': {
        const close = await this.closeEvent(run.workflow_id, execution.runId);
        const attributes = close?.workflowExecutionTerminatedEventAttributes;
        const by = attributes?.identity ? ` by ${JSON.stringify(attributes.identity)}` : '';
        const reason = attributes?.reason ? `: ${attributes.reason}` : '';
        return this.recordOutsideEnd(run, {
          type: OUTSIDE_END_TYPES.terminated,
          what: `terminated in Temporal${by}${reason}`,
          at: timestampToDate(close?.eventTime) ?? execution.closeTime ?? new Date(),
          details: { temporalRunId: execution.runId, reason: attributes?.reason ?? null, identity: attributes?.identity ?? null },
        });
      }
      case 'TIMED_OUT':
        return this.recordOutsideEnd(run, {
          type: OUTSIDE_END_TYPES.timedOut,
          what: 'its workflow execution timed out in Temporal (a workflow execution timeout Trellis did not set)',
          at: execution.closeTime ?? new Date(),
          details: { temporalRunId: execution.runId },
        });
      case 'COMPLETED':
      case 'FAILED':
      case 'CANCELLED':
        return this.recordUnrecordedEnd(run, execution);
      default:
        return run;
    }
  }

  /**
   * Records RUN_TERMINATED: no code of the run runs any more, so nothing was (or will be) rolled
   * back and its open steps are stopped. Says which steps stayed uncompensated.
   */
  private async recordOutsideEnd(run: RunRow, end: OutsideEnd): Promise<RunRow> {
    const [steps, definition] = await Promise.all([listRunSteps(this.db, run.id), this.definitionOf(run)]);
    const open = steps.filter((step) => step.status === 'RUNNING' || step.status === 'WAITING' || step.status === 'COMPENSATING').map((step) => step.step_id);
    const uncompensated = steps
      .filter((step) => step.status === 'SUCCEEDED' && definition?.steps[step.step_id]?.compensate !== undefined)
      .map((step) => step.step_id);
    const rollBack = run.status === 'COMPENSATING' ? 'its roll-back stopped where it stood' : 'nothing was rolled back';
    const message =
      `${end.what}. Temporal runs no more of it: ${rollBack}` +
      (uncompensated.length > 0 ? ` (not compensated: ${uncompensated.join(', ')})` : '') +
      (open.length > 0 ? `, and ${open.join(', ')} stopped where ${open.length === 1 ? 'it stood' : 'they stood'}` : '') +
      '. retryRun runs what it left undone, reusing what succeeded';
    const error: ErrorInfo = { message: end.what, type: end.type, retryable: false, details: { ...end.details, notCompensated: uncompensated, stopped: open } };
    return this.recordEnd(run, { type: 'RUN_TERMINATED', runStatus: 'TERMINATED', error, message, at: end.at });
  }

  /**
   * The workflow ended by its own code (completed, failed, cancelled) but the run index never
   * heard of it: the audit trail refused even the final event. Records the end Temporal reports.
   */
  private async recordUnrecordedEnd(run: RunRow, execution: WorkflowExecutionDescription): Promise<RunRow> {
    const outcome = await this.client.workflow
      .getHandle(run.workflow_id, execution.runId)
      .result()
      .then(
        (result: unknown) => ({ result }),
        (err: unknown) => ({ err }),
      );
    const at = execution.closeTime ?? new Date();
    const note = 'recorded from Temporal: the run ended, but its own record of the end never reached the audit trail';
    if ('result' in outcome) {
      const output = (outcome.result as { output?: unknown } | undefined)?.output ?? null;
      return this.recordEnd(run, { type: 'RUN_COMPLETED', runStatus: 'COMPLETED', output, message: note, at });
    }
    const cause = outcome.err instanceof WorkflowFailedError ? outcome.err.cause : undefined;
    if (cause === undefined) return run;
    if (cause instanceof CancelledFailure) {
      const error: ErrorInfo = { message: cause.message, type: 'Cancelled', retryable: false };
      return this.recordEnd(run, { type: 'RUN_CANCELLED', runStatus: 'CANCELLED', error, message: note, at });
    }
    // The interpreter ends a failed run with its status and error as the failure's details.
    const details = (cause as { details?: unknown[] }).details?.[0] as { status?: string; error?: ErrorInfo } | undefined;
    const status = details?.status && FINAL_RUN_STATUSES.has(details.status) ? (details.status as RunStatus) : 'FAILED';
    const error: ErrorInfo = details?.error ?? { message: cause.message, type: (cause as { type?: string }).type ?? 'Error', retryable: false };
    return this.recordEnd(run, { type: 'RUN_FAILED', runStatus: status, error, message: note, at });
  }

  /**
   * Records a run's end as an audit event, if the run is still in flight at the execution examined;
   * when PostgreSQL refuses the event for good (the reason the run's own record was lost, maybe),
   * records the status and error on the run alone.
   */
  private async recordEnd(run: RunRow, end: Pick<AuditEventRecord, 'type' | 'runStatus' | 'error' | 'message' | 'output'> & { at: Date }): Promise<RunRow> {
    const event: AuditEventRecord = toStorableJson({
      runId: run.id,
      tenantId: run.tenant_id,
      type: end.type,
      runStatus: end.runStatus,
      error: end.error,
      message: end.message,
      output: end.output,
      at: end.at.toISOString(),
      actor: run.trigger as Actor,
    });
    try {
      await recordAuditEvent(this.db, event, { temporalRunId: run.temporal_run_id ?? undefined, ifInFlight: true });
    } catch (err) {
      // A reset moved the run on meanwhile: it is not the execution examined that ended.
      if (err instanceof SupersededExecutionError) return (await findRun(this.db, run.tenant_id, run.id)) ?? run;
      if (permanentDatabaseError(err) === undefined) throw err;
      await recordRunEnd(this.db, run.id, end.runStatus!, end.error ?? null);
    }
    return (await findRun(this.db, run.tenant_id, run.id)) ?? run;
  }

  private async definitionOf(run: RunRow): Promise<Definition | undefined> {
    if (run.spec !== null) return run.spec as Definition;
    return (await findVersion(this.db, run.tenant_id, run.definition_name, run.definition_version))?.spec as Definition | undefined;
  }

  /** The execution's description (the latest execution of the workflow id without `runId`); undefined when Temporal has none. */
  private async describe(workflowId: string, runId?: string): Promise<WorkflowExecutionDescription | undefined> {
    try {
      return await this.client.workflow.getHandle(workflowId, runId).describe();
    } catch (err) {
      if (isWorkflowGone(err)) return undefined;
      throw err;
    }
  }

  /** The event that closed an execution (who terminated it and why). */
  private async closeEvent(workflowId: string, runId: string): Promise<temporal.api.history.v1.IHistoryEvent | undefined> {
    const response = await this.client.workflowService.getWorkflowExecutionHistory({
      namespace: this.client.options.namespace,
      execution: { workflowId, runId },
      historyEventFilterType: CLOSE_EVENT,
    });
    return response.history?.events?.[0];
  }
}
