import type { Definition } from '../../definition/definition-schema';
import type { RetryPlan } from '../db/database';

/** A step of the run being retried, as the run index recorded it. */
export type RecordedStep = { stepId: string; status: string; output: unknown; /** seq of its STEP_SUCCEEDED event */ succeededSeq: number | null };

/**
 * Which steps a retry runs again and which outputs it reuses. Every step that did not succeed
 * (failed, cancelled, skipped, compensated, never started) runs again, and so does `fromStep`
 * when given; so does everything downstream of those, since it used their old outputs. The
 * others succeeded and stand (they were not compensated): their outputs are reused, in the
 * order they finished, which is also the order a later roll-back would undo them in.
 */
export function planRetry(definition: Definition, recorded: readonly RecordedStep[], fromStep?: string): RetryPlan {
  const byId = new Map(recorded.map((step) => [step.stepId, step]));
  const ids = Object.keys(definition.steps);
  const dependents = new Map<string, string[]>(ids.map((id) => [id, []]));
  for (const id of ids) for (const need of definition.steps[id]!.needs ?? []) dependents.get(need)?.push(id);

  const rerun = new Set<string>();
  const pending = ids.filter((id) => byId.get(id)?.status !== 'SUCCEEDED' || id === fromStep);
  while (pending.length > 0) {
    const id = pending.pop()!;
    if (rerun.has(id)) continue;
    rerun.add(id);
    pending.push(...dependents.get(id)!);
  }
  const reused = ids
    .filter((id) => !rerun.has(id))
    .map((id) => byId.get(id)!)
    .sort((a, b) => (a.succeededSeq ?? 0) - (b.succeededSeq ?? 0))
    .map((step) => ({ stepId: step.stepId, output: step.output }));
  return { fromStep: fromStep ?? null, reused, rerun: ids.filter((id) => rerun.has(id)) };
}
