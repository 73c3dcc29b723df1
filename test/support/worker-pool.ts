import type { StepTypeDefinition } from '../../src/step-types/define-step-type';
import { loadConfig } from '../../src/config';
import { startTrellis, type Trellis } from '../../src/trellis';
import type { TestContext } from './test-context';

/**
 * Starts a worker pool of `ctx`'s deployment, as `TRELLIS_ROLE=worker TRELLIS_TASK_QUEUES=<queues>`
 * would: the same database, Temporal server, main queue and keys, polling only `queues` (for
 * activities; workflow tasks too only when they list the main queue).
 */
export function startWorkerPool(ctx: TestContext, queues: readonly string[], stepTypes: readonly StepTypeDefinition[] = []): Promise<Trellis> {
  const config = loadConfig({ ...ctx.env, TRELLIS_ROLE: 'worker', TRELLIS_TASK_QUEUES: queues.join(','), PORT: '0' });
  return startTrellis(config, { log: () => undefined, stepTypes });
}
