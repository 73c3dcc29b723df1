/**
 * The fixed value sets of the definition language and of runs. The zod schema, the GraphQL enums
 * and the database columns all derive from these arrays, so adding a value here is the one place
 * a new type or status starts.
 */

/** Built-in step types (SPEC §2 "Step types"). */
export const STEP_TYPES = ['http', 'transform', 'condition', 'delay', 'workflow', 'wait', 'map', 'log', 'code'] as const;
/** One of {@link STEP_TYPES}. */
export type StepType = (typeof STEP_TYPES)[number];

/** Status of a whole run (SPEC §3). */
export const RUN_STATUSES = [
  'RUNNING',
  'COMPLETED',
  'FAILED',
  'COMPENSATING',
  'COMPENSATED',
  'CANCELLED',
  'TIMED_OUT',
  'TERMINATED',
] as const;
/** One of {@link RUN_STATUSES}. */
export type RunStatus = (typeof RUN_STATUSES)[number];

/** Run statuses a run never leaves. */
export const FINAL_RUN_STATUSES: ReadonlySet<string> = new Set<RunStatus>(['COMPLETED', 'FAILED', 'COMPENSATED', 'CANCELLED', 'TIMED_OUT', 'TERMINATED']);

/** Run statuses of a run in flight: its workflow is running (the complement of {@link FINAL_RUN_STATUSES}). */
export const IN_FLIGHT_RUN_STATUSES = ['RUNNING', 'COMPENSATING'] as const satisfies readonly RunStatus[];

/** Status of one step within a run (SPEC §3). */
export const STEP_STATUSES = [
  'PENDING',
  'RUNNING',
  'WAITING',
  'SUCCEEDED',
  'FAILED',
  'SKIPPED',
  'CANCELLED',
  'COMPENSATING',
  'COMPENSATED',
  'COMPENSATION_FAILED',
] as const;
/** One of {@link STEP_STATUSES}. */
export type StepStatus = (typeof STEP_STATUSES)[number];

/** Step statuses that end a step's execution (it has a finish time). */
export const FINISHED_STEP_STATUSES: ReadonlySet<string> = new Set<StepStatus>([
  'SUCCEEDED',
  'FAILED',
  'SKIPPED',
  'CANCELLED',
  'COMPENSATED',
  'COMPENSATION_FAILED',
]);

/** Kinds of audit event, one per run or step transition (SPEC §4). */
export const AUDIT_EVENT_TYPES = [
  'RUN_STARTED',
  'STEP_STARTED',
  'STEP_SUCCEEDED',
  'STEP_FAILED',
  'STEP_SKIPPED',
  'SIGNAL_RECEIVED',
  'COMPENSATION_STARTED',
  'STEP_COMPENSATED',
  'COMPENSATION_FAILED',
  'RUN_COMPLETED',
  'RUN_FAILED',
  'RUN_CANCELLED',
  'RUN_TERMINATED',
  'RUN_RESET',
  // Not a transition of the run it is recorded on: a trigger refused a run this run's request asked for (a loop).
  'TRIGGER_REFUSED',
  // Not a transition: a line a step logged (a `log` step, or what an activity returned as `logs`), with its level.
  'LOG',
] as const;
/** One of {@link AUDIT_EVENT_TYPES}. */
export type AuditEventType = (typeof AUDIT_EVENT_TYPES)[number];

/** The events that close a run's audit trail: nothing follows them. */
export const FINAL_AUDIT_EVENT_TYPES: ReadonlySet<string> = new Set<AuditEventType>(['RUN_COMPLETED', 'RUN_FAILED', 'RUN_CANCELLED', 'RUN_TERMINATED']);
