import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { createApiKey } from '../../src/api/api-keys';
import { freePort } from '../../src/net/free-port';
import { configureLogger } from '../../src/observability/logger';
import { startMetricsServer } from '../../src/observability/metrics-endpoint';
import { installTemporalLogger, temporalSdkMetricsUrl } from '../../src/temporal/worker';
import { HttpStub } from '../support/http-stub';
import { runToEnd, stepOf } from '../support/runs';
import { createTestContext, type TestContext } from '../support/test-context';
import { until } from '../support/until';

/**
 * Operations (issue 14, item 3): `GET /metrics` after real runs (Trellis's counters and the
 * Temporal SDK's worker metrics in one scrape), who may read it, and the log lines a business
 * failure produces. One Trellis (API and worker) whose every log line is captured.
 */

const TOKEN = 'tok_live_obs_8c1d5e7f2a';
const OPERATOR = 'ops';
const lines: Array<Record<string, any>> = [];
let ctx: TestContext;
let stub: HttpStub;
let metricsUrl: string;

beforeAll(async () => {
  configureLogger({ level: 'debug', destination: { write: (line: string) => void lines.push(JSON.parse(line)) } });
  // As src/main.ts does, at INFO: the SDK's own "Activity failed" warnings are on, so the test
  // sees whether a business failure is logged once or twice.
  installTemporalLogger('INFO', { metricsPort: await freePort() });
  [ctx, stub] = await Promise.all([
    createTestContext({ env: { TRELLIS_OPERATOR_TENANT: OPERATOR, TRELLIS_SECRET_TOKEN: TOKEN } }),
    new HttpStub().start(),
  ]);
  stub.on('POST /reserve', { status: 200, body: { reserved: true } });
  // The target echoes the credentials it was sent, as careless services do.
  stub.on('POST /ship', (request) => ({ status: 409, body: { error: 'order already shipped', youSent: request.headers.authorization } }));
  metricsUrl = ctx.graphqlUrl.replace(/\/graphql$/, '/metrics');
}, 120_000);

afterAll(async () => {
  await Promise.all([ctx?.stop(), stub?.stop()]);
});

/** A definition whose second step gets a 409: the run fails with one business failure. */
function shipping(name: string) {
  return {
    name,
    steps: {
      reserve: { type: 'http', method: 'POST', url: `${stub.url}/reserve`, retry: { maxAttempts: 1 } },
      ship: {
        type: 'http',
        method: 'POST',
        needs: ['reserve'],
        url: `${stub.url}/ship`,
        headers: { authorization: "Bearer {% $secret('TOKEN') %}" },
        retry: { maxAttempts: 2, initialInterval: '10ms' },
      },
    },
  };
}

async function scrape(url = metricsUrl, headers: Record<string, string> = {}): Promise<{ status: number; text: string }> {
  const response = await fetch(url, { headers });
  return { status: response.status, text: await response.text() };
}

