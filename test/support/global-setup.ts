import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ensureSyncJsonata } from '../../scripts/generate-sync-jsonata';
import { promisify } from 'node:util';
import { loadConfig, type Config } from '../../src/config';
import { startEmbeddedPostgres, type EmbeddedPostgresServer } from '../../src/db/embedded-postgres';
import { startTemporalDevServer, type TemporalDevServer } from '../../src/temporal/dev-server';
import { bundleInterpreter } from '../../src/temporal/worker';
import { SEARCH_ATTRIBUTE_FLAGS } from '../../src/temporal/search-attributes';
import { resolveTemporalCli } from '../../src/temporal/temporal-cli';

declare global {
  /** Servers started by the jest global setup, stopped by the global teardown. */
  var __trellisTestServers:
    | { temporal?: TemporalDevServer; postgres?: EmbeddedPostgresServer; tempDir: string }
    | undefined;
}

const log = (message: string): void => {
  process.stderr.write(`[trellis test setup] ${message}\n`);
};

/**
 * Starts one Temporal dev server (in memory, headless) and one PostgreSQL for the whole jest run,
 * unless `TEMPORAL_ADDRESS` / `DATABASE_URL` point at existing ones, and hands them to the test
 * files through `TEMPORAL_ADDRESS`, `TEMPORAL_NAMESPACE` and `TRELLIS_TEST_DATABASE_URL` (an admin
 * URL: each test file creates its own database from it).
 */
export default async function globalSetup(): Promise<void> {
  const startedAt = Date.now();
  // Test files load the synchronous jsonata build; a clean clone run with --ignore-scripts lacks it.
  if (ensureSyncJsonata().generated) log('generated the synchronous jsonata build');
  const config = loadConfig();
  const tempDir = path.join(os.tmpdir(), `trellis-test-${process.pid}`);
  await fs.rm(tempDir, { recursive: true, force: true });
  // Not mkdtemp's 0700: as root, PostgreSQL runs as another user that must enter this directory.
  await fs.mkdir(tempDir, { recursive: true, mode: 0o755 });
  const servers: NonNullable<typeof globalThis.__trellisTestServers> = { tempDir };
  globalThis.__trellisTestServers = servers;

  // Independent start-up steps run side by side; each returns what the test files need.
  const steps = await Promise.allSettled([startTemporal(config, servers), startPostgres(config, servers), buildDashboard(), bundleWorkflows(tempDir)]);
  const failed = steps.filter((step): step is PromiseRejectedResult => step.status === 'rejected');
  if (failed.length > 0) {
    await Promise.allSettled([servers.temporal?.stop(), servers.postgres?.stop()]);
    await fs.rm(tempDir, { recursive: true, force: true });
    globalThis.__trellisTestServers = undefined;
    throw failed.length === 1 ? failed[0]?.reason : new AggregateError(failed.map((f) => f.reason), 'Test set-up failed');
  }
  // A signal would otherwise end jest without its 'exit' event, and the servers' exit hooks
  // (which stop them) would not run: exiting on the signal leaves no server behind.
  for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143], ['SIGHUP', 129]] as const) {
    process.once(signal, () => process.exit(code));
  }
  log(`ready in ${Date.now() - startedAt} ms`);
}

async function startTemporal(config: Config, servers: { temporal?: TemporalDevServer }): Promise<void> {
  if (config.temporal.address !== undefined) {
    log(`Temporal at ${config.temporal.address} (TEMPORAL_ADDRESS), namespace ${config.temporal.namespace}`);
    process.env.TEMPORAL_NAMESPACE = config.temporal.namespace;
    return;
  }
  const cli = await resolveTemporalCli({ cliPath: config.temporal.cliPath, log });
  servers.temporal = await startTemporalDevServer({
    cliPath: cli.path,
    uiPort: false,
    namespace: config.temporal.namespace,
    searchAttributes: SEARCH_ATTRIBUTE_FLAGS,
    log,
  });
  process.env.TEMPORAL_ADDRESS = servers.temporal.address;
  process.env.TEMPORAL_NAMESPACE = servers.temporal.namespace;
}

async function startPostgres(
  config: Config,
  servers: { postgres?: EmbeddedPostgresServer; tempDir: string },
): Promise<void> {
  if (config.databaseUrl !== undefined) {
    log('PostgreSQL at DATABASE_URL');
    process.env.TRELLIS_TEST_DATABASE_URL = config.databaseUrl;
    return;
  }
  servers.postgres = await startEmbeddedPostgres({
    dataDir: path.join(servers.tempDir, 'postgres'),
    database: 'postgres',
    ephemeral: true,
    log,
  });
  process.env.TRELLIS_TEST_DATABASE_URL = servers.postgres.url;
}

/**
 * Bundles the interpreter once for the whole run (test contexts and the replay test load it
 * through `TRELLIS_TEST_WORKFLOW_BUNDLE`) instead of once per test file: some 10 s each.
 */
async function bundleWorkflows(tempDir: string): Promise<void> {
  if (process.env.TRELLIS_TEST_WORKFLOW_BUNDLE) return;
  const bundle = await bundleInterpreter();
  const codePath = path.join(tempDir, 'workflow-bundle.js');
  await fs.writeFile(codePath, bundle.code);
  process.env.TRELLIS_TEST_WORKFLOW_BUNDLE = codePath;
}

/** Builds the dashboard when web/ changed since its last build (the dashboard tests load it in a browser). */
async function buildDashboard(): Promise<void> {
  const script = path.join(__dirname, '../../scripts/build-dashboard.mjs');
  const { stdout } = await promisify(execFile)(process.execPath, [script], { cwd: path.join(__dirname, '../..') });
  if (stdout.trim()) log(stdout.trim().split('\n').join('; '));
}
