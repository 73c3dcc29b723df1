import { performance } from 'node:perf_hooks';
import { createApiKey } from '../src/api/api-keys';
import { graphql } from '../test/support/graphql-client';
import type { TestContext } from '../test/support/test-context';
import { summarize, type LatencySummary } from './stats';

/**
 * Expressions one tenant throws at the worker to starve the others: each is bounded by the
 * expression budgets and fails its step, but costs as much as a budget allows.
 */
export const POISONS: Readonly<Record<string, Record<string, unknown>>> = {
  'strings of a million characters': { poison: { type: 'transform', value: "{% [1..300].$pad('', 1000000) %}" } },
  'an endless loop': { poison: { type: 'transform', value: '{% ($f := function($n){ $f($n + 1) }; $f(0)) %}' } },
  'forty endless loops at once': Object.fromEntries(
    Array.from({ length: 40 }, (_, index) => [`loop${index}`, { type: 'transform', onError: 'continue', value: '{% ($f := function($n){ $f($n + 1) }; $f(0)) %}' }]),
  ),
  'a slow regex over a long string': { poison: { type: 'transform', value: "{% ($s := $join([1..20000].('ab')); [1..250].$contains($s, /(a|b)*a(a|b){25}$/)) %}" } },
};

export type IsolationOptions = {
  /** Runs of the ordinary tenant measured alone and again under attack. */
  runs: number;
  /** Poisoned runs the attacker keeps in flight at once. */
  attackers: number;
  log: (message: string) => void;
};

export type IsolationResult = {
  alone: LatencySummary;
  underAttack: LatencySummary;
  /** Poisoned runs that finished during the attack, by final status. */
  poisoned: Record<string, number>;
  /** Largest resident set of this process (API and worker) sampled during each phase, in MiB. */
  rssMiB: { alone: number; underAttack: number };
  attackers: number;
};

/**
 * Measures how much one tenant's poisoned runs slow another tenant's one-step runs on the same
 * worker: tenant "alice" runs a small transform `runs` times in a row, alone and then while
 * tenant "mallory" keeps `attackers` runs of {@link POISONS} in flight. `ctx` must run a worker
 * and have no rate limit (TRELLIS_RATE_LIMIT=0).
 */
export async function benchIsolation(ctx: TestContext, options: IsolationOptions): Promise<IsolationResult> {
  const keys = {
    alice: (await createApiKey(ctx.trellis.db, 'alice', 'bench', false)).secret,
    mallory: (await createApiKey(ctx.trellis.db, 'mallory', 'bench', false)).secret,
  };
  const call = async <T>(key: string, query: string, variables: Record<string, unknown>): Promise<T> => {
    const result = await graphql<T>(ctx.graphqlUrl, query, variables, key);
    if (result.errors?.length || !result.data) throw new Error(`GraphQL errors: ${JSON.stringify(result.errors)}`);
    return result.data;
  };
  const save = (key: string, name: string, steps: Record<string, unknown>) =>
    call(key, 'mutation($spec: JSON!) { saveDefinition(spec: $spec) { version } }', { spec: { name, steps } });
  /** Starts `name` as the key's tenant and resolves with its final status once it ends. */
  const run = async (key: string, name: string): Promise<string> => {
    const { startRun } = await call<{ startRun: { id: string; temporal: { workflowId: string } } }>(
      key,
      'mutation($name: String!) { startRun(definition: $name) { id temporal { workflowId } } }',
      { name },
    );
    // A failed run fails its workflow too: its status is read from the API either way.
    await ctx.trellis.client.workflow.getHandle(startRun.temporal.workflowId).result().catch(() => undefined);
    const { run: finished } = await call<{ run: { status: string } }>(key, 'query($id: ID!) { run(id: $id) { status } }', { id: startRun.id });
    return finished.status;
  };

  await save(keys.alice, 'neighbour', { sum: { type: 'transform', value: '{% $sum([1..100].($ * 2)) %}' } });
  const poisonNames = Object.keys(POISONS).map((_, index) => `poison-${index}`);
  for (const [index, steps] of Object.values(POISONS).entries()) await save(keys.mallory, poisonNames[index]!, steps);

  const measure = async (): Promise<{ latency: LatencySummary; rssMiB: number }> => {
    let rss = process.memoryUsage().rss;
    const sampler = setInterval(() => {
      rss = Math.max(rss, process.memoryUsage().rss);
    }, 100);
    try {
      const latencies: number[] = [];
      for (let index = 0; index < options.runs; index++) {
        const startedAt = performance.now();
        const status = await run(keys.alice, 'neighbour');
        if (status !== 'COMPLETED') throw new Error(`alice's run ended ${status}`);
        latencies.push(performance.now() - startedAt);
      }
      return { latency: summarize(latencies), rssMiB: rss / 2 ** 20 };
    } finally {
      clearInterval(sampler);
    }
  };

  options.log(`isolation: warming up, then ${options.runs} runs of tenant alice alone`);
  await run(keys.alice, 'neighbour');
  for (const name of poisonNames) await run(keys.mallory, name);
  const alone = await measure();

  options.log(`isolation: ${options.runs} runs of alice while mallory keeps ${options.attackers} poisoned runs in flight`);
  const poisoned: Record<string, number> = {};
  let attacking = true;
  let started = 0;
  const lanes = Array.from({ length: options.attackers }, async () => {
    while (attacking) {
      const status = await run(keys.mallory, poisonNames[started++ % poisonNames.length]!);
      poisoned[status] = (poisoned[status] ?? 0) + 1;
    }
  });
  try {
    const underAttack = await measure();
    return { alone: alone.latency, underAttack: underAttack.latency, poisoned, rssMiB: { alone: alone.rssMiB, underAttack: underAttack.rssMiB }, attackers: options.attackers };
  } finally {
    attacking = false;
    await Promise.all(lanes);
  }
}
