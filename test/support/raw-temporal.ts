import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';

/**
 * A Temporal client without Trellis's data converter, on the test servers: what anyone who reaches
 * Temporal directly has (its gRPC or Web UI HTTP API) without `TRELLIS_SECRET_KEY`. It writes
 * plaintext payloads and reads history as stored.
 */
export async function rawTemporalClient(): Promise<{ client: Client; close(): Promise<void> }> {
  const connection = await Connection.connect({ address: process.env.TEMPORAL_ADDRESS! });
  const client = new Client({ connection, namespace: process.env.TEMPORAL_NAMESPACE ?? 'default' });
  return { client, close: () => connection.close() };
}

/**
 * Resets an execution as Temporal's Web UI and CLI do ("Reset"): a new execution of the workflow
 * id runs its history again from the workflow task completed at `workflowTaskCompletedEventId`.
 * @returns the new execution's Temporal run id
 */
export async function resetExecution(client: Client, execution: { workflowId: string; runId: string }, workflowTaskCompletedEventId: number, reason: string): Promise<string> {
  type Request = temporal.api.workflowservice.v1.IResetWorkflowExecutionRequest;
  const request: Request = {
    namespace: client.options.namespace,
    workflowExecution: execution,
    // protobufjs writes a number into an int64 field as it is.
    workflowTaskFinishEventId: workflowTaskCompletedEventId as unknown as Request['workflowTaskFinishEventId'],
    reason,
    requestId: randomUUID(),
  };
  const response = await (client.workflowService.resetWorkflowExecution(request) as Promise<temporal.api.workflowservice.v1.ResetWorkflowExecutionResponse>);
  return response.runId;
}

/** Deletes a workflow execution (running or not) and its history, as `temporal workflow delete` does. */
export async function deleteExecution(client: Client, workflowId: string): Promise<void> {
  await client.workflowService.deleteWorkflowExecution({ namespace: client.options.namespace, workflowExecution: { workflowId } });
}

/**
 * The id of the WorkflowTaskCompleted event of the workflow task that scheduled the first
 * activity of type `activityType` in an execution's history: resetting to it runs that task again.
 */
export async function taskThatScheduled(client: Client, execution: { workflowId: string; runId: string }, activityType: string): Promise<number> {
  const history = await client.workflow.getHandle(execution.workflowId, execution.runId).fetchHistory();
  for (const event of history.events ?? []) {
    const scheduled = event.activityTaskScheduledEventAttributes;
    if (scheduled?.activityType?.name === activityType) return Number(scheduled.workflowTaskCompletedEventId!.toString());
  }
  throw new Error(`no ${activityType} activity in the history of ${execution.workflowId}`);
}
