import { z } from 'zod';
import { parseDuration } from './duration';
import type { StepType } from './step-types';

/**
 * Step ids: a letter or `_`, then letters, digits, `_` or `-`, at most 64 characters. They
 * appear in JSON pointers, `$steps.<id>` expressions and idempotency keys, so no dots, slashes
 * or spaces. (An id with `-` is written `$steps."my-id"` in an expression.)
 */
export const STEP_ID_PATTERN = /^[A-Za-z_][A-Za-z0-9_-]{0,63}$/;

/**
 * Definition names: lowercase letters, digits, `-` and `_`, starting with a letter or digit,
 * at most 63 characters. Lowercase only, so `Orders` and `orders` cannot both exist; no `/`,
 * because names are part of Temporal workflow ids (`<tenant>/<definition>/<run id>`).
 */
export const DEFINITION_NAME_PATTERN = /^[a-z0-9][a-z0-9_-]{0,62}$/;

/** How a step with several `needs` decides to run. */
export const JOIN_MODES = ['all', 'any'] as const;
/** One of {@link JOIN_MODES}; `"all"` when absent. */
export type JoinMode = (typeof JOIN_MODES)[number];

/** What a step's failure does to the run. */
export const ON_ERROR_MODES = ['fail', 'continue'] as const;
/** One of {@link ON_ERROR_MODES}; `"fail"` when absent. */
export type OnErrorMode = (typeof ON_ERROR_MODES)[number];

/** Method of an `http` step or action without one. */
export const DEFAULT_HTTP_METHOD = 'GET';

const DURATION_HINT = 'use e.g. "500ms", "90s", "15m", "1h30m", "3d" or ISO-8601 "PT2H"';

const durationSchema = z
  .string()
  .refine((text) => parseDuration(text) !== undefined, {
    error: (issue) => `invalid duration ${JSON.stringify(issue.input)}: ${DURATION_HINT}`,
  })
  .describe(`A positive duration: ${DURATION_HINT}`);

const jsonValueSchema = z.json({ error: 'must be a JSON value' });
/** Any JSON value. */
export type JsonValue = z.infer<typeof jsonValueSchema>;

const jsonSchemaObject = z.record(z.string(), z.unknown()).describe('A JSON Schema (draft 2020-12)');

const stepIdSchema = z.string().regex(STEP_ID_PATTERN, {
  error: (issue) =>
    `invalid step id ${JSON.stringify(issue.input)}: use a letter or "_" then letters, digits, "_" or "-", at most 64 characters`,
});

const statusCodeSchema = z.int().min(100).max(599);

/** Retry policy of a step (merged over `defaults.retry`). */
export const retryPolicySchema = z.strictObject({
  maxAttempts: z.int().min(1).optional().describe('Attempts in total, including the first'),
  initialInterval: durationSchema.optional(),
  backoffCoefficient: z.number().min(1).optional(),
  maxInterval: durationSchema.optional(),
}).superRefine((policy, context) => {
  const initial = policy.initialInterval === undefined ? undefined : parseDuration(policy.initialInterval);
  const max = policy.maxInterval === undefined ? undefined : parseDuration(policy.maxInterval);
  if (initial !== undefined && max !== undefined && max < initial) {
    context.addIssue({ code: 'custom', path: ['maxInterval'], message: 'maxInterval is shorter than initialInterval' });
  }
});
/** Retry policy of a step. */
export type RetryPolicy = z.infer<typeof retryPolicySchema>;

/** `defaults` of a definition: applied to every step that does not set its own. */
export const stepDefaultsSchema = z.strictObject({
  timeout: durationSchema.optional(),
  retry: retryPolicySchema.optional(),
});
/** Defaults applied to every step. */
export type StepDefaults = z.infer<typeof stepDefaultsSchema>;

const actionFields = {
  if: z.string().optional().describe('A guard expression; false skips the action'),
  retry: retryPolicySchema.optional(),
  timeout: durationSchema.optional(),
  description: z.string().optional(),
};

const httpFields = {
  method: z.string().min(1).optional().describe('HTTP method, may be an expression; GET when absent'),
  url: z.string().min(1),
  query: z.record(z.string(), jsonValueSchema).optional(),
  headers: z.record(z.string(), z.string()).optional(),
  body: jsonValueSchema.optional(),
  expectStatus: z
    .union([statusCodeSchema, z.array(statusCodeSchema).min(1)], {
      error: 'expectStatus must be a status code (100-599) or a non-empty list of them',
    })
    .optional(),
};

const workflowFields = {
  definition: z.string().regex(DEFINITION_NAME_PATTERN, { error: 'must name a definition' }),
  version: z
    .union([z.int().min(1), z.literal('latest')], { error: 'version must be a positive integer or "latest"' })
    .optional(),
  input: jsonValueSchema.optional(),
};

/** An `http` request used as a compensation or as a `map` step's action. */
export const httpActionSchema = z.strictObject({ type: z.literal('http'), ...actionFields, ...httpFields });
/** An `http` request outside the graph (compensation or `map` action). */
export type HttpAction = z.infer<typeof httpActionSchema>;

/** A child workflow used as a compensation or as a `map` step's action. */
export const workflowActionSchema = z.strictObject({ type: z.literal('workflow'), ...actionFields, ...workflowFields });
/** A child workflow outside the graph (compensation or `map` action). */
export type WorkflowAction = z.infer<typeof workflowActionSchema>;

/** An `http` or `workflow` action: no `needs`, `join`, `output`, `onError` or `compensate`. */
export const compensateActionSchema = z.discriminatedUnion('type', [httpActionSchema, workflowActionSchema]);
/** What a step runs during rollback. */
export type CompensateAction = z.infer<typeof compensateActionSchema>;

