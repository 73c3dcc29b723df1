/** Shapes of what the dashboard reads from the API (see graphql/schema.graphql). */

export const RUN_STATUSES = ['RUNNING', 'COMPLETED', 'FAILED', 'COMPENSATING', 'COMPENSATED', 'CANCELLED', 'TIMED_OUT', 'TERMINATED'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number] | 'PLANNED';

export const TRIGGER_TYPES = ['api', 'test', 'workflow', 'webhook', 'schedule'] as const;

export type StepStatus =
  | 'PENDING'
  | 'RUNNING'
  | 'WAITING'
  | 'SUCCEEDED'
  | 'FAILED'
  | 'SKIPPED'
  | 'CANCELLED'
  | 'COMPENSATING'
  | 'COMPENSATED'
  | 'COMPENSATION_FAILED';

export type ErrorInfo = { message: string; type?: string; retryable?: boolean; details?: unknown };

export type StepState = {
  id: string;
  type: string;
  status: StepStatus;
  attempts: number;
  input?: unknown;
  items?: { done: number; total: number } | null;
  startedAt: string | null;
  finishedAt: string | null;
  output?: unknown;
  error: ErrorInfo | null;
};

export type RunSummary = {
  id: string;
  definition: string;
  version: number;
  status: RunStatus;
  trigger: { type: string; id: string; stepId?: string };
  startedAt: string;
  finishedAt: string | null;
  error: ErrorInfo | null;
  steps?: Array<Pick<StepState, 'status'>>;
};

export type Run = Omit<RunSummary, 'steps'> & {
  input: unknown;
  output: unknown;
  retryOf: string | null;
  spec?: DefinitionDocument;
  steps: StepState[];
  temporal: { workflowId: string; uiUrl: string | null };
  retryPlan?: { fromStep: string | null; reused: Array<{ stepId: string }>; rerun: string[] } | null;
};

export type AuditEvent = {
  seq: number;
  at: string;
  type: string;
  stepId: string | null;
  attempt: number | null;
  inputHash: string | null;
  output: unknown;
  error: ErrorInfo | null;
  message: string | null;
  /** A LOG event's level (debug, info, warn, error); null on other events. */
  level?: string | null;
};

/** A step of a definition document, as far as the dashboard reads it. */
export type StepSpec = {
  type?: string;
  needs?: string[];
  then?: string[];
  else?: string[];
  description?: string;
  compensate?: unknown;
  signal?: string;
  [field: string]: unknown;
};

export type DefinitionDocument = { name?: string; description?: string; steps?: Record<string, StepSpec>; [field: string]: unknown };
