import { isGrpcServiceError } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/common';
import { ConflictError, type TrellisError } from '../errors';

/** gRPC status code NOT_FOUND, as raw `workflowService` calls report it. */
const GRPC_NOT_FOUND = 5;

/**
 * Whether a Temporal call failed because the workflow execution it names does not exist (never
 * did, or was deleted) or, for signals, cancellations and terminations, has already closed. The
 * high-level client throws `WorkflowNotFoundError`; raw `workflowService` calls a gRPC NOT_FOUND.
 * Every caller that turns such a failure into an answer uses this one test.
 */
export function isWorkflowGone(err: unknown): boolean {
  return err instanceof WorkflowNotFoundError || (isGrpcServiceError(err) && err.code === GRPC_NOT_FOUND);
}

/**
 * The answer a client gets for a Temporal client error that reached the API unhandled, or
 * undefined when it is not one Trellis can explain (it stays an internal error, logged). The run
 * service answers "the workflow is gone" itself, with how the run ended (see `RunService`); this
 * is the net under every other path, so Temporal's "not found" never reads "internal server error".
 */
export function answerForTemporalError(err: unknown): TrellisError | undefined {
  if (isWorkflowGone(err)) {
    return new ConflictError("the run's workflow is no longer running in Temporal (it ended or was deleted there): Trellis records how within seconds; ask again then");
  }
  return undefined;
}
