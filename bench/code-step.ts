import { isDeepStrictEqual } from 'node:util';
import { performance } from 'node:perf_hooks';
import { evaluateTemplateSync } from '../definition/template-plan';
import { CodeSandbox } from '../src/code-steps/code-sandbox';
import { DEFAULT_CODE_LIMITS } from '../src/code-steps/code-limits';
import { finished, startRunOf, stepOf } from '../test/support/runs';
import type { TestContext } from '../test/support/test-context';
import { ratio, summarize, type LatencySummary } from './stats';

/** The logic both sides compute: an order's total and its discount. */
const CODE_SOURCE = 'const total = item.lines.reduce((sum, line) => sum + line.price * line.qty, 0);\nreturn { total, discount: total > 100 ? total / 10 : 0 };';
const TRANSFORM_VALUE = {
  total: '{% $sum($item.lines.(price * qty)) %}',
  discount: '{% ($t := $sum($item.lines.(price * qty)); $t > 100 ? $t / 10 : 0) %}',
};

/** What {@link benchCodeSteps} measured. */
export type CodeStepBench = {
  steps: number;
  /** First execution on a WebAssembly module not loaded yet (compiling and instantiating it included). */
  coldMs: number;
  /** Later executions in the sandbox, each in a fresh runtime and context (ms). */
  warm: LatencySummary;
  /** The same logic as a template, with the synchronous evaluator in plain Node (ms). */
  template: LatencySummary;
  /** Whole runs: a map of `steps` items whose inline graph is one code step, against one transform step (ms). */
  runs: { code: number; transform: number };
};

function order(index: number) {
  return { lines: [{ price: 12.5, qty: 1 + (index % 5) }, { price: 40, qty: 2 }, { price: 3.25, qty: index % 3 }] };
}

/**
 * `npm run bench -- --only code`: 1,000 code steps' cost per execution, cold (a module not loaded
 * yet) and warm, against the same logic as a `transform` template; then the same as whole runs
 * (a `map` step of 1,000 items running a code step each, against one running a transform step).
 * Both sides' results are checked to agree.
 */
export async function benchCodeSteps(ctx: TestContext, options: { steps: number; log: (line: string) => void }): Promise<CodeStepBench> {
  const { steps, log } = options;
  const run = { id: 'bench', definition: 'bench', version: 1, startedAt: new Date(0).toISOString(), attempt: 1 };
  // A memory limit no other sandbox of this process uses: its module is loaded by the first run.
  const sandbox = new CodeSandbox({ ...DEFAULT_CODE_LIMITS, memoryBytes: DEFAULT_CODE_LIMITS.memoryBytes + 1024 * 1024 });
  const coldStart = performance.now();
  const first = await sandbox.run(CODE_SOURCE, { input: {}, steps: {}, run, item: order(0), index: 0 });
  const coldMs = performance.now() - coldStart;
  if (!first.ok) throw new Error(`the benchmark's code failed: ${first.error.message}`);

  log(`timing ${steps} code executions and ${steps} template evaluations`);
  const warm: number[] = [];
  const template: number[] = [];
  for (let index = 0; index < steps; index++) {
    const item = order(index);
    let began = performance.now();
    const outcome = await sandbox.run(CODE_SOURCE, { input: {}, steps: {}, run, item, index });
    warm.push(performance.now() - began);
    began = performance.now();
    const evaluated = evaluateTemplateSync(TRANSFORM_VALUE, { input: {}, steps: {}, run, item, index });
    template.push(performance.now() - began);
    if (!outcome.ok || !isDeepStrictEqual(outcome.output, evaluated)) {
      throw new Error(`code and template disagree on item ${index}: ${JSON.stringify(outcome.ok ? outcome.output : outcome.error.message)} against ${JSON.stringify(evaluated)}`);
    }
  }

  const orders = Array.from({ length: steps }, (_, index) => order(index));
  const timeRun = async (name: string, step: Record<string, unknown>): Promise<number> => {
    const spec = { name, steps: { each: { type: 'map', items: '{% $input.orders %}', maxConcurrency: 50, do: { steps: { price: step }, output: '{% $steps.price.output %}' } } } };
    log(`running ${name}: a map of ${steps} items`);
    const began = performance.now();
    const result = await finished(ctx, await startRunOf(ctx, spec, { orders }));
    const ms = performance.now() - began;
    if (result.status !== 'COMPLETED') throw new Error(`${name} ended ${result.status}: ${JSON.stringify(result.error)}`);
    const output = stepOf(result, 'each').output as unknown[];
    if (output.length !== steps) throw new Error(`${name} gave ${output.length} results for ${steps} items`);
    return ms;
  };
  const code = await timeRun('bench-code-steps', { type: 'code', source: CODE_SOURCE });
  const transform = await timeRun('bench-transform-steps', { type: 'transform', value: TRANSFORM_VALUE });
  return { steps, coldMs, warm: summarize(warm), template: summarize(template), runs: { code, transform } };
}

/** Prints {@link benchCodeSteps}'s figures and ratios. */
export function reportCodeSteps(result: CodeStepBench, print: (line: string) => void = console.log): void {
  const ms = (value: number) => `${value.toFixed(3)} ms`;
  print(`\nCode steps (${result.steps} executions)`);
  print(`  cold (first execution, module compiled and instantiated): ${ms(result.coldMs)}`);
  print(`  warm code step, per execution:   mean ${ms(result.warm.mean)}  p50 ${ms(result.warm.p50)}  p95 ${ms(result.warm.p95)}`);
  print(`  same logic as a template:        mean ${ms(result.template.mean)}  p50 ${ms(result.template.p50)}  p95 ${ms(result.template.p95)}`);
  print(`  warm code / template (p50): ${ratio(result.warm.p50, result.template.p50)}`);
  print(`  whole run, map of ${result.steps} code steps: ${ms(result.runs.code)} (${ms(result.runs.code / result.steps)} per step)`);
  print(`  whole run, map of ${result.steps} transform steps: ${ms(result.runs.transform)} (${ms(result.runs.transform / result.steps)} per step)`);
  print(`  code run / transform run: ${ratio(result.runs.code, result.runs.transform)}`);
}
