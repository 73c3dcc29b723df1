import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/**
 * Most distinct values a user-named label (a definition name, a custom step type) takes in one
 * process; later ones are counted under {@link OTHER_LABEL}. Tenants choose these names, and a
 * tenant creating thousands of definitions must not grow every scrape and Prometheus without
 * bound.
 */
export const MAX_LABEL_VALUES = 200;

/** The label value of names past {@link MAX_LABEL_VALUES}. */
export const OTHER_LABEL = '_other';

/**
 * The values one label has taken, up to a limit: a name seen before or while there is room is
 * itself; past the limit, {@link OTHER_LABEL}.
 */
export class BoundedLabel {
  private readonly seen = new Set<string>();
  constructor(private readonly limit = MAX_LABEL_VALUES) {}

  value(name: string): string {
    if (this.seen.has(name)) return name;
    if (this.seen.size >= this.limit) return OTHER_LABEL;
    this.seen.add(name);
    return name;
  }
}

/** Seconds buckets from 5 ms to 5 min: API requests, audit writes and steps alike. */
const SECONDS_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

/**
 * Trellis's own metrics, in one registry per process (README "Operations" lists them). Tenant ids
 * are never labels: they would multiply every series by the number of tenants, and a Prometheus
 * shared between teams would learn every tenant's name. Definition names are labels, bounded by
 * {@link BoundedLabel}.
 */
export class TrellisMetrics {
  readonly registry = new Registry();
  readonly definitions = new BoundedLabel();
  readonly stepTypes = new BoundedLabel();

  readonly httpRequests = new Counter({
    name: 'trellis_http_requests_total',
    help: 'HTTP requests the API answered, by route (the route pattern, "unmatched" for none), method and status code',
    labelNames: ['route', 'method', 'status'] as const,
    registers: [this.registry],
  });
  readonly httpDuration = new Histogram({
    name: 'trellis_http_request_duration_seconds',
    help: 'Time to answer an HTTP request, by route and method',
    labelNames: ['route', 'method'] as const,
    buckets: SECONDS_BUCKETS,
    registers: [this.registry],
  });
  readonly graphqlOperations = new Counter({
    name: 'trellis_graphql_operations_total',
    help: 'GraphQL operations over HTTP (graphql-ws subscriptions: trellis_graphql_subscriptions), by operation type (query, mutation, unknown) and outcome (ok or the first error code)',
    labelNames: ['operation', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly graphqlDuration = new Histogram({
    name: 'trellis_graphql_operation_duration_seconds',
    help: 'Time to answer a GraphQL query or mutation over HTTP, by operation type',
    labelNames: ['operation'] as const,
    buckets: SECONDS_BUCKETS,
    registers: [this.registry],
  });
  readonly runsStarted = new Counter({
    name: 'trellis_runs_started_total',
    help: 'Runs started (child runs included), by definition',
    labelNames: ['definition'] as const,
    registers: [this.registry],
  });
  readonly runsFinished = new Counter({
    name: 'trellis_runs_finished_total',
    help: 'Runs that reached a final status, by definition and status',
    labelNames: ['definition', 'status'] as const,
    registers: [this.registry],
  });
  readonly stepAttempts = new Counter({
    name: 'trellis_step_attempts_total',
    help: 'Step attempts started, by step type',
    labelNames: ['step_type'] as const,
    registers: [this.registry],
  });
  readonly stepDuration = new Histogram({
    name: 'trellis_step_duration_seconds',
    help: 'Time from a step\'s first attempt to its final status (retries and their waits included), by step type and status',
    labelNames: ['step_type', 'status'] as const,
    buckets: SECONDS_BUCKETS,
    registers: [this.registry],
  });
  readonly stepFinishAttempts = new Histogram({
    name: 'trellis_step_attempts',
    help: 'Attempts a step took until its final status, by step type and status',
    labelNames: ['step_type', 'status'] as const,
    buckets: [1, 2, 3, 5, 10, 20],
    registers: [this.registry],
  });
  readonly auditWriteDuration = new Histogram({
    name: 'trellis_audit_write_duration_seconds',
    help: 'Time to write one audit event (and its run index update) to PostgreSQL, by outcome (ok, duplicate, error)',
    labelNames: ['outcome'] as const,
    buckets: SECONDS_BUCKETS,
    registers: [this.registry],
  });
  /** What the gauges read at each scrape, summed over the API servers of this process. */
  readonly liveCounts = { subscriptions: new Set<() => number>(), sockets: new Set<() => number>() };
  readonly subscriptions = new Gauge({
    name: 'trellis_graphql_subscriptions',
    help: 'Run subscriptions (runEvents, runUpdated) open in this API process',
    registers: [this.registry],
    collect: sum(this.liveCounts.subscriptions),
  });
  readonly sockets = new Gauge({
    name: 'trellis_graphql_sockets',
    help: 'graphql-ws sockets open in this API process',
    registers: [this.registry],
    collect: sum(this.liveCounts.sockets),
  });
  readonly sdkMetricsUp = new Gauge({
    name: 'trellis_temporal_sdk_metrics_up',
    help: '1 when the Temporal SDK\'s worker metrics could be read for this scrape, 0 when not',
    registers: [this.registry],
  });

  constructor() {
    // process_* and nodejs_* (CPU, memory, event loop lag, handles).
    collectDefaultMetrics({ register: this.registry });
  }
}

function sum(sources: Set<() => number>): (this: Gauge) => void {
  return function (this: Gauge) {
    let total = 0;
    for (const count of sources) total += count();
    this.set(total);
  };
}

/** The process's metrics: one registry, whatever parts (API, worker) the process runs. */
export const metrics = new TrellisMetrics();
