import { NativeConnection, Runtime, Worker, bundleWorkflowCode, type LogLevel, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type { Client } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import type { Kysely } from 'kysely';
import { createActivities } from '../../activities';
import type { RetentionSettings } from '../../activities/retention.activity';
import type { SecretResolver } from '../../activities/deferred-values';
import type { Database } from '../db/database';
import type { GuardedFetch } from '../net/guarded-fetch';
import { CodeSandbox } from '../code-steps/code-sandbox';
import type { CodeLimits } from '../code-steps/code-limits';
import { RunVerifier } from '../runs/run-verifier';
import { RunService } from '../runs/run.service';
import type { TriggerChains } from '../triggers/trigger-chain';
import type { StepTypeDefinition } from '../step-types/define-step-type';
import { logger } from '../observability/logger';
import { TemporalLogger } from '../observability/temporal-logger';
import type { Tracing } from '../observability/tracing';
import { FAILURE_CONVERTER_PATH } from './data-converter';
import type { TaskQueuePolicy } from '../../definition/task-queues';
import type { WorkerTuning } from '../worker-tuning-config';

/** The workflow bundle's entry point: everything under `interpreter/`, nothing else. */
export const WORKFLOWS_PATH = require.resolve('../../interpreter/workflows');

/**
 * Bundles the interpreter once; workers created from the result start in milliseconds.
 * `workflowInterceptorModules` must name the tracing interceptors when the workers trace
 * (`Tracing.worker.workflowModules`). @default none
 */
export function bundleInterpreter(workflowInterceptorModules: string[] = []): Promise<WorkflowBundleWithSourceMap> {
  return bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, failureConverterPath: FAILURE_CONVERTER_PATH, workflowInterceptorModules, logger: quietBundlerLogger });
}

export type WorkerOptions = {
  address: string;
  namespace: string;
  /** The deployment's main queue: runs' workflow tasks, and the activities of steps routed nowhere else. */
  taskQueue: string;
  /**
   * The queues to poll (`TRELLIS_TASK_QUEUES`): activities on each; workflow tasks only when it
   * lists `taskQueue`. @default [taskQueue]
   */
  queues?: readonly string[];
  /** Which queues steps may name and the queue of each step type (pinned in the runs schedule fires start). @default none */
  taskQueues?: TaskQueuePolicy;
  db: Kysely<Database>;
  /** Asks Temporal about the executions activities run for (see `RunVerifier`). */
  client: Client;
  /** Must be the data converter of the clients that start runs (see `trellisDataConverter`). */
  dataConverter: DataConverter;
  secrets?: SecretResolver;
  stepTypes?: readonly StepTypeDefinition[];
  /** The egress-guarded client steps call out through. */
  fetch: GuardedFetch;
  /** A prebuilt bundle (tests build one per process); otherwise the worker bundles at start. */
  workflowBundle?: WorkflowBundleWithSourceMap | { codePath: string };
  /** What the retention job deletes. @default retention off */
  retention?: RetentionSettings;
  /** Loop prevention: the chain `http` steps send and child runs inherit. */
  chains?: TriggerChains;
  /** Runs a tenant may have in flight, checked when a schedule fires. @default 1000 */
  maxRunsInFlight?: number;
  /** Tracing's interceptors and sink, when tracing is on (a prebuilt bundle must include its workflow modules). */
  tracing?: Tracing['worker'];
  /** Limits of code steps' sandbox. @default DEFAULT_CODE_LIMITS */
  codeLimits?: Readonly<CodeLimits>;
  /** Slots, eager activity dispatch and the sticky cache (`config.workerTuning`); unset fields keep the SDK's defaults. */
  tuning?: Omit<WorkerTuning, 'eagerWorkflowStart'>;
};

/**
 * Creates the workers of this process, one per queue it polls on one connection (see
 * {@link WorkerOptions.queues}): the main queue's runs the interpreter workflow and the
 * activities; another queue's (a worker pool) runs activities only. The caller runs them
 * (`worker.run()`) and shuts them down (`worker.shutdown()`); the connection closes with them.
 */
