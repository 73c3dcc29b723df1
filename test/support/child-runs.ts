import { temporal } from '@temporalio/proto';
import type { TestContext } from './test-context';

/**
 * Waits until the workflow `workflowId` has started `count` child workflows, and returns their
 * workflow ids in the order they started.
 * @throws when they have not started within `timeoutMs`
 */
export async function startedChildren(ctx: TestContext, workflowId: string, count: number, timeoutMs = 30_000): Promise<string[]> {
  const handle = ctx.trellis.client.workflow.getHandle(workflowId);
  const started = temporal.api.enums.v1.EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const events = (await handle.fetchHistory()).events ?? [];
    const ids = events.filter((e) => e.eventType === started).map((e) => e.childWorkflowExecutionStartedEventAttributes!.workflowExecution!.workflowId!);
    if (ids.length >= count) return ids;
    if (Date.now() > deadline) throw new Error(`${workflowId} started ${ids.length} child workflows within ${timeoutMs} ms, not ${count}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
