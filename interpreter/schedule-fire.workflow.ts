import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { ApplicationFailure, ChildWorkflowFailure, ParentClosePolicy, executeChild, proxyLocalActivities, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { PreparedFire, ScheduleFire } from '../activities/schedule-fire.activity';
import { SEARCH_ATTRIBUTES } from './search-attributes';

/** How a fire ended: the run it started and how that run ended, or why it started none. */
export type ScheduleFireResult = { runId: string; status: string } | { refused: string };

const prepare = proxyLocalActivities<Activities>({
  startToCloseTimeout: '30s',
  // Database or Temporal unreachable: the fire waits for them, as the audit sink does. What the
  // activity refuses for good comes back as a refusal or a non-retryable failure.
  retry: { initialInterval: '500ms', backoffCoefficient: 2, maximumInterval: '30s' },
});

/**
 * What every fire of a schedule runs (the Temporal Schedule's action). A schedule repeats the same
 * argument on every fire, so the run cannot be minted when the schedule is created: a local
 * activity mints it now (a fresh run id, the definition's versions pinned, the input checked,
 * the row recorded), then the run is this workflow's child and this workflow waits for it, so the
 * schedule's overlap policy (skip, buffer one, allow all) applies to whole runs. Two fires are two
 * runs with two audit trails. The fire ends successfully whatever the run did (the run's own
 * status says that), so a failed run never pauses the schedule.
 */
export async function trellisScheduleFire(fire: ScheduleFire): Promise<ScheduleFireResult> {
  const prepared: PreparedFire = await prepare.prepareScheduledRun(fire);
  if ('refused' in prepared) return { refused: prepared.refused };
  if ('started' in prepared) return { runId: prepared.runId, status: 'STARTED_EARLIER' };
  const { snapshot } = prepared;
  try {
    const result = await executeChild('trellisRun', {
      workflowId: prepared.workflowId,
      taskQueue: workflowInfo().taskQueue,
      args: [snapshot],
      // Cancelling or terminating the fire asks the run to stop, so it rolls back its own work.
      parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
      typedSearchAttributes: [
        { key: SEARCH_ATTRIBUTES.definition, value: snapshot.definitionName },
        { key: SEARCH_ATTRIBUTES.version, value: snapshot.definitionVersion },
        { key: SEARCH_ATTRIBUTES.tenant, value: snapshot.tenantId },
        { key: SEARCH_ATTRIBUTES.trigger, value: 'schedule' },
      ],
    });
    return { runId: prepared.runId, status: (result as { status?: string }).status ?? 'COMPLETED' };
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) return { runId: prepared.runId, status: 'STARTED_EARLIER' };
    if (err instanceof ChildWorkflowFailure) {
      const details = err.cause instanceof ApplicationFailure ? (err.cause.details?.[0] as { status?: string } | undefined) : undefined;
      return { runId: prepared.runId, status: details?.status ?? (err.cause?.name === 'CancelledFailure' ? 'CANCELLED' : 'FAILED') };
    }
    throw err;
  }
}
