import type { Definition } from '../definition/definition-schema';
import type { AuditEventType, RunStatus, StepStatus } from '../definition/step-types';

/** Who or what triggered a run; recorded on the run and on each of its audit events. */
export type Actor = { type: 'api' | 'webhook' | 'schedule' | 'test'; id: string };

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
};

/** A failure as stored and shown to users: plain JSON, no stack traces from other machines. */
export type ErrorInfo = { message: string; type?: string; retryable?: boolean; details?: unknown };

/**
 * One audit event as the interpreter emits it. `seq` is assigned by the workflow (deterministic,
 * gap-free); the sink hashes `input` into `inputHash` and never stores it whole.
 */
export type AuditEventInput = {
  runId: string;
  tenantId: string;
  seq: number;
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
  /** Sent with RUN_STARTED so the run index has the run even when no API process created it. */
  run?: {
    definitionName: string;
    definitionVersion: number;
    input: unknown;
    trigger: Actor;
    workflowId: string;
    temporalRunId: string;
    startedAt: string;
  };
};
