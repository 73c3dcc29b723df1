import { performance } from 'node:perf_hooks';
import { signDelivery } from '../src/triggers/webhook-signature';
import type { TestContext } from '../test/support/test-context';
import { percentile } from './stats';

export type WebhookBenchOptions = {
  /** Deliveries (and then startRun calls) offered per second. */
  rate: number;
  /** How long each intake is offered, in seconds. */
  seconds: number;
  log: (message: string) => void;
};

/** One intake's figures: what was offered, accepted, how fast, and what the database holds after. */
export type IntakeResult = {
  name: string;
  offered: number;
  accepted: number;
  /** Answers other than 202 / a started run, by status (or error text). */
  refused: Record<string, number>;
  /** Accepted per second of the offering window (deliveries still answered after it count). */
  acceptedPerSecond: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  /** Accepted starts whose run row is missing or never started in Temporal. */
  lost: number;
  /** Runs beyond one per accepted start (the same request recorded twice). */
  duplicated: number;
  /** Accepted runs that completed once the intake was drained. */
  completed: number;
};

const DEFINITION = 'bench-hook';

/**
 * Webhook intake at a steady offered rate (open loop: a request is sent every 1/rate s whatever
 * the answers), then the same number of GraphQL `startRun` calls at the same rate: time to 202
 * (to the startRun answer), accepted per second, and lost or duplicated runs checked against the
 * database once every run has completed. `ctx` must run without rate limits
 * (TRELLIS_RATE_LIMIT=0, TRELLIS_WEBHOOK_RATE_LIMIT=0) and with room for the runs in flight.
 */
export async function benchWebhooks(ctx: TestContext, options: WebhookBenchOptions): Promise<IntakeResult[]> {
  await ctx.gql('mutation($spec: JSON!) { saveDefinition(spec: $spec) { version } }', {
    spec: { name: DEFINITION, input: { type: 'object', required: ['n'] }, steps: { done: { type: 'transform', value: '{% $input.n * 2 %}' } } },
  });
  const { createWebhook: hook } = await ctx.gql<{ createWebhook: { id: string; url: string; secret: string } }>(
    `mutation { createWebhook(definition: "${DEFINITION}") { id url secret } }`,
  );
  const count = Math.round(options.rate * options.seconds);

  options.log('warming up: 50 deliveries');
  await Promise.all(Array.from({ length: 50 }, (_, i) => postDelivery(hook, `warm-${i}`, -1 - i)));

  options.log(`webhook intake: ${count} deliveries at ${options.rate}/s`);
  const hooks = await offer(count, options.rate, async (i) => {
    const answer = await postDelivery(hook, `d-${i}`, i);
    return answer.status === 202 ? { runId: answer.runId } : { refused: String(answer.status) };
  });
  const graphqlUrl = ctx.graphqlUrl;
  options.log(`GraphQL startRun: ${count} calls at ${options.rate}/s`);
  const starts = await offer(count, options.rate, async (i) => {
    const response = await fetch(graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: `mutation($n: Int!, $key: String!) { startRun(definition: "${DEFINITION}", input: {n: $n}, idempotencyKey: $key) { id } }`, variables: { n: i, key: `s-${i}` } }),
    });
    const body = (await response.json()) as { data?: { startRun: { id: string } }; errors?: Array<{ extensions?: { code?: string } }> };
    return body.data?.startRun ? { runId: body.data.startRun.id } : { refused: body.errors?.[0]?.extensions?.code ?? String(response.status) };
  });

  options.log('waiting for every accepted run to complete');
  const results: IntakeResult[] = [];
  for (const [name, outcome, trigger] of [
    ['webhook POST /hooks/:id', hooks, { type: 'webhook', id: hook.id }],
    ['GraphQL startRun', starts, { type: 'api' }],
  ] as const) {
    const accepted = outcome.answers.filter((a) => a.runId !== undefined).map((a) => a.runId!);
    const deadline = Date.now() + 300_000;
    let rows: Array<{ id: string; status: string; temporal_run_id: string | null; idempotency_key: string | null }> = [];
    while (Date.now() < deadline) {
      rows = await ctx.trellis.db
        .selectFrom('runs')
        .select(['id', 'status', 'temporal_run_id', 'idempotency_key'])
        .where('definition_name', '=', DEFINITION)
        .where('trigger', '@>', JSON.stringify(trigger) as never)
        .where('idempotency_key', 'not like', '%warm-%')
        .execute();
      if (rows.every((row) => row.status !== 'RUNNING')) break;
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
    const byId = new Map(rows.map((row) => [row.id, row]));
    const lost = accepted.filter((id) => !byId.get(id)?.temporal_run_id).length;
    const latencies = outcome.answers.filter((a) => a.runId !== undefined).map((a) => a.ms);
    const refused: Record<string, number> = {};
    for (const answer of outcome.answers) if (answer.refused !== undefined) refused[answer.refused] = (refused[answer.refused] ?? 0) + 1;
    results.push({
      name,
      offered: count,
      accepted: accepted.length,
      refused,
      acceptedPerSecond: accepted.length / (outcome.windowMs / 1000),
      p50: percentile(latencies, 50),
      p95: percentile(latencies, 95),
      p99: percentile(latencies, 99),
      max: Math.max(...latencies),
      lost,
      duplicated: rows.length - new Set(accepted).size,
      completed: accepted.filter((id) => byId.get(id)?.status === 'COMPLETED').length,
    });
  }
  return results;

  async function postDelivery(target: { url: string; secret: string }, key: string, n: number): Promise<{ status: number; runId?: string }> {
    const body = JSON.stringify({ n });
    const response = await fetch(target.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': key, 'trellis-signature': signDelivery(target.secret, body) },
      body,
    });
    const answer = (await response.json()) as { runId?: string };
    return { status: response.status, runId: answer.runId };
  }
}

type Answer = { ms: number; runId?: string; refused?: string };

/** Sends `count` requests, one every 1/rate s from the start (open loop), and waits for every answer. */
async function offer(count: number, rate: number, send: (index: number) => Promise<{ runId?: string; refused?: string }>): Promise<{ answers: Answer[]; windowMs: number }> {
  const start = performance.now();
  const pending: Array<Promise<Answer>> = [];
  for (let i = 0; i < count; i += 1) {
    const due = start + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
    const sentAt = performance.now();
    pending.push(
      send(i).then(
        (outcome) => ({ ms: performance.now() - sentAt, ...outcome }),
        (err: unknown) => ({ ms: performance.now() - sentAt, refused: (err as Error).message }),
      ),
    );
  }
  const answers = await Promise.all(pending);
  return { answers, windowMs: Math.max(performance.now() - start, (count * 1000) / rate) };
}
