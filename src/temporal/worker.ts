import { NativeConnection, Runtime, Worker, bundleWorkflowCode, type LogLevel, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type { Client } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import type { Kysely } from 'kysely';
import { createActivities } from '../../activities';
import type { RetentionSettings } from '../../activities/retention.activity';
import type { SecretResolver } from '../../activities/deferred-values';
import type { Database } from '../db/database';
import type { GuardedFetch } from '../net/guarded-fetch';
import { RunVerifier } from '../runs/run-verifier';
import { RunService } from '../runs/run.service';
import type { TriggerChains } from '../triggers/trigger-chain';
import type { StepTypeDefinition } from '../step-types/define-step-type';
import { logger } from '../observability/logger';
import { TemporalLogger } from '../observability/temporal-logger';
import type { Tracing } from '../observability/tracing';
import { FAILURE_CONVERTER_PATH } from './data-converter';
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
  taskQueue: string;
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
  /** Slots, eager activity dispatch and the sticky cache (`config.workerTuning`); unset fields keep the SDK's defaults. */
  tuning?: Omit<WorkerTuning, 'eagerWorkflowStart'>;
};

/**
 * Creates a worker that runs the interpreter workflow and its activities. The caller runs it
 * (`worker.run()`) and shuts it down (`worker.shutdown()`); the connection closes with it.
 */
export async function createWorker(options: WorkerOptions): Promise<{ worker: Worker; connection: NativeConnection }> {
  const connection = await NativeConnection.connect({ address: options.address });
  const worker = await Worker.create({
    connection,
    namespace: options.namespace,
    taskQueue: options.taskQueue,
    dataConverter: options.dataConverter,
    activities: createActivities({
      db: options.db,
      verifier: new RunVerifier(options.db, options.client, { chains: options.chains }),
      secrets: options.secrets,
      stepTypes: options.stepTypes,
      fetch: options.fetch,
      retention: options.retention,
      chains: options.chains,
      // Schedule fires record their runs here, as the API records the runs it starts.
      runs: new RunService({ db: options.db, client: options.client, taskQueue: options.taskQueue, stepTypes: options.stepTypes, maxRunsInFlight: options.maxRunsInFlight }),
    }),
    ...workerSlots(options.tuning),
    // A prebuilt bundle must come from bundleInterpreter(), which bundles the failure converter.
    ...(options.workflowBundle ? { workflowBundle: options.workflowBundle } : { workflowsPath: WORKFLOWS_PATH }),
    ...(options.tracing
      ? { interceptors: { ...options.tracing.interceptors, workflowModules: options.tracing.workflowModules }, sinks: options.tracing.sinks }
      : {}),
  });
  return { worker, connection };
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