const stepFields = {
  needs: z.array(z.string()).optional().describe('Ids of the steps this one depends on'),
  if: z.string().optional().describe('A guard expression; false marks the step SKIPPED'),
  join: z.enum(JOIN_MODES).optional(),
  retry: retryPolicySchema.optional(),
  timeout: durationSchema.optional(),
  output: jsonSchemaObject.optional().describe("A JSON Schema the step's output must satisfy"),
  compensate: compensateActionSchema.optional(),
  onError: z.enum(ON_ERROR_MODES).optional(),
  description: z.string().optional(),
};

const httpStepSchema = z.strictObject({ type: z.literal('http'), ...stepFields, ...httpFields });
/** An HTTP request; output `{ status, headers, body }`. */
export type HttpStep = z.infer<typeof httpStepSchema>;

const transformStepSchema = z.strictObject({ type: z.literal('transform'), ...stepFields, value: jsonValueSchema });
/** Evaluates `value` inside the workflow. */
export type TransformStep = z.infer<typeof transformStepSchema>;

const conditionStepSchema = z.strictObject({
  type: z.literal('condition'),
  ...stepFields,
  if: z.string().describe('The condition itself (not a guard): an expression'),
  then: z.array(z.string()).optional(),
  else: z.array(z.string()).optional(),
});
/** Chooses between `then` and `else`; its `if` is the condition, not a guard. */
export type ConditionStep = z.infer<typeof conditionStepSchema>;

const delayStepSchema = z
  .strictObject({
    type: z.literal('delay'),
    ...stepFields,
    duration: durationSchema.optional(),
    until: z.string().optional().describe('An expression giving a timestamp'),
  })
  .superRefine((step, context) => {
    if (step.duration !== undefined && step.until !== undefined) {
      context.addIssue({ code: 'custom', path: ['until'], message: 'a delay takes either "duration" or "until", not both' });
    } else if (step.duration === undefined && step.until === undefined) {
      context.addIssue({ code: 'custom', path: [], message: 'a delay needs "duration" or "until"' });
    }
  });
/** A durable timer, for `duration` or `until` a timestamp. */
export type DelayStep = z.infer<typeof delayStepSchema>;

const workflowStepSchema = z.strictObject({ type: z.literal('workflow'), ...stepFields, ...workflowFields });
/** Runs another definition as a child workflow. */
export type WorkflowStep = z.infer<typeof workflowStepSchema>;

const waitStepSchema = z.strictObject({
  type: z.literal('wait'),
  ...stepFields,
  signal: z.string().min(1),
  timeout: durationSchema.optional().describe('How long to wait for the signal'),
});
/** Waits for a named signal; output is its payload. */
export type WaitStep = z.infer<typeof waitStepSchema>;

/** An inline graph run once per item by a `map` step. */
export interface InlineGraph {
  steps: Record<string, Step>;
  /** Result for one item; may reference any step of the inline graph. */
  output?: JsonValue;
}

const inlineGraphSchema: z.ZodType<InlineGraph> = z.lazy(() =>
  z.strictObject({ steps: stepsSchema, output: jsonValueSchema.optional() }),
);

/** What a `map` step runs per item. */
export type MapAction = HttpAction | WorkflowAction | InlineGraph;

const mapStepSchema = z.strictObject({
  type: z.literal('map'),
  ...stepFields,
  items: z.string().describe('An expression giving an array'),
  maxConcurrency: z.int().min(1).optional(),
  do: z.union([compensateActionSchema, inlineGraphSchema]),
});
/** Runs `do` for each item of `items`; output is the results in item order. */
export type MapStep = z.infer<typeof mapStepSchema>;

/** One step of any built-in type, discriminated by `type`. */
export const stepSchema = z.discriminatedUnion('type', [
  httpStepSchema,
  transformStepSchema,
  conditionStepSchema,
  delayStepSchema,
  workflowStepSchema,
  waitStepSchema,
  mapStepSchema,
]);
/** One step of any built-in type. */
export type Step = z.infer<typeof stepSchema>;

const stepsSchema = z
  .record(stepIdSchema, stepSchema)
  .refine((steps) => Object.keys(steps).length > 0, { error: 'needs at least one step' });

/** A whole workflow definition (SPEC §2), rejecting unknown fields at every level. */
export const definitionSchema = z.strictObject({
  $schema: z.string().optional().describe('URL of this JSON Schema, for editors'),
  name: z.string().regex(DEFINITION_NAME_PATTERN, {
    error: 'name must be lowercase letters, digits, "-" or "_", starting with a letter or digit, at most 63 characters',
  }),
  description: z.string().optional(),
  input: jsonSchemaObject.optional().describe("A JSON Schema for the run's input"),
  output: jsonValueSchema.optional().describe("The run's output; may reference any step"),
  defaults: stepDefaultsSchema.optional(),
  steps: stepsSchema,
});
/** A parsed workflow definition. */
export type Definition = z.infer<typeof definitionSchema>;

// Compile-time guard: the union above and STEP_TYPES must list the same step types.
type SameSet<A, B> = [A] extends [B] ? ([B] extends [A] ? true : never) : never;
const stepTypesMatch: SameSet<Step['type'], StepType> = true;
void stepTypesMatch;

/**
 * The JSON Schema of a definition, for editors and documentation (draft 2020-12, describing the
 * input side: optional fields stay optional). Durations, expressions and the graph are checked
 * only by `validateDefinition`.
 */
export function definitionJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(definitionSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
}
