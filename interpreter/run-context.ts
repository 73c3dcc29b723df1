import type { StepDefaults } from '../definition/definition-schema';
import { variableBindings, type PinnedVariables } from '../definition/variables';
import type { Actor, DefinitionLibrary } from './run-types';

/** `$run` in expressions. */
export type RunBinding = { id: string; definition: string; version: number; startedAt: string; attempt: number };

/** `$steps.<id>` in expressions. */
export type StepBinding = { output: unknown; status: string };

/**
 * What every step of a run can read and reach, whichever graph it sits in (the run's own, or a
 * `map` item's inline graph, possibly inside a batch child workflow). Plain JSON, so a batch
 * workflow receives it as its argument.
 */
export type RunContext = {
  runId: string;
  tenantId: string;
  /** Temporal workflow id of the run; batch workflows' ids derive from it. */
  workflowId: string;
  input: unknown;
  run: RunBinding;
  defaults?: StepDefaults;
  library: DefinitionLibrary;
  depth: number;
  actor: Actor;
  /** The variables the run pinned at its start (`$var`); absent for runs started before variables existed. */
  variables?: PinnedVariables;
  /** The deployment's task queue per step type, pinned at the run's start (see `RunSnapshot.stepQueues`). */
  stepQueues?: Record<string, string>;
};

/**
 * What every expression of a run can read, wherever it is evaluated: `$input`, `$run` and
 * `$var('NAME')`. Graphs add `$steps` (and `$item`, `$index` in a map item).
 */
export function runBindings(context: RunContext): Record<string, unknown> {
  return { input: context.input, run: context.run, ...variableBindings(context.variables) };
}
