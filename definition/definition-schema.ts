import { z } from 'zod';
import {
  checkCustomStepTypes,
  COMMON_STEP_FIELDS,
  customStepConfig,
  type CommonStepField,
  type CustomStepTypeName,
  type CustomStepTypeSchema,
} from './custom-step-type';
import { MAX_ATTEMPT_MS, MAX_TIMER_MS, parseDuration } from './duration';
import { isTemplate } from './expression';
import { LOG_LEVELS } from './log-levels';
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

/**
 * Which redirects an `http` step, compensation or map action follows (SPEC §7b): `same-origin`
 * (the default) only to the same scheme, host and port; `any` also to other origins, without
 * the request's credentials and secret-bearing headers or body; `none` never. A redirect not
 * followed is the step's response.
 */
export const REDIRECT_MODES = ['same-origin', 'any', 'none'] as const;
/** One of {@link REDIRECT_MODES}; `"same-origin"` when absent. */
export type RedirectMode = (typeof REDIRECT_MODES)[number];

/** Highest `maxConcurrency` of a `map` step: more items at once would swamp the workers, not speed up. */
export const MAX_MAP_CONCURRENCY = 1000;

const DURATION_HINT = 'use e.g. "500ms", "90s", "15m", "1h30m", "3d" or ISO-8601 "PT2H"';

/** A duration of at most `maxMs` (`max` in words); messages say it is the most `what` may take. */
function durationSchemaUpTo(maxMs: number, max: string, what: string) {
  return z
    .string()
    .refine((text) => parseDuration(text) !== undefined, {
      error: (issue) => `invalid duration ${JSON.stringify(issue.input)}: ${DURATION_HINT}`,
    })
    .refine((text) => (parseDuration(text) ?? 0) <= maxMs, {
      error: (issue) => `${JSON.stringify(issue.input)} is longer than ${max}, the most ${what} may take`,
    })
    .describe(`A positive duration of at most ${max}: ${DURATION_HINT}`);
}

// Timers: delays, waits, the whole run. See MAX_TIMER_MS for the reasons.
const timerDurationSchema = durationSchemaUpTo(MAX_TIMER_MS, '365 days', 'a delay, a wait or a run');
// One attempt, and the wait between two. See MAX_ATTEMPT_MS for the reasons.
const durationSchema = durationSchemaUpTo(MAX_ATTEMPT_MS, '1 day', 'one attempt or the wait between two attempts');

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
  followRedirects: z
    .enum(REDIRECT_MODES, { error: `followRedirects must be one of ${REDIRECT_MODES.map((mode) => JSON.stringify(mode)).join(', ')}` })
    .optional()
    .describe(
      'Which redirects to follow, at most 5 in a row: "same-origin" (default) only to the same scheme, host and port; "any" also to other origins, ' +
        'dropping Authorization, Cookie, Proxy-Authorization and every header or body that reads $secret; "none" never. A redirect not followed is the response.',
    ),
  local: z
    .boolean()
    .optional()
    .describe(
      'Run each attempt as a Temporal local activity, inside the run\'s workflow task, instead of a regular activity: fewer round trips through the server for short calls. ' +
        'At most 10s per attempt (timeout, else defaults.timeout, else 10s). Retries, the audit trail and Idempotency-Key are the same; a worker that dies mid-call repeats the request.',
    ),
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
  taskQueue: z
    .string()
    .optional()
    .describe("The worker pool (Temporal task queue) that runs this step's activities, its compensation's and its map items'; one the deployment allows"),
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
    duration: timerDurationSchema.optional(),
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
  timeout: timerDurationSchema.optional().describe('How long to wait for the signal'),
});
/** Waits for a named signal; output is its payload. */
export type WaitStep = z.infer<typeof waitStepSchema>;

