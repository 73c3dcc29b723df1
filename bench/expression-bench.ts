import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker, bundleWorkflowCode } from '@temporalio/worker';
import { evaluateTemplateSync } from '../definition/template-plan';
import type { BenchEngine, expressionBench } from './expression-bench.workflow';
import { EXPRESSION_CASES, EXPRESSION_CASE_NAMES, benchBindings, evaluateWithJsonata, type ExpressionCase } from './expression-cases';
import { percentile } from './stats';

/** Options of {@link benchExpressions}. */
export interface ExpressionBenchOptions {
  /** Temporal frontend address and namespace (the bench's own dev server). */
  address: string;
  namespace: string;
  /** Measurements of each figure; the table shows their median and spread. @default 5 */
  repeats: number;
  /** CPU time one measured batch aims at, in milliseconds (one workflow activation in the sandbox). @default 150 */
  targetMs: number;
  log: (message: string) => void;
}

/** One figure measured `repeats` times: microseconds per evaluation. */
export interface Spread {
  median: number;
  min: number;
  max: number;
  samples: number[];
}

/** The figures of one expression. */
export interface ExpressionRow {
  name: ExpressionCase;
  /** jsonata 2.2.2 (npm, asynchronous, as it is) in plain Node: the reference. */
  plainJsonata: Spread;
  /** Trellis's engine inside Temporal's workflow sandbox. */
  sandboxTrellis: Spread;
  /** jsonata 2.2.2 inside Temporal's workflow sandbox. */
  sandboxJsonata: Spread;
  /** Evaluations per sandbox workflow activation, per engine. */
  iterations: { trellis: number; jsonata: number };
}

/**
 * Measures the cost of one evaluation of each of {@link EXPRESSION_CASES}: inside Temporal's
 * workflow sandbox with Trellis's engine and with jsonata 2.2.2, and in plain Node with jsonata
 * 2.2.2, the reference. (Trellis's engine in this process would run as tsx compiles it, which
 * adds to every function it creates: not what a worker runs.)
 *
 * Nothing can be timed inside the sandbox (its clock stands still during an activation), so a
 * workflow evaluates the expression N times in one activation and the CPU time of this process
 * (whose worker runs the workflow) is measured from outside, against the same workflow
 * evaluating nothing; the difference divided by N is the cost of one evaluation. N is chosen per
 * expression and engine so that an activation costs about `targetMs`, far below Temporal's 2 s
 * deadlock detector. Plain-Node figures are CPU time too, so all four columns compare.
 *
 * @throws Error when the engines disagree on a result, or a workflow fails.
 */
