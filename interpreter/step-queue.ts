import type { RunContext } from './run-context';

/**
 * The task queue a step's activities run on (and its compensation's and its map items'): the
 * step's own `taskQueue`, else the queue the deployment pinned for its type when the run started
 * (`RunSnapshot.stepQueues`), else none (the run's own queue). Workflow tasks, timers and child
 * runs stay on the run's queue.
 */
export function stepQueue(step: { type: string; taskQueue?: string }, context: RunContext): string | undefined {
  if (step.taskQueue !== undefined) return step.taskQueue;
  const byType = context.stepQueues;
  return byType !== undefined && Object.hasOwn(byType, step.type) ? byType[step.type] : undefined;
}