const logStepSchema = z.strictObject({
  type: z.literal('log'),
  ...stepFields,
  message: jsonValueSchema.describe('What to log: any JSON whose strings may hold expressions; not a string once evaluated, it is logged as JSON'),
  level: z
    .enum(LOG_LEVELS, { error: `level must be one of ${LOG_LEVELS.map((level) => JSON.stringify(level)).join(', ')}` })
    .optional()
    .describe('"debug", "info" (default), "warn" or "error"'),
});
/** Writes one line to the run's log (a LOG audit event), evaluated in the workflow; output `{ level, message }`. */
export type LogStep = z.infer<typeof logStepSchema>;
/** Longest `source` of a `code` step, in characters. */
export const MAX_CODE_SOURCE_CHARS = 64 * 1024;

const codeStepSchema = z.strictObject({
  type: z.literal('code'),
  ...stepFields,
  source: z
    .string()
    .min(1)
    .max(MAX_CODE_SOURCE_CHARS)
    .describe(
      'JavaScript (ES2023, QuickJS): the body of a function of (input, steps, run, item, index) that returns the step\'s output, a JSON value, ' +
        'e.g. "return input.items.length". Runs in a sandbox with no network, files or timers; `lib` holds the helpers and console.* the step\'s log lines',
    ),
});
/** Runs JavaScript in a QuickJS sandbox as an activity; output is what it returns. */
export type CodeStep = z.infer<typeof codeStepSchema>;

/** An inline graph run once per item by a `map` step. */
export interface InlineGraph {
  steps: Record<string, Step>;
  /** Result for one item; may reference any step of the inline graph. */
  output?: JsonValue;
}

/** What a `map` step runs per item. */
export type MapAction = HttpAction | WorkflowAction | InlineGraph;

/** The `map` step schema whose inline graphs hold `steps()` (a getter: the schemas are recursive). */
function mapStepSchemaOver(steps: () => z.ZodType<Record<string, Step>>) {
  const inlineGraphSchema: z.ZodType<InlineGraph> = z.lazy(() =>
    z.strictObject({ steps: steps(), output: jsonValueSchema.optional() }),
  );
  return z.strictObject({
    type: z.literal('map'),
    ...stepFields,
    items: z.string().describe('An expression giving an array'),
    maxConcurrency: z.int().min(1).max(MAX_MAP_CONCURRENCY).optional(),
    do: z.union([compensateActionSchema, inlineGraphSchema]),
  });
}

function stepsSchemaOf(step: z.ZodType<Step>): z.ZodType<Record<string, Step>> {
  return z.record(stepIdSchema, step).refine((steps) => Object.keys(steps).length > 0, { error: 'needs at least one step' });
}

function definitionSchemaOver(steps: z.ZodType<Record<string, Step>>) {
  return z.strictObject({
    $schema: z
      .string()
      .optional()
      .describe('URL of this JSON Schema, for editors: <your API>/schema/definition.json. Not part of the content: it never makes a new version'),
    name: z.string().regex(DEFINITION_NAME_PATTERN, {
      error: 'name must be lowercase letters, digits, "-" or "_", starting with a letter or digit, at most 63 characters',
    }),
    description: z.string().optional(),
    input: jsonSchemaObject.optional().describe("A JSON Schema for the run's input"),
    output: jsonValueSchema.optional().describe("The run's output; may reference any step"),
    defaults: stepDefaultsSchema.optional(),
    timeout: timerDurationSchema
      .optional()
      .describe('Longest the whole run may take; past it, running steps are cancelled, succeeded ones compensated, and the run ends TIMED_OUT'),
    steps,
  });
}

const mapStepSchema = mapStepSchemaOver(() => stepsSchema);
/** Runs `do` for each item of `items`; output is the results in item order. */
export type MapStep = z.infer<typeof mapStepSchema>;

// The built-in step types but `map`, whose schema depends on the step types its inline graphs allow.
const leafStepSchemas = [
  httpStepSchema,
  transformStepSchema,
  conditionStepSchema,
  delayStepSchema,
  workflowStepSchema,
  waitStepSchema,
  logStepSchema,
  codeStepSchema,
] as const;

/** One step of any built-in type, discriminated by `type`. */
export const stepSchema = z.discriminatedUnion('type', [...leafStepSchemas, mapStepSchema]);
/** One step of a built-in type; `step.type === 'http'` narrows it to {@link HttpStep}. */
export type BuiltInStep = z.infer<typeof stepSchema>;

