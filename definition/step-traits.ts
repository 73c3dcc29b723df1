import { customStepConfig } from './custom-step-type';
import { STEP_TYPES, type StepType } from './step-types';

/**
 * How a step's attempt runs: an activity on a worker, a child workflow, a durable timer, a wait
 * for a signal, or code evaluated in the workflow itself.
 */
export const STEP_EXECUTIONS = ['activity', 'child-workflow', 'timer', 'signal', 'in-workflow'] as const;
/** One of {@link STEP_EXECUTIONS}. */
export type StepExecution = (typeof STEP_EXECUTIONS)[number];

/**
 * What the validator and the interpreter need to know about a step type, in one place. A new
 * built-in type is one entry of {@link STEP_TRAITS} (a missing entry does not compile) and one
 * handler in `interpreter/step-handlers.ts`.
 */
export type StepTraits = {
  /**
   * Fields whose strings are templates, evaluated before the step runs; every other field is
   * taken literally. `'config'`: every field but the common ones (a custom step's config).
   */
  templated: readonly string[] | 'config';
  /** Whether its templated fields may read `$secret()`: the activity resolves those, never the workflow. */
  secrets: boolean;
  /** How an attempt runs. */
  runs: StepExecution;
  /** Whether a failed attempt is tried again by the step's retry policy; otherwise one attempt. */
  retries: boolean;
  /** Whether a `testRun` may give its output instead of running it: not when it calls nothing. */
  mockable: boolean;
  /** Whether the step may carry a `compensate` action. */
  compensable: boolean;
  /** Whether the type may be a `compensate` action or a `map` step's `do` action. */
  action: boolean;
  /** Whether the step may sit in a `map` step's inline graph. */
  inMap: boolean;
  /** Whether `if` is a guard that skips the step; a `condition`'s `if` is its own expression. */
  guard: boolean;
  /** The step status its STEP_STARTED event records. */
  startStatus: 'RUNNING' | 'WAITING';
  /**
   * Whether an attempt makes Temporal commands (schedules an activity, a timer or a child
   * workflow, or waits for a signal). A step that makes none only computes in the workflow; the
   * run need not wait for the audit writes of its start and success (`trellis-inline-audit`).
   */
  commands: boolean;
};

/** The traits of every built-in step type (SPEC §2 "Step types"). */
export const STEP_TRAITS = {
  http: {
    templated: ['method', 'url', 'query', 'headers', 'body'],
    secrets: true,
    runs: 'activity',
    retries: true,
    mockable: true,
    compensable: true,
    action: true,
    inMap: true,
    guard: true,
    startStatus: 'RUNNING',
    commands: true,
  },
  transform: {
    templated: ['value'],
    secrets: false,
    runs: 'in-workflow',
    retries: false,
    mockable: false,
    compensable: true,
    action: false,
    inMap: true,
    guard: true,
    startStatus: 'RUNNING',
    commands: false,
  },
  condition: {
    // Its `if` is read as its input, not as a guard (see `guard`).
    templated: [],
    secrets: false,
    runs: 'in-workflow',
    retries: false,
    mockable: false,
    compensable: true,
    action: false,
    inMap: true,
    guard: false,
    startStatus: 'RUNNING',
    commands: false,
  },
  delay: {
    templated: ['until'],
    secrets: false,
    runs: 'timer',
    retries: false,
    mockable: true,
    compensable: true,
    action: false,
    inMap: true,
    guard: true,
    startStatus: 'RUNNING',
    commands: true,
  },
  workflow: {
    templated: ['input'],
    secrets: false,
    runs: 'child-workflow',
    retries: false,
    mockable: true,
    compensable: true,
    action: true,
    inMap: true,
    guard: true,
    startStatus: 'RUNNING',
    commands: true,
  },
  wait: {
    templated: [],
    secrets: false,
    runs: 'signal',
    retries: false,
    mockable: true,
    compensable: true,
    action: false,
    // Signals are addressed to the run, not to one item.
    inMap: false,
    guard: true,
    startStatus: 'WAITING',
    commands: true,
  },
  map: {
    templated: ['items'],
    secrets: false,
    // Its items run as activities, child runs or inline graphs; the step itself fans them out.
    runs: 'in-workflow',
    retries: false,
    mockable: true,
    compensable: true,
    action: false,
    inMap: true,
    guard: true,
    startStatus: 'RUNNING',
    commands: true,
  },
  log: {
    templated: ['message'],
    // A log message goes to the audit trail: it may not read secrets.
    secrets: false,
    runs: 'in-workflow',
    retries: false,
    mockable: false,
    compensable: true,
    action: false,
    inMap: true,
    guard: true,
    startStatus: 'RUNNING',
    commands: false,
  },
  code: {
    // JavaScript, not a template: `{%` in its source is text, and no secret reaches the sandbox.
    templated: [],
    secrets: false,
    runs: 'activity',
    // Only an attempt lost with its worker: everything the code does wrong fails for good.
    retries: true,
    mockable: true,
    compensable: true,
    action: false,
    inMap: true,
    guard: true,
    startStatus: 'RUNNING',
    commands: true,
  },
} as const satisfies Record<StepType, StepTraits>;

/**
 * The traits every custom step type registered by the deployment has (SPEC §2 "Custom step
 * types"): one attempt is one `runCustomStep` activity, retried by the step's policy.
 */
export const CUSTOM_STEP_TRAITS = {
  templated: 'config',
  secrets: true,
  runs: 'activity',
  retries: true,
  mockable: true,
  compensable: true,
  action: false,
  inMap: true,
  guard: true,
  startStatus: 'RUNNING',
  commands: true,
} as const satisfies StepTraits;

const BUILT_IN: ReadonlySet<string> = new Set(STEP_TYPES);

/** True when `type` is a built-in step type (an own key of {@link STEP_TRAITS}). */
export function isBuiltInStepType(type: string): type is StepType {
  return BUILT_IN.has(type);
}

/**
 * The traits of a step type: a built-in type's entry, else {@link CUSTOM_STEP_TRAITS} (whether a
 * custom type is registered is the validator's business, not this function's).
 */
export function traitsOf(type: string): StepTraits {
  return isBuiltInStepType(type) ? STEP_TRAITS[type] : CUSTOM_STEP_TRAITS;
}

/** The names of a step's (or action's) templated fields that it has, per its type's traits. */
export function templatedFieldsOf(step: Readonly<Record<string, unknown>>): readonly string[] {
  const { templated } = traitsOf(String(step.type));
  return templated === 'config' ? Object.keys(customStepConfig(step)) : templated;
}
