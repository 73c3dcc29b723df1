import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import type { Kysely } from 'kysely';
import { FINAL_RUN_STATUSES } from '../../definition/step-types';
import type { Actor } from '../../interpreter/run-types';
import { recordReset, type AuditEventRecord } from '../db/audit.repository';
import type { Database } from '../db/database';
import { int64, timestampToDate } from '../temporal/history-values';
import { isWorkflowGone } from '../temporal/temporal-errors';

/** How many resets of resets {@link RunResets.confirm} follows from a run's execution to another. */
const MAX_RESET_HOPS = 8;

const RESET_CAUSE = temporal.api.enums.v1.WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_RESET_WORKFLOW;

/**
 * A reset in Temporal, as Temporal records it: `fromTemporalRunId` (an execution of the run) was
 * reset, possibly through intermediate resets, into `toTemporalRunId`.
 */
export type ConfirmedReset = {
  fromTemporalRunId: string;
  toTemporalRunId: string;
  /** The reason given to the reset (Temporal's UI and CLI ask for one). */
  reason: string | undefined;
  /** When Temporal performed the reset. */
  resetAt: Date | undefined;
  /** The history event id of the workflow task the new execution runs again from, and its time. */
  fromEventId: number | undefined;
  fromEventAt: Date | undefined;
};

/** Why {@link RunResets.accept} did not accept an execution as the run's. */
export type ResetRefusal = { accepted: false; why: string };

/**
 * Resets in Temporal (the Web UI's or CLI's "Reset": a new execution of the same workflow id that
 * runs the run's history again from an earlier workflow task). Trellis accepts one as the run it
 * resets when, and only when:
 *
 * - Temporal itself links it to the run's recorded execution: each reset execution's description
 *   names the execution that replaced it (`resetRunId`), which only Temporal's reset sets, so a
 *   workflow merely started with the run's workflow id (or claiming its run id) is never linked;
 * - the run is still in flight: a run Trellis has recorded as ended (TERMINATED included) is never
 *   reopened (use retryRun).
 *
 * Accepting moves the run to the new execution and records RUN_RESET (see `recordReset`): from
 * then on only the new execution acts for the run, and the steps it runs again are recorded again,
 * as the next generation of events.
 */
export class RunResets {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly client: Client,
  ) {}

  /**
   * Accepts `candidateRunId`, an execution of the run's workflow id, as the run's own when it is a
   * confirmed reset of the run's execution and the run is in flight; records RUN_RESET then.
   * Temporal and database errors propagate (retryable), never as a refusal.
   */
  async accept(runId: string, candidateRunId: string): Promise<{ accepted: true } | ResetRefusal> {
    const run = await this.db
      .selectFrom('runs')
      .select(['id', 'tenant_id', 'workflow_id', 'temporal_run_id', 'status', 'trigger'])
      .where('id', '=', runId)
      .executeTakeFirst();
    if (!run?.temporal_run_id) return { accepted: false, why: `run ${runId} has no Temporal execution recorded` };
    if (run.temporal_run_id === candidateRunId) return { accepted: true };
    const reset = await this.confirm(run.workflow_id, run.temporal_run_id, candidateRunId);
    if (!reset) {
      return { accepted: false, why: 'Temporal records no reset of that execution into this one' };
    }
    if (FINAL_RUN_STATUSES.has(run.status)) {
      return { accepted: false, why: `it is a reset of that execution, but the run has ended ${run.status}: a reset cannot reopen an ended run (use retryRun)` };
    }
    const event: AuditEventRecord = {
      runId: run.id,
      tenantId: run.tenant_id,
      at: (reset.resetAt ?? new Date()).toISOString(),
      type: 'RUN_RESET',
      actor: run.trigger as Actor,
      message: resetMessage(reset),
      output: {
        reason: reset.reason ?? null,
        fromTemporalRunId: reset.fromTemporalRunId,
        temporalRunId: reset.toTemporalRunId,
        fromEventId: reset.fromEventId ?? null,
        fromEventAt: reset.fromEventAt?.toISOString() ?? null,
      },
    };
    const recorded = await recordReset(this.db, { fromTemporalRunId: reset.fromTemporalRunId, toTemporalRunId: reset.toTemporalRunId, event });
    if (recorded.outcome !== 'run-changed') return { accepted: true };
    return { accepted: false, why: `the run changed meanwhile (now ${recorded.status}, Temporal run ${recorded.temporalRunId})` };
  }

  /**
   * Whether Temporal records that `fromRunId` was reset, directly or through resets of resets,
   * into `toRunId`; with the reset's reason and point when it does.
   */
  async confirm(workflowId: string, fromRunId: string, toRunId: string): Promise<ConfirmedReset | undefined> {
    let current = fromRunId;
    for (let hop = 0; hop < MAX_RESET_HOPS; hop++) {
      const next = await this.resetRunIdOf(workflowId, current);
      if (!next || next === current) return undefined;
      if (next === toRunId) return { fromTemporalRunId: fromRunId, toTemporalRunId: toRunId, ...(await this.resetDetails(workflowId, current, toRunId)) };
      current = next;
    }
    return undefined;
  }

  /** The execution that replaced `runId` by a reset, as its description says; undefined when none did. */
  private async resetRunIdOf(workflowId: string, runId: string): Promise<string | undefined> {
    try {
      const description = await this.client.workflow.getHandle(workflowId, runId).describe();
      return description.raw.workflowExtendedInfo?.resetRunId || undefined;
    } catch (err) {
      if (isWorkflowGone(err)) return undefined;
      throw err;
    }
  }

  /**
   * The reset's reason, time and point, from the new execution's history: its workflow task that
   * failed with cause RESET_WORKFLOW and names both executions (a reset of a reset copies the
   * earlier reset's event too, hence the names).
   */
  private async resetDetails(workflowId: string, baseRunId: string, newRunId: string): Promise<Omit<ConfirmedReset, 'fromTemporalRunId' | 'toTemporalRunId'>> {
    let nextPageToken: Uint8Array | undefined;
    let previous: temporal.api.history.v1.IHistoryEvent | undefined;
    do {
      const page = await this.client.workflowService.getWorkflowExecutionHistory({
        namespace: this.client.options.namespace,
        execution: { workflowId, runId: newRunId },
        maximumPageSize: 1000,
        nextPageToken,
      });
      for (const event of page.history?.events ?? []) {
        const failed = event.workflowTaskFailedEventAttributes;
        if (failed?.cause === RESET_CAUSE && failed.baseRunId === baseRunId && failed.newRunId === newRunId) {
          return {
            reason: failed.failure?.message || undefined,
            resetAt: timestampToDate(event.eventTime),
            fromEventId: int64(previous?.eventId),
            fromEventAt: timestampToDate(previous?.eventTime),
          };
        }
        previous = event;
      }
      nextPageToken = page.nextPageToken?.length ? page.nextPageToken : undefined;
    } while (nextPageToken);
    return { reason: undefined, resetAt: undefined, fromEventId: undefined, fromEventAt: undefined };
  }
}

function resetMessage(reset: ConfirmedReset): string {
  const reason = reset.reason ? ` (reason: ${reset.reason})` : '';
  const point = reset.fromEventAt
    ? `its workflow task of ${reset.fromEventAt.toISOString()} (history event ${reset.fromEventId})`
    : 'an earlier workflow task';
  return (
    `reset in Temporal${reason}: the run goes on as Temporal run ${reset.toTemporalRunId}, from ${point}; ` +
    `what Temporal run ${reset.fromTemporalRunId} did after that point is done again, and recorded again after this event`
  );
}
