import type { CodeStep, Step } from '../definition/definition-schema';
import { ancestors } from '../definition/definition-graph';
import type { LogLevel } from '../definition/log-levels';
import { setOwn } from '../definition/prototype-keys';
import type { RunBinding, StepBinding } from './run-context';
import { nonRetryable } from './step-failure';
import { withActivityLogs } from './step-logs';

/**
 * Largest JSON of what a code step is given (`input`, `steps`, `run`, `item`, `index`), in
 * characters: it is the activity's argument, and Temporal refuses payloads past 2 MB (a refused
 * one would fail the workflow task again and again, not the step).
 */
export const MAX_CODE_INPUT_CHARS = 1536 * 1024;

/** What a code step's function is called with: its resolved input, hashed into the audit trail. */
export type CodeStepInput = {
  input: unknown;
  /** The steps the code step needs, directly or transitively, as `$steps` shows them. */
  steps: Record<string, StepBinding>;
  run: RunBinding;
  /** In a `map` item's graph: the item and its index. */
  item?: unknown;
  index?: number;
};

/** One console line of a code step. */
export type CodeLogLine = { level: LogLevel; message: string };

/** What the `runCodeStep` activity returns: the code's result and its console lines. */
export type CodeStepResult = { output: unknown; logs: CodeLogLine[] };

/** One attempt of a code step, as the activity receives it. */
export type CodeStepCall = { tenantId: string; runId: string; stepId: string; attempt: number; source: string; args: CodeStepInput };

/**
 * A code step's input: `$input` and `$run` as every expression sees them, and only the steps
 * upstream of it in its own graph (what the validator lets its expressions read), so the code
 * cannot depend on a step that happens to have finished. In a map item also `item` and `index`.
 * @param bindings what the graph's expressions see now (`GraphRunner.bindings()`)
 */
export function codeStepInput(id: string, steps: Record<string, Step>, bindings: Record<string, unknown>): CodeStepInput {
  const all = bindings.steps as Record<string, StepBinding>;
  const upstream: Record<string, StepBinding> = {};
  for (const need of ancestors(steps, id)) {
    const binding = Object.hasOwn(all, need) ? all[need] : undefined;
    if (binding) setOwn(upstream, need, binding);
  }
  const input: CodeStepInput = { input: bindings.input ?? null, steps: upstream, run: bindings.run as RunBinding };
  if (Object.hasOwn(bindings, 'item')) Object.assign(input, { item: bindings.item ?? null, index: bindings.index as number });
  return input;
}

/** What running a code step needs of its graph (a subset of the step handlers' `StepEnv`). */
export type CodeStepEnv = {
  readonly id: string;
  readonly path: string;
  readonly actions: { run(call: { type: 'code'; call: Omit<CodeStepCall, 'tenantId' | 'runId'>; timeout: string | undefined; what: string }): Promise<unknown> };
};

/**
 * Runs one attempt of a code step as the `runCodeStep` activity (never in the workflow: QuickJS
 * is WebAssembly with side channels of its own, and the code's time is not the workflow's).
 * @throws a non-retryable `CODE_INPUT_TOO_LARGE` failure before scheduling anything, when the
 *   input cannot travel as an activity argument; the activity's own failures otherwise.
 */
export async function performCodeStep(step: Pick<CodeStep, 'source' | 'timeout'>, input: unknown, env: CodeStepEnv, attempt: number): Promise<unknown> {
  const size = JSON.stringify(input).length;
  if (size > MAX_CODE_INPUT_CHARS) {
    throw nonRetryable(`what code step "${env.id}" is given (input, steps, run) is ${size} characters of JSON; the limit is ${MAX_CODE_INPUT_CHARS}`, 'CODE_INPUT_TOO_LARGE', { code: 'CODE_INPUT_TOO_LARGE' });
  }
  const call = { stepId: env.id, attempt, source: step.source, args: input as CodeStepInput };
  const result = (await env.actions.run({ type: 'code', call, timeout: step.timeout, what: env.path })) as CodeStepResult;
  // Its console lines become the attempt's LOG events, just before its STEP_SUCCEEDED.
  return withActivityLogs(result);
}
