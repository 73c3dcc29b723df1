#!/usr/bin/env node
// The container health check (Dockerfile HEALTHCHECK, docker-compose.yml): exits 0 when this
// container's Trellis process answers, 1 otherwise, within 4 seconds.
// - A process with an API (TRELLIS_ROLE all or api): GET /health on PORT must be 200, i.e.
//   PostgreSQL and the Temporal namespace are reachable.
// - A worker-only process has no API port: GET /metrics on TRELLIS_METRICS_PORT must be 200 and
//   the Temporal SDK's worker metrics readable (the native runtime is alive). Without
//   TRELLIS_METRICS_PORT a worker has nothing to ask, and counts as healthy while it runs.
// Run inside the container, so it reads the container's own environment.
const env = process.env;
const role = env.TRELLIS_ROLE ?? 'all';
const bound = env.HOST && !['0.0.0.0', '::', '[::]'].includes(env.HOST) ? env.HOST : '127.0.0.1';
const host = bound.includes(':') && !bound.startsWith('[') ? `[${bound}]` : bound;

async function check() {
  if (role !== 'worker') {
    const response = await fetch(`http://${host}:${env.PORT ?? 4000}/health`, { signal: AbortSignal.timeout(4000) });
    if (response.status !== 200) throw new Error(`GET /health answered ${response.status}: ${await response.text()}`);
    return;
  }
  if (env.TRELLIS_METRICS_PORT === undefined) return;
  const response = await fetch(`http://${host}:${env.TRELLIS_METRICS_PORT}/metrics`, { signal: AbortSignal.timeout(4000) });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`GET /metrics answered ${response.status}`);
  if (/^trellis_temporal_sdk_metrics_up 0$/m.test(text)) throw new Error('the Temporal SDK\'s worker metrics cannot be read');
}

check().then(
  () => process.exit(0),
  (err) => {
    console.error(`unhealthy: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
