import type { Definition } from '../definition/definition-schema';
import type { AuditEventType, RunStatus, StepStatus } from '../definition/step-types';
import type { PinnedVariables } from '../definition/variables';

/**
 * Who or what triggered a run; recorded on the run and on each of its audit events. A run started
 * by a `workflow` step has type `workflow`, the parent run's id, and the step that started it.
 */
export type Actor = { type: 'api' | 'webhook' | 'schedule' | 'test' | 'workflow'; id: string; stepId?: string };

/** A definition version pinned when a run was triggered. */
export type PinnedDefinition = { name: string; version: number; definition: Definition };

/**
 * The sub-workflow definitions a run may start, pinned when the run was triggered, keyed by
 * {@link libraryKey} of the reference as written (`send-invoice@latest`, `send-invoice@2`).
 */
export type DefinitionLibrary = Record<string, PinnedDefinition>;

/** Key of a sub-workflow reference in a {@link DefinitionLibrary}. */
export function libraryKey(definition: string, version: number | 'latest' | undefined): string {
  return `${definition}@${version ?? 'latest'}`;
}

/**
 * Everything a run needs, fixed when it is triggered: the interpreter never reads the definition
 * store again, so editing a definition never changes a run in flight.
 */
export type RunSnapshot = {
  runId: string;
  tenantId: string;
  definitionName: string;
  definitionVersion: number;
  definition: Definition;
  input: unknown;
  trigger: Actor;
  /** ISO-8601 time the run was requested. */
  requestedAt: string;
  /** Every sub-workflow this run or its children may start; absent in runs started before sub-workflows ran. */
  library?: DefinitionLibrary;
  /** 1 for a run started by a trigger, 2 for its child runs, and so on. @default 1 */
  depth?: number;
  /**
   * The tenant's variables this run and its sub-workflows read (`$var`), pinned when it was
   * triggered; child runs get their parent's. Absent in runs started before variables existed,
   * which bind no `$var`.
   */
  variables?: PinnedVariables;
  /** For a run started by `retryRun`: the run it retries and the step outputs it reuses. */
  reuse?: ReusedOutputs;
  /**
   * For a `testRun`: outputs standing in for steps, by top-level step id. A mocked step resolves
   * its input as usual, then takes its mock as output without calling anything; its
   * compensation is not performed either.
   */
  mocks?: Record<string, unknown>;
};

/**
 * Outputs of steps that succeeded in an earlier run (and were not compensated), in the order
 * they finished there: the retry records them as succeeded without running them again.
 */
export type ReusedOutputs = { runId: string; steps: Array<{ stepId: string; output: unknown }> };

/** A failure as stored and shown to users: plain JSON, no stack traces from other machines. */
export type ErrorInfo = { message: string; type?: string; retryable?: boolean; details?: unknown };

/**
 * `type` of the failure the audit sink throws when PostgreSQL refuses an event for a reason that
 * retrying cannot fix (bad data, a constraint, a missing table or permission): not retried, it
 * ends the run FAILED with error type {@link AUDIT_WRITE_FAILED}.
 */
export const AUDIT_WRITE_REFUSED = 'AuditWriteRefused';

/** Error `type` of a run that ended because its audit trail could not record an event. */
export const AUDIT_WRITE_FAILED = 'AuditWriteFailed';

/**
 * One audit event as the interpreter emits it. The sink assigns its `seq` (the run's next, so the
 * trail has no gap), writes it once whatever retries or redone workflow tasks send it again, and
 * hashes `input` into `inputHash`, never storing it whole.
 */
export type AuditEventInput = {
  runId: string;
  tenantId: string;
  /** ISO-8601, from the workflow's deterministic clock. */
  at: string;
  type: AuditEventType;
  actor: Actor;
  stepId?: string;
  stepType?: string;
  attempt?: number;
  input?: unknown;
  output?: unknown;
  error?: ErrorInfo;
  message?: string;
  /** The run status this event moves the run to, when it changes it. */
  runStatus?: RunStatus;
  /** The step status this event moves the step to, when it changes it. */
  stepStatus?: StepStatus;
  /** Sent with RUN_STARTED: a child run's row is created from it, once the worker has verified its parent. */
  run?: {
    definitionName: string;
    definitionVersion: number;
    input: unknown;
    trigger: Actor;
    workflowId: string;
    temporalRunId: string;
    startedAt: string;
    /** The variables the run pinned (a child run's are its parent's). */
    variables?: PinnedVariables;
  };
};
