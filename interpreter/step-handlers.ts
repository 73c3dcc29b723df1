import { patched, sleep } from '@temporalio/workflow';
import type { HttpRequest } from '../activities/http.activity';
import { customStepConfig } from '../definition/custom-step-type';
import type { BuiltInStep, CustomStep, MapStep, Step } from '../definition/definition-schema';
import { MAX_TIMER_MS, parseDuration } from '../definition/duration';
import { isBuiltInStepType } from '../definition/step-traits';
import type { StepType } from '../definition/step-types';
import { codeStepInput, performCodeStep } from './code-step';
import { deferSecretTemplates, type DeferredTemplates } from './deferred-templates';
import { resolveHttpRequest } from './http-request';
import type { GraphEvent } from './graph-runner';
import type { StepActions } from './step-actions';
import { nonRetryable } from './step-failure';
import { logStepInput, performLogStep } from './log-step';

/** Items a `map` step runs at once when it does not set `maxConcurrency`. */
export const DEFAULT_MAP_CONCURRENCY = 10;

/** What a step handler may use of the graph its step runs in, for one step. */
export interface StepEnv {
  readonly actions: StepActions;
  /** The step's id in its graph. */
  readonly id: string;
  /** The step's idempotency key: `<run id>:<step id>`, `<run id>:<map step>[<index>].<step id>`. */
  readonly key: string;
  /** The step's path in the run (`charge`, `items[3].fetch`): what Temporal's UI names its work by. */
  readonly path: string;
  /** Evaluates templates against {@link bindings} (with the synchronous evaluator, a value). */
  evaluate(value: unknown): unknown;
  /** `$input`, `$steps`, `$run`, `$var` (and `$item`, `$index` in a map item) as expressions see them now. */
  bindings(): Record<string, unknown>;
  /** Records an audit event of the step before it moves on (nothing, inside a `map` item's graph). */
  emit(event: Omit<GraphEvent, 'stepId' | 'stepType'>): Promise<void>;
  /** Takes the step's signal from the run's inbox (a `wait` step). */
  wait(signal: string, timeout: string | undefined): Promise<unknown>;
  /** Fans a `map` step's items out (inline, or in batch child workflows). */
  map(step: MapStep, items: unknown[], maxConcurrency: number): Promise<unknown[]>;
  /** The steps of the graph the step sits in (a code step passes its upstream steps' outputs). */
  readonly graph: Readonly<Record<string, Step>>;
}

/**
 * How the interpreter runs one step type: `input` resolves the step's templated fields into the
 * input that is audited with STEP_STARTED (a value, or a promise when the step needs one), and
 * `perform` runs one attempt with it; its result is the step's output. Both may throw; `perform`
 * returns a promise or the output itself. What the type IS (templated fields, retries, how it
 * runs) is in `definition/step-traits.ts`.
 */
export type StepHandler<S extends Step = Step> = {
  input(step: S, env: StepEnv): unknown;
  perform(step: S, input: unknown, env: StepEnv, attempt: number): unknown;
};

type BuiltInStepOf<T extends StepType> = Extract<BuiltInStep, { type: T }>;

