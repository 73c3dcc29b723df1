import http from 'node:http';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { RateLimitedError, TrellisError } from '../errors';
import type { Caller } from '../api/authenticate';
import { errorFields, logger } from './logger';
import { metrics } from './metrics';

/** Where metrics are served, on the API port and on `TRELLIS_METRICS_PORT`. */
export const METRICS_PATH = '/metrics';

/** How long a scrape waits for the Temporal SDK's exporter. */
const SDK_SCRAPE_TIMEOUT_MS = 2_000;

/**
 * The Prometheus text of this process: Trellis's own metrics, then, when this process runs a
 * worker, the Temporal SDK's worker metrics (`temporal_*`), read from the SDK's exporter on
 * loopback (`sdkMetricsUrl`) so that one scrape gets both. An SDK exporter that does not answer
 * costs its part of the scrape, not the scrape: `trellis_temporal_sdk_metrics_up` says 0.
 */
export async function renderMetrics(sdkMetricsUrl: string | undefined): Promise<string> {
  let sdk = '';
  if (sdkMetricsUrl !== undefined) {
    try {
      const response = await fetch(sdkMetricsUrl, { signal: AbortSignal.timeout(SDK_SCRAPE_TIMEOUT_MS) });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      sdk = await response.text();
      metrics.sdkMetricsUp.set(1);
    } catch (err) {
      metrics.sdkMetricsUp.set(0);
      logger.warn({ url: sdkMetricsUrl, ...errorFields(err, false) }, 'cannot read the Temporal SDK\'s metrics');
    }
  }
  const own = await metrics.registry.metrics();
  return sdk === '' ? own : `${own.trimEnd()}\n${sdk}`;
}

/** Options of {@link registerMetricsRoute}. */
export type MetricsRouteOptions = {
  /** The API's request guard, as for the codec endpoint (loopback only while keyless). */
  authenticate: (request: FastifyRequest) => Promise<Caller>;
  /** Tenant whose admin keys may read metrics once API keys exist; `undefined`: nobody may then. */
  operatorTenant: string | undefined;
  sdkMetricsUrl: string | undefined;
};

/**
 * `GET /metrics` on the API port, for operators: metrics count every tenant's runs and name their
 * definitions. While no API key exists, loopback clients may read them (as the codec endpoint);
 * once keys exist, admin keys of the operator tenant only (401 without a valid key, 403 for
 * others). Prometheus scrapes it with `authorization: { credentials: <operator key> }`, or scrapes
 * `TRELLIS_METRICS_PORT` on the internal network instead (see {@link startMetricsServer}).
 */
export function registerMetricsRoute(app: FastifyInstance, options: MetricsRouteOptions): void {
  app.get(METRICS_PATH, async (request, reply) => {
    let caller: Caller;
    try {
      caller = await options.authenticate(request);
    } catch (err) {
      if (err instanceof RateLimitedError) return reply.code(429).header('retry-after', String(err.retryAfterSeconds ?? 60)).send({ message: err.message });
      if (err instanceof TrellisError && err.code === 'FORBIDDEN') return reply.code(403).send({ message: err.message });
      return reply.code(401).send({ message: err instanceof TrellisError ? err.message : 'not authenticated' });
    }
    if (caller.keyId !== undefined && (options.operatorTenant === undefined || caller.tenantId !== options.operatorTenant || !caller.admin)) {
      const who = options.operatorTenant === undefined ? 'set TRELLIS_OPERATOR_TENANT and use an admin key of that tenant' : `only admin keys of the operator tenant (${options.operatorTenant}) may read them`;
      return reply.code(403).send({ message: `metrics describe every tenant's runs: ${who}` });
    }
    return reply.header('content-type', metrics.registry.contentType).send(await renderMetrics(options.sdkMetricsUrl));
  });
}

/** A metrics listener (see {@link startMetricsServer}). */
export type MetricsServer = { port: number; close(): Promise<void> };

/**
 * `TRELLIS_METRICS_PORT`: a listener of its own serving `GET /metrics` without authentication, in
 * every role (a worker-only process has no API port). Keep the port on the internal network
 * (Prometheus's side of it): anyone who reaches it reads every tenant's counts and definition
 * names. Steps can never reach it (it is part of Trellis's infrastructure for egress).
 */
export function startMetricsServer(port: number, host: string, sdkMetricsUrl: string | undefined): Promise<MetricsServer> {
  const server = http.createServer((request, response) => {
    const path = (request.url ?? '').split('?')[0];
    if (request.method !== 'GET' || path !== METRICS_PATH) {
      response.writeHead(404, { 'content-type': 'text/plain' }).end(`only GET ${METRICS_PATH} is served here\n`);
      return;
    }
    renderMetrics(sdkMetricsUrl).then(
      (text) => response.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text),
      (err: unknown) => {
        logger.error(errorFields(err, true), 'cannot render metrics');
        response.writeHead(500, { 'content-type': 'text/plain' }).end('internal server error\n');
      },
    );
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      const address = server.address();
      resolve({
        port: typeof address === 'object' && address ? address.port : port,
        close: () => new Promise<void>((done) => server.close(() => done())),
      });
    });
  });
}