/** The fields every step may have, whatever its type. */
export type CommonStepFields = z.infer<z.ZodObject<typeof stepFields>>;

/**
 * A step of a custom type registered by the deployment: the common fields, and the type's own
 * config fields (checked against its registered schema by {@link definitionSchemaFor}).
 */
export type CustomStep = CommonStepFields & { type: CustomStepTypeName; [field: string]: unknown };

/** One step of any type, built-in or custom. */
export type Step = BuiltInStep | CustomStep;

const stepsSchema = stepsSchemaOf(stepSchema);

/**
 * A whole workflow definition (SPEC §2) with the built-in step types only, rejecting unknown
 * fields at every level. For a deployment with custom step types, see {@link definitionSchemaFor}.
 */
export const definitionSchema = definitionSchemaOver(stepsSchema);
/** A parsed workflow definition. */
export type Definition = z.infer<typeof definitionSchema>;

const customSchemas = new WeakMap<readonly CustomStepTypeSchema[], z.ZodType<Definition>>();

/**
 * The definition schema that also accepts the given custom step types, in `map` inline graphs
 * too: their common fields are checked as for built-in steps, their other fields against the
 * type's `config` as a strict object, ignoring problems located at a string holding `{%` (an
 * expression, resolved and checked again at run time). Built once per array of types (cached by
 * the array's identity) and the built-in {@link definitionSchema} for an empty array.
 *
 * @throws {Error} when a registration is invalid (see {@link checkCustomStepTypes}).
 */
export function definitionSchemaFor(stepTypes: readonly CustomStepTypeSchema[]): z.ZodType<Definition> {
  if (stepTypes.length === 0) return definitionSchema;
  const cached = customSchemas.get(stepTypes);
  if (cached) return cached;
  checkCustomStepTypes(stepTypes);
  const steps: z.ZodType<Record<string, Step>> = z.lazy(() => stepsSchemaOf(union));
  // The options' static types cannot follow a list known only at run time; the parsed value is
  // typed by the annotation on `steps` instead.
  const options = [...leafStepSchemas, mapStepSchemaOver(() => steps), ...stepTypes.map(customStepSchema)];
  const union = z.discriminatedUnion('type', options as unknown as [typeof mapStepSchema]);
  const schema = definitionSchemaOver(steps);
  customSchemas.set(stepTypes, schema);
  return schema;
}

function customStepSchema(stepType: CustomStepTypeSchema) {
  const config = stepType.config.strict();
  return z
    .looseObject({ type: z.literal(stepType.name), ...stepFields })
    .superRefine(
      (step, context) => {
        const fields = customStepConfig(step);
        const result = config.safeParse(fields);
        if (result.success) return;
        for (const issue of result.error.issues) {
          if (!isTemplate(valueAt(fields, issue.path))) context.addIssue(issue as Parameters<typeof context.addIssue>[0]);
        }
      },
      // Checked even when a common field is wrong too, so that every error is reported at once.
      { when: (payload) => payload.value !== null && typeof payload.value === 'object' },
    )
    .describe(stepType.description ?? `A "${stepType.name}" step`);
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let node = root;
  for (const key of path) {
    if (node === null || typeof node !== 'object' || typeof key === 'symbol' || !Object.hasOwn(node, key)) return undefined;
    node = (node as Record<string | number, unknown>)[key];
  }
  return node;
}

// Compile-time guard: the union above and STEP_TYPES must list the same step types.
type SameSet<A, B> = [A] extends [B] ? ([B] extends [A] ? true : never) : never;
const stepTypesMatch: SameSet<BuiltInStep['type'], StepType> = true;
void stepTypesMatch;
// ... and COMMON_STEP_FIELDS the fields of every step.
const commonFieldsMatch: SameSet<keyof typeof stepFields | 'type', CommonStepField> = true;
void commonFieldsMatch;
void COMMON_STEP_FIELDS;

/**
 * The JSON Schema of a definition, for editors and documentation (draft 2020-12, describing the
 * input side: optional fields stay optional). Durations, expressions and the graph are checked
 * only by `validateDefinition`.
 */
export function definitionJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(definitionSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
}