/** One handler per built-in step type: a type without one does not compile. */
export const STEP_HANDLERS: { readonly [T in StepType]: StepHandler<BuiltInStepOf<T>> } = {
  http: {
    input: (step, env) => resolveHttpRequest(step, (value) => env.evaluate(value), env.bindings(), env.key),
    perform: (step, input, env) => env.actions.run({ type: 'http', request: input as HttpRequest, timeout: step.timeout, what: env.path, local: step.local }),
  },
  transform: {
    input: (step, env) => env.evaluate(step.value),
    perform: (_step, input) => input,
  },
  condition: {
    input: (step, env) => env.evaluate(step.if),
    perform: (_step, input) => {
      if (typeof input !== 'boolean') {
        throw nonRetryable(`condition "if" evaluated to ${JSON.stringify(input ?? null)}, not a boolean`, 'ExpressionError');
      }
      // The scheduler reads the branch taken from this output.
      return { result: input, branch: input ? 'then' : 'else' };
    },
  },
  delay: {
    input: (step, env) => (step.duration !== undefined ? { duration: step.duration } : { until: env.evaluate(step.until) }),
    perform: (_step, input, env) => delay(input as { duration: string } | { until: unknown }, env.path),
  },
  workflow: {
    input: (step, env) => ({ definition: step.definition, version: step.version ?? 'latest', input: env.evaluate(step.input) ?? {} }),
    perform: (step, input, env) => env.actions.run({ type: 'workflow', reference: step, input: (input as { input: unknown }).input, what: env.path }),
  },
  wait: {
    input: (step) => ({ signal: step.signal, timeout: step.timeout ?? null }),
    perform: (step, _input, env) => env.wait(step.signal, step.timeout),
  },
  map: {
    input: (step, env) => mapInput(step, env.evaluate(step.items)),
    perform: (step, input, env) => {
      const { items, maxConcurrency } = input as { items: unknown[]; maxConcurrency: number };
      return env.map(step, items, maxConcurrency);
    },
  },
  log: {
    input: (step, env) => logStepInput(step, env.evaluate(step.message)),
    // Its line becomes a LOG event just before its STEP_SUCCEEDED (see step-logs.ts).
    perform: (_step, input) => performLogStep(input),
  },
  code: {
    input: (_step, env) => codeStepInput(env.id, env.graph, env.bindings()),
    perform: (step, input, env, attempt) => performCodeStep(step, input, env, attempt),
  },
};

/** The handler of every custom step type: its config is resolved here, the `runCustomStep` activity runs it. */
export const CUSTOM_STEP_HANDLER: StepHandler<CustomStep> = {
  input: (step, env) => {
    const { value, deferred } = deferSecretTemplates(customStepConfig(step), env.bindings());
    return { config: env.evaluate(value), ...(deferred ? { deferred } : {}) };
  },
  perform: (step, input, env, attempt) => {
    const resolved = input as { config: Record<string, unknown>; deferred?: DeferredTemplates };
    return env.actions.run({ type: 'custom', call: { type: step.type, stepId: env.id, attempt, idempotencyKey: env.key, ...resolved }, timeout: step.timeout, what: env.path });
  },
};

/** The handler of a step: its built-in type's, else the custom one. */
export function handlerOf(step: Step): StepHandler {
  return (isBuiltInStepType(step.type) ? STEP_HANDLERS[step.type] : CUSTOM_STEP_HANDLER) as StepHandler;
}

/** A `map` step's input from its evaluated `items`. */
export function mapInput(step: MapStep, items: unknown): { items: unknown[]; maxConcurrency: number } {
  if (!Array.isArray(items)) throw nonRetryable(`items evaluated to ${JSON.stringify(items ?? null)?.slice(0, 100)}, not an array`, 'ExpressionError');
  return { items, maxConcurrency: step.maxConcurrency ?? DEFAULT_MAP_CONCURRENCY };
}

async function delay(input: { duration: string } | { until: unknown }, what: string): Promise<unknown> {
  if ('duration' in input) {
    const ms = parseDuration(input.duration);
    if (ms === undefined) throw nonRetryable(`invalid duration "${input.duration}"`, 'InvalidDuration');
    // Definitions saved before durations had a maximum; Temporal would refuse a timer past 100
    // years and retry the workflow task forever. Runs that waited that long replay as they did.
    if (ms > MAX_TIMER_MS && patched('trellis-timer-limit')) {
      throw nonRetryable(`duration "${input.duration}" is longer than 365 days, the most a delay may take`, 'InvalidDuration');
    }
    await sleep(ms, { summary: `${what}: delay ${input.duration}` });
    return { waitedMs: ms };
  }
  const until = typeof input.until === 'number' ? input.until : Date.parse(String(input.until));
  if (Number.isNaN(until)) throw nonRetryable(`"until" evaluated to ${JSON.stringify(input.until)}, not a timestamp`, 'InvalidTimestamp');
  const ms = Math.max(0, until - Date.now());
  if (ms > MAX_TIMER_MS && patched('trellis-timer-limit')) {
    const when = Math.abs(until) <= 8.64e15 ? new Date(until).toISOString() : String(until);
    throw nonRetryable(`"until" evaluated to ${when}, more than 365 days ahead: the most a delay may wait`, 'InvalidTimestamp');
  }
  if (ms > 0) await sleep(ms, { summary: `${what}: delay until ${new Date(until).toISOString()}` });
  return { until: new Date(until).toISOString(), waitedMs: ms };
}
