import { ApplicationFailure } from '@temporalio/workflow';
import { MAX_OUTPUT_CHARS, itemRunner, syncExpressionBudget } from './graph-runner';
import { runPool, type MapBatch } from './map-step';
import { StepActions } from './step-actions';
import { StepFailure } from './step-failure';

/**
 * Runs one batch of a large `map` step's items as a child workflow of the run and returns their
 * results in order. It records no audit events of its own: the `map` step's events in the run
 * say what happened, and an item's failure fails the batch with the item's error.
 */
export async function trellisMapBatch(batch: MapBatch): Promise<unknown[]> {
  const { job, items, offset, concurrency } = batch;
  const runItem = itemRunner(job, new StepActions(job.context, job.taskQueue), syncExpressionBudget());
  let results: unknown[];
  try {
    results = await runPool(items.length, concurrency, (index) => runItem(items[index], offset + index));
  } catch (err) {
    if (err instanceof StepFailure) {
      throw ApplicationFailure.create({ message: err.info.message, type: err.info.type ?? 'MapItemFailed', nonRetryable: true, details: err.info.details === undefined ? undefined : [err.info.details] });
    }
    throw err;
  }
  // The results travel back as one payload (2 MB at most): fail here, clearly, rather than there.
  const size = JSON.stringify(results).length;
  if (size > MAX_OUTPUT_CHARS) {
    throw ApplicationFailure.create({ message: `items ${offset}-${offset + items.length - 1} produced ${size} characters of results, over the step output limit of ${MAX_OUTPUT_CHARS}`, type: 'OutputTooLarge', nonRetryable: true });
  }
  return results;
}
