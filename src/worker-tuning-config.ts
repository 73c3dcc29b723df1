import { z } from 'zod';

const slots = (max: number) => z.coerce.number().int().min(1).max(max).optional();

/**
 * The environment variables of the Temporal levers (README "Performance"), merged into
 * `src/config.ts`'s schema. Unset means the Temporal SDK's own default.
 */
export const workerTuningEnv = {
  TRELLIS_EAGER_WORKFLOW_START: z.enum(['true', 'false']).default('true'),
  TRELLIS_WORKER_EAGER_ACTIVITIES: z.coerce.number().int().min(0).max(100).optional(),
  TRELLIS_WORKER_WORKFLOW_TASK_SLOTS: slots(10_000).refine((value) => value === undefined || value >= 2, { error: 'must be at least 2 (the sticky cache needs two slots)' }),
  TRELLIS_WORKER_ACTIVITY_SLOTS: slots(10_000),
  TRELLIS_WORKER_LOCAL_ACTIVITY_SLOTS: slots(10_000),
  TRELLIS_WORKER_CACHED_WORKFLOWS: z.coerce.number().int().min(0).max(1_000_000).optional(),
};

type WorkerTuningEnv = z.output<z.ZodObject<typeof workerTuningEnv>>;

/** How the worker and the run starter use Temporal's levers (README "Performance"). */
export type WorkerTuning = Readonly<{
  /**
   * Where the API and the worker share a process (`TRELLIS_ROLE=all`), runs are started with
   * eager workflow start: Temporal hands the run's first workflow task back in the answer to the
   * start, to this process's worker, instead of through a poll (`TRELLIS_EAGER_WORKFLOW_START`).
   * @default true
   */
  eagerWorkflowStart: boolean;
  /** Activity slots a completing workflow task may reserve for eager activity dispatch; 0 turns it off (`TRELLIS_WORKER_EAGER_ACTIVITIES`). @default the SDK's, 3 */
  eagerActivities: number | undefined;
  /** Workflow tasks the worker runs at once (`TRELLIS_WORKER_WORKFLOW_TASK_SLOTS`). @default the SDK's, 40 */
  workflowTaskSlots: number | undefined;
  /** Activities (http calls, custom steps) the worker runs at once (`TRELLIS_WORKER_ACTIVITY_SLOTS`). @default the SDK's, 100 */
  activitySlots: number | undefined;
  /** Local activities (audit batches, local http calls, schema checks) at once (`TRELLIS_WORKER_LOCAL_ACTIVITY_SLOTS`). @default the SDK's, 100 */
  localActivitySlots: number | undefined;
  /** Runs kept in the worker's sticky cache between their workflow tasks (`TRELLIS_WORKER_CACHED_WORKFLOWS`). @default the SDK's, from the heap size */
  cachedWorkflows: number | undefined;
}>;

/** The {@link WorkerTuning} of a validated environment. */
export function workerTuningConfig(e: WorkerTuningEnv): WorkerTuning {
  return Object.freeze({
    eagerWorkflowStart: e.TRELLIS_EAGER_WORKFLOW_START === 'true',
    eagerActivities: e.TRELLIS_WORKER_EAGER_ACTIVITIES,
    workflowTaskSlots: e.TRELLIS_WORKER_WORKFLOW_TASK_SLOTS,
    activitySlots: e.TRELLIS_WORKER_ACTIVITY_SLOTS,
    localActivitySlots: e.TRELLIS_WORKER_LOCAL_ACTIVITY_SLOTS,
    cachedWorkflows: e.TRELLIS_WORKER_CACHED_WORKFLOWS,
  });
}
