import type { Run, StepState } from './types';

/**
 * The run after a runWatch answer's `run` (or a runUpdated one with `changedStepsOnly`; see
 * queries.ts RUN_WATCH): the answer's fields, its steps in place of the ones with the same id,
 * the other steps as they were (the same objects, so what draws them need not redraw). The first
 * answer lists every step; the run's input (not in the answer) is kept from `previous`.
 */
export function mergeRunUpdate(previous: Run | undefined, update: Run): Run {
  if (!previous) return update;
  const changed = new Map<string, StepState>(update.steps.map((step) => [step.id, step]));
  return { ...previous, ...update, steps: previous.steps.map((step) => changed.get(step.id) ?? step) };
}
