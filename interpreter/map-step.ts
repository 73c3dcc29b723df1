import { CancellationScope, executeChild, patched, workflowInfo } from '@temporalio/workflow';
import type { MapAction } from '../definition/definition-schema';
import { setOwn } from '../definition/prototype-keys';
import { templateReads } from '../definition/template-reads';
import type { RunContext, StepBinding } from './run-context';

/**
 * Items one batch child workflow runs. A `map` step with more items runs them in batches, each a
 * child workflow, so no workflow has more than this many pending activities or children (Temporal
 * allows 2,000) and each history stays far below its event and size limits.
 */
export const MAP_BATCH_SIZE = 100;

/** A `map` step's fan-out, as a batch workflow receives it: plain JSON. */
export type MapJob = {
  context: RunContext;
  stepId: string;
  action: MapAction;
  /** `$steps` of the graph the map step sits in, as they were when it started. */
  outerSteps: Record<string, StepBinding>;
  /** Idempotency-key prefix of the graph the map step sits in. */
  keyPrefix: string;
  /** Where the items' activities run (the map step's queue, see `step-queue.ts`); the run's own queue when absent. */
  taskQueue?: string;
};

/** Input of one batch: the job, a slice of its items and where the slice starts. */
export type MapBatch = { job: MapJob; items: unknown[]; offset: number; concurrency: number };

/** Runs one item; rejects with the item's failure. */
export type ItemRunner = (item: unknown, index: number) => Promise<unknown>;

/** Told how many items of a map have finished, after each batch workflow (never per item). */
export type MapProgressListener = (done: number, total: number) => void;

/**
 * Runs `runItem` for every item, at most `maxConcurrency` at a time, and returns the results in
 * item order. Up to {@link MAP_BATCH_SIZE} items run in this workflow; more are split into batches
 * run as `trellisMapBatch` child workflows, as many at once as keeps the total within
 * `maxConcurrency`. The first item to fail cancels the others and fails the whole map.
 */
export async function runMap(job: MapJob, items: unknown[], maxConcurrency: number, runItem: ItemRunner, onProgress?: MapProgressListener): Promise<unknown[]> {
  if (items.length <= MAP_BATCH_SIZE) return runPool(items.length, maxConcurrency, (index) => runItem(items[index], index));
  const batchCount = Math.ceil(items.length / MAP_BATCH_SIZE);
  const parallelBatches = Math.min(batchCount, Math.ceil(maxConcurrency / MAP_BATCH_SIZE));
  const perBatch = Math.max(1, Math.floor(maxConcurrency / parallelBatches));
  const { taskQueue } = workflowInfo();
  // Derived from the run, not from workflowInfo(): a batch inside a batch gets a unique id too,
  // and the id is the same whichever workflow replays the history.
  const stepPath = `${job.keyPrefix.slice(job.context.runId.length + 1)}${job.stepId}`;
  // Runs recorded before batches got only what they read replay handing each batch everything.
  const atScale = patched('trellis-map-at-scale');
  const batchJob = atScale ? withOnlyWhatItReads(job) : job;
  let done = 0;
  const results = await runPool(batchCount, parallelBatches, async (batch) => {
    const offset = batch * MAP_BATCH_SIZE;
    const input: MapBatch = { job: batchJob, items: items.slice(offset, offset + MAP_BATCH_SIZE), offset, concurrency: perBatch };
    const result = await (executeChild('trellisMapBatch', {
      workflowId: `${job.context.workflowId}/${stepPath}/batch-${batch}`,
      staticSummary: `${stepPath}: items ${offset}-${offset + input.items.length - 1}`,
      taskQueue,
      args: [input],
    }) as Promise<unknown[]>);
    done += input.items.length;
    if (atScale) onProgress?.(done, items.length);
    return result;
  });
  return results.flat(1);
}

/**
 * The job as a batch workflow needs it: of the outer steps, only those its templates read as
 * `$steps.<id>` (all of them when one reads `$steps` dynamically, see {@link templateReads}); the
 * run's input only when a template reads `$input`. Every batch's input is in history, once per
 * batch: with 50 batches, an upstream output of 1 MB copied to each would be 50 MB.
 */
function withOnlyWhatItReads(job: MapJob): MapJob {
  const reads = templateReads(job.action);
  let outerSteps = job.outerSteps;
  if (!reads.anyStep) {
    outerSteps = {};
    for (const id of reads.steps) if (Object.hasOwn(job.outerSteps, id)) setOwn(outerSteps, id, job.outerSteps[id]);
  }
  return { ...job, outerSteps, context: reads.input ? job.context : { ...job.context, input: null } };
}

/**
 * Runs `count` tasks, at most `concurrency` at a time, keeping results in task order. The first
 * failure cancels the tasks still running and is rethrown once they have wound down.
 */
export async function runPool<T>(count: number, concurrency: number, task: (index: number) => Promise<T>): Promise<T[]> {
  const results = new Array<T>(count);
  let next = 0;
  let failure: { error: unknown } | undefined;
  const scope = new CancellationScope();
  const lane = async (): Promise<void> => {
    while (next < count && !failure) {
      const index = next++;
      try {
        results[index] = await task(index);
      } catch (error) {
        if (!failure) {
          failure = { error };
          scope.cancel();
        }
      }
    }
  };
  await scope.run(() => Promise.all(Array.from({ length: Math.min(concurrency, count) }, lane)));
  if (failure) throw failure.error;
  return results;
}
