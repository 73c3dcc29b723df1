import type { Definition } from './definition-schema';
import { walkSteps } from './definition-walk';
import { pointerJoin } from './json-pointer';

/**
 * Task queue names a step or a deployment may route activities to: a letter or digit, then
 * letters, digits, `.`, `_` or `-`, at most 100 characters (no spaces, slashes or control
 * characters: they appear in Temporal's UI, metrics and worker configuration).
 */
export const TASK_QUEUE_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

/**
 * Where a deployment lets steps' activities run (worker pools), fixed by its configuration:
 * `allowed`, the queues a definition's step may name in `taskQueue`
 * (`TRELLIS_TASK_QUEUES_ALLOWED`; none when empty), and `byStepType`, the queue of every step
 * of a type that names none (`TRELLIS_STEP_QUEUES`, e.g. `{ "send-email": "mail" }`).
 */
export type TaskQueuePolicy = Readonly<{ allowed: readonly string[]; byStepType: Readonly<Record<string, string>> }>;

/** The policy of a deployment that configures no pools: every activity on the run's own queue. */
export const NO_TASK_QUEUES: TaskQueuePolicy = Object.freeze({ allowed: Object.freeze([]), byStepType: Object.freeze({}) });

/**
 * Why a step may not name `queue` under `policy`, or undefined when it may.
 */
export function taskQueueProblem(queue: string, policy: TaskQueuePolicy): string | undefined {
  if (!TASK_QUEUE_PATTERN.test(queue)) {
    return `invalid task queue ${JSON.stringify(queue)}: a letter or digit, then letters, digits, ".", "_" or "-", at most 100 characters`;
  }
  if (policy.allowed.length === 0) {
    return `task queue "${queue}": this deployment lets no step choose its task queue (its operator lists the queues steps may name in TRELLIS_TASK_QUEUES_ALLOWED)`;
  }
  if (!policy.allowed.includes(queue)) {
    return `task queue "${queue}" is not one this deployment lets steps name; allowed: ${policy.allowed.join(', ')}`;
  }
  return undefined;
}

/**
 * The steps of `definition` (a map's inline steps included) that name a queue `policy` does not
 * allow, each at the JSON pointer of its `taskQueue`: what a run of it may not start with, when
 * the operator removed a queue after the definition was saved.
 */
export function refusedTaskQueues(definition: Definition, policy: TaskQueuePolicy): Array<{ path: string; message: string }> {
  const refused: Array<{ path: string; message: string }> = [];
  for (const { step, pointer } of walkSteps(definition.steps)) {
    if (step.taskQueue === undefined) continue;
    const problem = taskQueueProblem(step.taskQueue, policy);
    if (problem !== undefined) refused.push({ path: pointerJoin(pointer, 'taskQueue'), message: problem });
  }
  return refused;
}