/** The value of one sample (`name{labels}` exactly as Prometheus text writes it), or 0. */
function sample(text: string, series: string): number {
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${series} `));
  return line === undefined ? 0 : Number(line.slice(series.length + 1));
}

describe('GET /metrics after a run', () => {
  const name = `obs-${randomUUID().slice(0, 8)}`;
  let runId: string;

  beforeAll(async () => {
    const run = await runToEnd(ctx, shipping(name));
    expect(run.status).toBe('FAILED');
    expect(stepOf(run, 'ship').error).toMatchObject({ details: { status: 409 } });
    runId = run.id;
    // The audit sink reports each event once it is written, off the run's path.
    await until('the run is counted as finished', async () => sample((await scrape()).text, `trellis_runs_finished_total{definition="${name}",status="FAILED"}`) === 1);
  }, 60_000);

  it('counts runs started and finished by definition and status', async () => {
    const { status, text } = await scrape();
    expect(status).toBe(200);
    expect(sample(text, `trellis_runs_started_total{definition="${name}"}`)).toBe(1);
    expect(sample(text, `trellis_runs_finished_total{definition="${name}",status="FAILED"}`)).toBe(1);
  });

  it('counts step attempts and times steps by step type and final status', async () => {
    const { text } = await scrape();
    // reserve once, ship twice (its 409 is not retried: 4xx other than 408 and 429 are final).
    expect(sample(text, 'trellis_step_attempts_total{step_type="http"}')).toBeGreaterThanOrEqual(2);
    expect(sample(text, 'trellis_step_duration_seconds_count{step_type="http",status="SUCCEEDED"}')).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'trellis_step_duration_seconds_count{step_type="http",status="FAILED"}')).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'trellis_step_attempts_count{step_type="http",status="FAILED"}')).toBeGreaterThanOrEqual(1);
  });

  it('times audit writes and counts API requests and GraphQL operations, without run ids in any label', async () => {
    const { text } = await scrape();
    expect(sample(text, 'trellis_audit_write_duration_seconds_count{outcome="ok"}')).toBeGreaterThanOrEqual(6);
    expect(sample(text, 'trellis_http_requests_total{route="/graphql",method="POST",status="200"}')).toBeGreaterThanOrEqual(2);
    expect(sample(text, 'trellis_graphql_operations_total{operation="mutation",outcome="ok"}')).toBeGreaterThanOrEqual(2);
    expect(text).toMatch(/^trellis_graphql_subscriptions \d+$/m);
    expect(text).not.toContain(runId);
    expect(text).not.toContain('tenant');
  });

  it('includes the Temporal SDK\'s worker metrics', async () => {
    const { text } = await scrape();
    expect(sample(text, 'trellis_temporal_sdk_metrics_up')).toBe(1);
    expect(text).toMatch(/^temporal_activity_execution_latency_count\{.*\} [1-9]/m);
    expect(text).toMatch(/^temporal_workflow_failed_total\{.*\} [1-9]/m);
  });

  it('moves its counters with the next run', async () => {
    const before = sample((await scrape()).text, `trellis_runs_started_total{definition="${name}"}`);
    await runToEnd(ctx, shipping(name));
    await until('the second run is counted', async () => sample((await scrape()).text, `trellis_runs_finished_total{definition="${name}",status="FAILED"}`) === 2);
    expect(sample((await scrape()).text, `trellis_runs_started_total{definition="${name}"}`)).toBe(before + 1);
  }, 60_000);

  it('logs a business failure as one WARN line with the step, the status and the message, and no stack', () => {
    const ofRun = lines.filter((line) => line.runId === runId);
    const warnings = ofRun.filter((line) => line.level >= 40);
    expect(warnings).toEqual([
      expect.objectContaining({ level: 40, tenantId: 'default', stepId: 'ship', stepType: 'http', status: 409, attempt: 1, error: expect.stringContaining('order already shipped') }),
    ]);
    expect(ofRun.some((line) => JSON.stringify(line).includes('"stack"'))).toBe(false);
    expect(ofRun).toContainEqual(expect.objectContaining({ level: 30, msg: 'run failed', status: 'FAILED' }));
  });

  it('never logs a secret, even one the target echoed back', () => {
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.some((line) => JSON.stringify(line).includes(TOKEN))).toBe(false);
  });
});

describe('TRELLIS_METRICS_PORT, the unauthenticated listener for the internal network', () => {
  it('serves the same text on GET /metrics and nothing else', async () => {
    const server = await startMetricsServer(0, '127.0.0.1', temporalSdkMetricsUrl());
    try {
      const { status, text } = await scrape(`http://127.0.0.1:${server.port}/metrics`);
      expect(status).toBe(200);
      expect(text).toContain('trellis_runs_started_total');
      expect(text).toContain('temporal_');
      expect((await scrape(`http://127.0.0.1:${server.port}/`)).status).toBe(404);
    } finally {
      await server.close();
    }
  });

  it('keeps the SDK\'s metrics port out of steps\' reach, whatever TRELLIS_HTTP_ALLOW says', async () => {
    const sdkUrl = temporalSdkMetricsUrl()!;
    const run = await runToEnd(ctx, { name: `obs-reach-${randomUUID().slice(0, 8)}`, steps: { peek: { type: 'http', method: 'GET', url: sdkUrl, retry: { maxAttempts: 1 } } } });
    expect(stepOf(run, 'peek').error).toMatchObject({
      type: 'EgressDenied',
      message: expect.stringContaining(`:${new URL(sdkUrl).port}, which is part of Trellis's own infrastructure`),
    });
  }, 60_000);
});

describe('who may read GET /metrics once API keys exist', () => {
  let operatorKey: string;
  let tenantAdminKey: string;

  beforeAll(async () => {
    operatorKey = (await createApiKey(ctx.trellis.db, OPERATOR, 'prometheus', true)).secret;
    tenantAdminKey = (await createApiKey(ctx.trellis.db, 'acme', 'admin', true)).secret;
  });

  it('refuses a request without a key (401)', async () => {
    expect((await scrape()).status).toBe(401);
  });

  it('refuses a tenant\'s admin key: metrics describe every tenant (403)', async () => {
    const { status, text } = await scrape(metricsUrl, { authorization: `Bearer ${tenantAdminKey}` });
    expect(status).toBe(403);
    expect(text).not.toContain('trellis_runs');
  });

  it('serves an admin key of the operator tenant', async () => {
    const { status, text } = await scrape(metricsUrl, { authorization: `Bearer ${operatorKey}` });
    expect(status).toBe(200);
    expect(text).toContain('trellis_runs_finished_total');
  });
});

describe('the container health check (scripts/healthcheck.mjs, the Dockerfile\'s HEALTHCHECK)', () => {
  const script = path.resolve(__dirname, '../../scripts/healthcheck.mjs');

  /** The script's exit code, run with only these variables, as in a container. */
  function healthcheck(env: Record<string, string>): Promise<number> {
    return new Promise((resolve) => {
      execFile(process.execPath, [script], { env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', ...env } }, (error) => resolve(error ? Number(error.code ?? 1) : 0));
    });
  }

  it('passes for a process whose API answers GET /health', async () => {
    expect(await healthcheck({ TRELLIS_ROLE: 'all', PORT: new URL(ctx.graphqlUrl).port })).toBe(0);
  });

  it('passes for a worker whose metrics listener answers with the SDK\'s metrics', async () => {
    const server = await startMetricsServer(0, '127.0.0.1', temporalSdkMetricsUrl());
    try {
      expect(await healthcheck({ TRELLIS_ROLE: 'worker', TRELLIS_METRICS_PORT: String(server.port) })).toBe(0);
    } finally {
      await server.close();
    }
  });

  it('fails when nothing answers', async () => {
    const closed = String(await freePort());
    expect(await healthcheck({ TRELLIS_ROLE: 'api', PORT: closed })).toBe(1);
    expect(await healthcheck({ TRELLIS_ROLE: 'worker', TRELLIS_METRICS_PORT: closed })).toBe(1);
  });
});
