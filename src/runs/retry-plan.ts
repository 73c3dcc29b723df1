import type { Definition } from '../../definition/definition-schema';
import type { RetryPlan } from '../db/database';

/** A step of the run being retried, as the run index recorded it. */
export type RecordedStep = { stepId: string; status: string; output: unknown; /** seq of its STEP_SUCCEEDED event */ succeededSeq: number | null };

/**
 * Which steps a retry runs again and which outputs it reuses.
 *
 * What makes a retry run steps again: `fromStep` when given, and, unless the run COMPLETED,
 * every step that failed, was cancelled, was compensated or never started. Those run again, and
 * so does everything downstream of them, since it used their old outputs. A SKIPPED step is not
 * a failure: it makes nothing after it run again (a `join: "any"` step that succeeded after a
 * branch not taken keeps its output). The steps that succeeded and are not downstream of a
 * cause stand: their outputs are reused, in the order they finished, which is also the order a
 * later roll-back would undo them in. Every other step is in `rerun`: the retry runs or decides
 * it again (a skipped step whose needs stand is skipped again, unless its guard reads something
 * that changed, such as `$run`).
 *
 * `rerun` is empty when nothing causes a retry: a COMPLETED run without `fromStep` (its failed
 * `onError: "continue"` steps included: retry those with `fromStep`), or a run whose steps all
 * succeeded or were skipped (it failed computing its output).
 * @param runStatus the retried run's status; only COMPLETED changes the plan
 */
export function planRetry(definition: Definition, recorded: readonly RecordedStep[], fromStep?: string, runStatus?: string): RetryPlan {
  const byId = new Map(recorded.map((step) => [step.stepId, step]));
  const ids = Object.keys(definition.steps);
  const dependents = new Map<string, string[]>(ids.map((id) => [id, []]));
  for (const id of ids) for (const need of definition.steps[id]!.needs ?? []) dependents.get(need)?.push(id);

  const failed = (id: string): boolean => !['SUCCEEDED', 'SKIPPED'].includes(byId.get(id)?.status ?? 'PENDING');
  const causes = ids.filter((id) => id === fromStep || (runStatus !== 'COMPLETED' && failed(id)));
  if (causes.length === 0) return { fromStep: fromStep ?? null, reused: reusedOutputs(ids, byId, () => false), rerun: [] };

  const downstream = new Set<string>();
  const pending = [...causes];
  while (pending.length > 0) {
    const id = pending.pop()!;
    if (downstream.has(id)) continue;
    downstream.add(id);
    pending.push(...dependents.get(id)!);
  }
  const reused = reusedOutputs(ids, byId, (id) => downstream.has(id));
  const kept = new Set(reused.map((step) => step.stepId));
  return { fromStep: fromStep ?? null, reused, rerun: ids.filter((id) => !kept.has(id)) };
}

/** The outputs of the steps that succeeded and are not run again, in the order they finished. */
function reusedOutputs(ids: readonly string[], byId: ReadonlyMap<string, RecordedStep>, runsAgain: (id: string) => boolean): RetryPlan['reused'] {
  return ids
    .filter((id) => byId.get(id)?.status === 'SUCCEEDED' && !runsAgain(id))
    .map((id) => byId.get(id)!)
    .sort((a, b) => (a.succeededSeq ?? 0) - (b.succeededSeq ?? 0))
    .map((step) => ({ stepId: step.stepId, output: step.output }));
}