export async function benchExpressions(options: ExpressionBenchOptions): Promise<ExpressionRow[]> {
  const { log } = options;
  const bindings = benchBindings();
  const expected = new Map<ExpressionCase, string>();
  for (const name of EXPRESSION_CASE_NAMES) {
    const ours = JSON.stringify(evaluateTemplateSync(EXPRESSION_CASES[name], bindings));
    const reference = JSON.stringify(await evaluateWithJsonata(EXPRESSION_CASES[name], bindings));
    if (ours !== reference) throw new Error(`the engines disagree on "${name}": ${ours} against jsonata 2.2.2's ${reference}`);
    expected.set(name, ours);
  }

  // Plain Node first, before the worker exists: its threads would add to this process's CPU time.
  const plain = new Map<ExpressionCase, Spread>();
  for (const name of EXPRESSION_CASE_NAMES) {
    const template = EXPRESSION_CASES[name];
    log(`expressions: ${name} in plain Node`);
    plain.set(name, await plainCost(options, () => evaluateWithJsonata(template, bindings)));
  }

  log('expressions: bundling the benchmark workflow');
  const workflowBundle = await bundleWorkflowCode({ workflowsPath: require.resolve('./expression-bench.workflow'), logger: quietLogger });
  const taskQueue = `bench-expressions-${randomUUID().slice(0, 8)}`;
  const nativeConnection = await NativeConnection.connect({ address: options.address });
  const connection = await Connection.connect({ address: options.address });
  const worker = await Worker.create({ connection: nativeConnection, namespace: options.namespace, taskQueue, workflowBundle });
  const running = worker.run();
  const client = new Client({ connection, namespace: options.namespace });
  const sandbox = async (engine: BenchEngine, name: ExpressionCase, iterations: number): Promise<{ cpuMicros: number; result: unknown }> => {
    const began = process.cpuUsage();
    const result = await client.workflow.execute<typeof expressionBench>('expressionBench', {
      taskQueue,
      workflowId: `${taskQueue}-${randomUUID()}`,
      args: [engine, name, iterations],
      workflowExecutionTimeout: '2 minutes',
    });
    const used = process.cpuUsage(began);
    return { cpuMicros: used.user + used.system, result };
  };
  /** Microseconds per evaluation of `engine` in the sandbox, measured once against an empty run. */
  const sandboxCost = async (engine: BenchEngine, name: ExpressionCase, iterations: number): Promise<number> => {
    const empty = await sandbox('none', name, iterations);
    const full = await sandbox(engine, name, iterations);
    const result = JSON.stringify(full.result);
    if (result !== expected.get(name)) throw new Error(`${engine} in the sandbox returned ${result} for "${name}", expected ${expected.get(name)}`);
    return Math.max(0, full.cpuMicros - empty.cpuMicros) / iterations;
  };

  const rows: ExpressionRow[] = [];
  try {
    for (const name of EXPRESSION_CASE_NAMES) {
      log(`expressions: ${name} in the workflow sandbox`);
      const plainJsonata = plain.get(name)!;
      // A first guess from plain Node (jsonata 2.2.2 is some 20-200 times slower in the sandbox),
      // corrected once by a measured batch, which also warms the sandbox up.
      const iterations = {
        trellis: batchSize(options.targetMs, plainJsonata.median * 3),
        jsonata: batchSize(options.targetMs, plainJsonata.median * 50),
      };
      for (const engine of ['trellis', 'jsonata'] as const) {
        const estimate = await sandboxCost(engine, name, iterations[engine]);
        const cost = estimate * iterations[engine];
        if (cost > options.targetMs * 2000 || cost < options.targetMs * 300) iterations[engine] = batchSize(options.targetMs, estimate);
      }
      const samples = { trellis: [] as number[], jsonata: [] as number[] };
      for (let repeat = 0; repeat < options.repeats; repeat++) {
        for (const engine of ['trellis', 'jsonata'] as const) samples[engine].push(await sandboxCost(engine, name, iterations[engine]));
      }
      rows.push({ name, plainJsonata, sandboxTrellis: spread(samples.trellis), sandboxJsonata: spread(samples.jsonata), iterations });
    }
  } finally {
    worker.shutdown();
    await running.catch(() => undefined);
    await connection.close();
    await nativeConnection.close();
  }
  return rows;
}

/** CPU microseconds per call of `evaluate` in this thread: warmed up, then `repeats` batches of about `targetMs`. */
async function plainCost(options: ExpressionBenchOptions, evaluate: () => unknown): Promise<Spread> {
  const run = async (count: number): Promise<number> => {
    const began = process.cpuUsage();
    for (let i = 0; i < count; i++) {
      const result = evaluate();
      if (result instanceof Promise) await result;
    }
    const used = process.cpuUsage(began);
    return (used.user + used.system) / count;
  };
  let count = 16;
  // Warm up (JIT, caches) and size the batches.
  for (let estimate = await run(count); estimate * count < 20_000; estimate = await run(count)) count *= 2;
  const perCall = await run(count);
  const batch = Math.max(1, Math.round((options.targetMs * 1000) / Math.max(perCall, 0.01)));
  const samples: number[] = [];
  for (let repeat = 0; repeat < options.repeats; repeat++) samples.push(await run(batch));
  return spread(samples);
}

/** Evaluations that cost about `targetMs` at `micros` each. */
function batchSize(targetMs: number, micros: number): number {
  return Math.min(50_000, Math.max(1, Math.round((targetMs * 1000) / Math.max(micros, 0.1))));
}

function spread(samples: number[]): Spread {
  return { median: percentile(samples, 50), min: Math.min(...samples), max: Math.max(...samples), samples };
}

const quietLogger = {
  log: () => undefined,
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: (message: string) => process.stderr.write(`[bench] ${message}\n`),
};
