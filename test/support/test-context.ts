import { randomBytes, randomUUID } from 'node:crypto';
import type { SpanExporter } from '@opentelemetry/sdk-trace-base';
import pg from 'pg';
import { loadConfig } from '../../src/config';
import { configureLogger, loggerConfigured } from '../../src/observability/logger';
import { installTemporalLogger } from '../../src/temporal/worker';
import type { StepTypeDefinition } from '../../src/step-types/define-step-type';
import { startTrellis, type Trellis } from '../../src/trellis';
import { graphqlData } from './graphql-client';

export type TestContext = {
  trellis: Trellis;
  graphqlUrl: string;
  /** Runs a GraphQL operation against this context's API; fails on GraphQL errors. */
  gql<T = Record<string, any>>(query: string, variables?: Record<string, unknown>): Promise<T>;
  /** The environment its Trellis was configured from (to start more processes of the same deployment). */
  env: Readonly<Record<string, string>>;
  stop(): Promise<void>;
};

/**
 * A whole Trellis (API and worker) for one test file, on the servers the global setup started:
 * its own PostgreSQL database, its own task queue, the shared Temporal server, an API on a free
 * port. Nothing is shared with other test files but the servers. `rewriteDatabaseUrl` lets a
 * test route Trellis's database connections elsewhere (through a proxy that can cut them).
 */
export async function createTestContext(
  options: {
    rewriteDatabaseUrl?: (url: URL) => URL;
    /** Extra environment variables, e.g. `TRELLIS_SECRET_<NAME>`; `undefined` unsets one. */
    env?: Record<string, string | undefined>;
    stepTypes?: readonly StepTypeDefinition[];
    /** Traces into this exporter (the worker then bundles its workflows with the tracing interceptors). */
    spanExporter?: SpanExporter;
  } = {},
): Promise<TestContext> {
  const adminUrl = requiredEnv('TRELLIS_TEST_DATABASE_URL');
  const suffix = randomUUID().replace(/-/g, '').slice(0, 12);
  const database = `trellis_test_${suffix}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${database}`);
  await admin.end();
  let databaseUrl = new URL(adminUrl);
  databaseUrl.pathname = `/${database}`;
  if (options.rewriteDatabaseUrl) databaseUrl = options.rewriteDatabaseUrl(databaseUrl);

  const env: Record<string, string | undefined> = {
    ...process.env,
    DATABASE_URL: databaseUrl.toString(),
    TEMPORAL_ADDRESS: requiredEnv('TEMPORAL_ADDRESS'),
    TEMPORAL_UI_URL: 'http://temporal-ui.test',
    TRELLIS_TASK_QUEUE: `test-${suffix}`,
    TRELLIS_SECRET_KEY: randomBytes(32).toString('base64'),
    PORT: '0',
    // The HTTP stubs steps call listen on loopback, which steps may not reach once a test
    // creates an API key: allowed explicitly, as an operator would (Trellis's own ports stay shut).
    TRELLIS_HTTP_ALLOW: TEST_HTTP_ALLOW,
    ...options.env,
  };
  const settled = Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined));
  const config = loadConfig(settled);
  // Tests fail activities on purpose; the SDK's warnings about them would drown the results.
  // Only a worker needs the SDK's native runtime: installed without one, nothing ever shuts it
  // down, and it keeps jest from exiting (an API-only context, whose workers run elsewhere).
  // Runs' lines (and the WARN of every step failed on purpose) would drown the results too;
  // a test that reads logs configures the logger itself first.
  if (!loggerConfigured()) configureLogger({ level: 'error' });
  if (!loggerInstalled && config.role !== 'api') {
    installTemporalLogger('ERROR');
    loggerInstalled = true;
  }
  // A prebuilt bundle has no tracing interceptors.
  const bundlePath = options.spanExporter ? undefined : process.env.TRELLIS_TEST_WORKFLOW_BUNDLE;
  const trellis = await startTrellis(config, {
    workflowBundle: bundlePath ? { codePath: bundlePath } : undefined,
    log: () => undefined,
    stepTypes: options.stepTypes,
    spanExporter: options.spanExporter,
  });
  const graphqlUrl = trellis.graphqlUrl!;
  return {
    trellis,
    graphqlUrl,
    gql: (query, variables) => graphqlData(graphqlUrl, query, variables),
    env: settled,
    stop: () => trellis.stop(),
  };
}

/** What test contexts let steps reach besides public addresses: loopback, as the stubs need. */
export const TEST_HTTP_ALLOW = '127.0.0.1,localhost,::1';

let loggerInstalled = false;

function requiredEnv(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run the tests through jest (npm test), whose global setup sets it`);
  return value;
}