export async function createWorker(options: WorkerOptions): Promise<{ worker: WorkerGroup; connection: NativeConnection }> {
  const connection = await NativeConnection.connect({ address: options.address });
  const activities = createActivities({
    db: options.db,
    verifier: new RunVerifier(options.db, options.client, { chains: options.chains }),
    secrets: options.secrets,
    stepTypes: options.stepTypes,
    fetch: options.fetch,
    retention: options.retention,
    chains: options.chains,
    code: new CodeSandbox(options.codeLimits),
    // Schedule fires record their runs here, as the API records the runs it starts.
    runs: new RunService({
      db: options.db,
      client: options.client,
      taskQueue: options.taskQueue,
      stepTypes: options.stepTypes,
      ...(options.taskQueues ? { taskQueues: options.taskQueues } : {}),
      maxRunsInFlight: options.maxRunsInFlight,
    }),
  });
  const workers: Worker[] = [];
  try {
    for (const queue of options.queues ?? [options.taskQueue]) {
      const runsWorkflows = queue === options.taskQueue;
      workers.push(
        await Worker.create({
          connection,
          namespace: options.namespace,
          taskQueue: queue,
          dataConverter: options.dataConverter,
          activities,
          ...workerSlots(options.tuning),
          // A prebuilt bundle must come from bundleInterpreter(), which bundles the failure converter.
          ...(!runsWorkflows ? {} : options.workflowBundle ? { workflowBundle: options.workflowBundle } : { workflowsPath: WORKFLOWS_PATH }),
          ...(options.tracing
            ? {
                interceptors: { ...options.tracing.interceptors, ...(runsWorkflows ? { workflowModules: options.tracing.workflowModules } : {}) },
                ...(runsWorkflows ? { sinks: options.tracing.sinks } : {}),
              }
            : {}),
        }),
      );
    }
  } catch (err) {
    await connection.close();
    throw err;
  }
  return { worker: new WorkerGroup(workers), connection };
}

/** The workers of one process (one per queue), run and shut down as one. */
export class WorkerGroup {
  constructor(readonly workers: readonly Worker[]) {}

  /** Runs every worker; settles when all have stopped, rejecting with the first error. */
  async run(): Promise<void> {
    const runs = this.workers.map((worker) => worker.run());
    try {
      await Promise.all(runs);
    } catch (err) {
      // One stopped with an error: the others stop too, so the process does not half-serve.
      this.shutdown();
      await Promise.allSettled(runs);
      throw err;
    }
  }

  /** `RUNNING` while any worker runs. */
  getState(): string {
    return this.workers.some((worker) => worker.getState() === 'RUNNING') ? 'RUNNING' : (this.workers[0]?.getState() ?? 'STOPPED');
  }

  /** Starts shutting every running worker down. */
  shutdown(): void {
    for (const worker of this.workers) if (worker.getState() === 'RUNNING') worker.shutdown();
  }
}

/** The SDK options of {@link WorkerTuning}: only those set, so the rest keep the SDK's defaults. */
function workerSlots(tuning: WorkerOptions['tuning']): Partial<Parameters<typeof Worker.create>[0]> {
  if (!tuning) return {};
  const options = {
    maxEagerActivityReservationsPerWorkflowTask: tuning.eagerActivities,
    maxConcurrentWorkflowTaskExecutions: tuning.workflowTaskSlots,
    maxConcurrentActivityTaskExecutions: tuning.activitySlots,
    maxConcurrentLocalActivityExecutions: tuning.localActivitySlots,
    maxCachedWorkflows: tuning.cachedWorkflows,
  };
  return Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined));
}

const quietBundlerLogger = {
  log: () => undefined,
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: (message: string) => logger.warn({ component: 'workflow-bundler' }, message),
  error: (message: string) => logger.error({ component: 'workflow-bundler' }, message),
};

let sdkMetricsUrl: string | undefined;
let runtimeInstalled = false;

/**
 * Installs the Temporal SDK's runtime for this process, once, before the first worker: its
 * TypeScript and native (Core) logs go through Trellis's structured logger at `level`, and, with
 * `metricsPort`, its worker metrics are served in Prometheus format on `127.0.0.1:<metricsPort>`
 * (read by Trellis's own `/metrics`, see {@link temporalSdkMetricsUrl}). A second call does
 * nothing: the SDK allows one runtime per process.
 */
export function installTemporalLogger(level: LogLevel, options: { metricsPort?: number } = {}): void {
  if (runtimeInstalled) return;
  const bindAddress = options.metricsPort === undefined ? undefined : `127.0.0.1:${options.metricsPort}`;
  Runtime.install({
    logger: new TemporalLogger(level),
    telemetryOptions: {
      logging: { filter: { core: level, other: level }, forward: {} },
      ...(bindAddress ? { metrics: { prometheus: { bindAddress, countersTotalSuffix: true, useSecondsForDurations: true } } } : {}),
    },
  });
  runtimeInstalled = true;
  sdkMetricsUrl = bindAddress === undefined ? undefined : `http://${bindAddress}/metrics`;
}

/** Where the Temporal SDK serves its metrics in this process, if {@link installTemporalLogger} was given a port. */
export function temporalSdkMetricsUrl(): string | undefined {
  return sdkMetricsUrl;
}
