import { isDeepStrictEqual } from 'node:util';
import { performance } from 'node:perf_hooks';
import { evaluateTemplate } from '../definition/template';
import { buildQuote, type Customer, type Inventory, type Pricing, type Shipping } from './build-quote';
import { QUOTE_TEMPLATE, STUB_BODIES, quoteInput } from './quote-graph';

/** Timing of one side of the micro benchmark. */
export type MicroResult = { name: string; iterations: number; totalMs: number; opsPerSecond: number; microsPerOp: number };

/**
 * Evaluates the graph's `quote` template `iterations` times with `evaluateTemplate`, against the
 * bindings the interpreter would pass at that point of a run, and builds the same object as many
 * times with the plain function the baseline uses. Both are warmed up first and checked to agree.
 * @throws Error when the two disagree on the result
 */
export async function benchTemplate(iterations: number): Promise<{ template: MicroResult; plain: MicroResult; expressions: number }> {
  const bindings = quoteBindings();
  const steps = bindings.steps as Record<string, { output: { body: unknown } }>;
  const plain = () =>
    buildQuote(
      bindings.input as ReturnType<typeof quoteInput>,
      steps.customer!.output.body as Customer,
      steps.inventory!.output.body as Inventory,
      steps.pricing!.output.body as Pricing,
      steps.shipping!.output.body as Shipping,
    );
  const templated = await evaluateTemplate(QUOTE_TEMPLATE, bindings);
  if (!isDeepStrictEqual(templated, plain())) {
    throw new Error(`the template and the plain function disagree:\n${JSON.stringify(templated)}\n${JSON.stringify(plain())}`);
  }

  const warmup = Math.min(1000, Math.ceil(iterations / 10));
  const template = await time('evaluateTemplate', iterations, warmup, () => evaluateTemplate(QUOTE_TEMPLATE, bindings));
  const plainResult = await time('plain function', iterations, warmup, plain);
  const expressions = JSON.stringify(QUOTE_TEMPLATE).match(/\{%/g)?.length ?? 0;
  return { template, plain: plainResult, expressions };
}

async function time(name: string, iterations: number, warmup: number, fn: () => unknown): Promise<MicroResult> {
  // Results are kept so the work cannot be optimised away.
  const sink: unknown[] = [];
  for (let i = 0; i < warmup; i++) sink[i % 16] = await fn();
  const began = performance.now();
  for (let i = 0; i < iterations; i++) sink[i % 16] = await fn();
  const totalMs = performance.now() - began;
  if (sink.length === 0) throw new Error('nothing was evaluated');
  return { name, iterations, totalMs, opsPerSecond: iterations / (totalMs / 1000), microsPerOp: (totalMs * 1000) / iterations };
}

/** `$input`, `$steps` and `$run` as the interpreter binds them when the `quote` step starts. */
function quoteBindings(): Record<string, unknown> {
  const response = (body: unknown) => ({
    status: 200,
    headers: { 'content-type': 'application/json', 'content-length': String(JSON.stringify(body).length), date: 'Mon, 01 Jan 2024 00:00:00 GMT' },
    body,
  });
  return {
    input: quoteInput(7),
    steps: {
      customer: { status: 'SUCCEEDED', output: response(STUB_BODIES.customer) },
      inventory: { status: 'SUCCEEDED', output: response(STUB_BODIES.inventory) },
      pricing: { status: 'SUCCEEDED', output: response(STUB_BODIES.pricing) },
      shipping: { status: 'SUCCEEDED', output: response(STUB_BODIES.shipping) },
      quote: { status: 'RUNNING', output: null },
      approve: { status: 'PENDING', output: null },
      confirm: { status: 'PENDING', output: null },
    },
    run: { id: 'run-7', definition: 'bench-quote', version: 1, startedAt: '2024-01-01T00:00:00.000Z', attempt: 1 },
  };
}
