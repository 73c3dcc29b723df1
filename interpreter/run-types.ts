import type { Definition } from '../definition/definition-schema';
import type { LogLevel } from '../definition/log-levels';
import type { AuditEventType, RunStatus, StepStatus } from '../definition/step-types';
import type { PinnedVariables } from '../definition/variables';

/**
 * Who or what triggered a run; recorded on the run and on each of its audit events. A run started
 * by a `workflow` step has type `workflow`, the parent run's id, and the step that started it; a
 * webhook's run the webhook's id and the delivery's (`deliveryId`); an event trigger's run the
 * trigger's id and the event's (`eventId`); a schedule's run the schedule's id and the time the
 * fire was scheduled for (`firedAt`, ISO-8601).
 */
export type Actor = {
  type: 'api' | 'webhook' | 'event' | 'schedule' | 'test' | 'workflow';
  id: string;
  stepId?: string;
  deliveryId?: string;
  eventId?: string;
  firedAt?: string;
};

/**
 * One link of the chain of runs and events that led to a run (loop prevention): a run, as the
 * keyed hash of its tenant and definition (`d`, so a chain names no tenant or definition to the
 * services steps call) and its id (`r`); or an event, by its id (`e`).
 */
export type ChainLink = { d: string; r: string } | { e: string };

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
  /**
   * The runs and events that led to this run, oldest first (for a run started by a trigger whose
   * request carried `Trellis-Chain`). The run's row holds the same, and is what the worker reads.
   */
  chain?: ChainLink[];
  /**
   * The deployment's task queue per step type (`TRELLIS_STEP_QUEUES`), pinned when the run was
   * triggered: activities of a step of that type that names no `taskQueue` run there. Child runs
   * get their parent's. Absent: every activity on the run's own queue.
   */
  stepQueues?: Record<string, string>;
};

/**
 * Outputs of steps that succeeded in an earlier run (and were not compensated), in the order
 * they finished there: the retry records them as succeeded without running them again.
 */
export type ReusedOutputs = { runId: string; steps: Array<{ stepId: string; output: unknown }> };

/** How many items of a `map` step have finished: recorded on the step, not in the audit trail. */
export type StepProgress = { runId: string; tenantId: string; stepId: string; done: number; total: number };

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
  /** On LOG: the line's level. */
  level?: LogLevel;
  /** On LOG: the line's position among the lines its step's attempt logged (0, 1, …), part of the event's key. */
  line?: number;
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
