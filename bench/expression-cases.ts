import jsonata from 'jsonata';
import { splitTemplate, wholeExpression } from '../definition/expression';
import { QUOTE_TEMPLATE, STUB_BODIES, quoteInput } from './quote-graph';

/**
 * The expressions `bench/expression-bench.ts` times, each a template value as a step would hold
 * it, with the bindings the interpreter would pass. Pure code: bundled into the benchmark's
 * workflow (`expression-bench.workflow.ts`) as well as run in plain Node.
 */
export const EXPRESSION_CASES = {
  /** The `quote` transform of the benchmark graph: 9 fields, 11 expressions. */
  quote: QUOTE_TEMPLATE,
  path: '{% $steps.customer.output.body.name %}',
  'map 100': '{% $map($input.lines, function($l){ $l.qty * $l.price }) %}',
  'filter 100': '{% $filter($input.lines, function($l){ $l.qty > 3 }) %}',
  strings: '{% $uppercase($substring($trim($input.name), 0, 3)) & "-" & $lowercase($trim($input.name)) & $string($length($input.name)) %}',
  'regex $match': '{% $match($input.text, /([a-z]+)-(\\d+)/) %}',
  'object constructor': '{% {"order": $input.orderId, "count": $count($input.items), "skus": $input.items.sku, "quantity": $sum($input.items.quantity)} %}',
} as const;

export type ExpressionCase = keyof typeof EXPRESSION_CASES;
export const EXPRESSION_CASE_NAMES = Object.keys(EXPRESSION_CASES) as ExpressionCase[];

/** `$input`, `$steps` and `$run` as the interpreter binds them when the `quote` step of the benchmark graph starts. */
export function benchBindings(): Record<string, unknown> {
  const response = (body: unknown) => ({
    status: 200,
    headers: { 'content-type': 'application/json', 'content-length': String(JSON.stringify(body).length), date: 'Mon, 01 Jan 2024 00:00:00 GMT' },
    body,
  });
  return {
    input: {
      ...quoteInput(7),
      lines: Array.from({ length: 100 }, (_, index) => ({ sku: `S-${index}`, qty: index % 7, price: index * 1.5 })),
      name: '  Ada Lovelace  ',
      text: 'order ab-123 and cd-456 and ef-789',
    },
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

const compiled = new Map<string, jsonata.Expression>();

function expressionOf(source: string): jsonata.Expression {
  let expression = compiled.get(source);
  if (!expression) {
    expression = jsonata(source);
    compiled.set(source, expression);
  }
  return expression;
}

/**
 * Evaluates a template with the npm jsonata 2.2.2 as it is (asynchronous, no budget, no hooks):
 * the reference the synchronous engine is compared with. Each expression is compiled once;
 * whole-string expressions keep their type, others are spliced in, as Trellis does.
 */
export async function evaluateWithJsonata(value: unknown, bindings: Record<string, unknown>): Promise<unknown> {
  if (typeof value === 'string') {
    if (!value.includes('{%')) return value;
    const whole = wholeExpression(value);
    if (whole !== undefined) return (await expressionOf(whole).evaluate({}, bindings)) as unknown;
    let spliced = '';
    for (const part of splitTemplate(value)) {
      if (part.kind === 'text') {
        spliced += part.text;
        continue;
      }
      const result = (await expressionOf(part.source).evaluate({}, bindings)) as unknown;
      spliced += result === undefined ? '' : typeof result === 'string' ? result : JSON.stringify(result);
    }
    return spliced;
  }
  if (Array.isArray(value)) {
    const items: unknown[] = [];
    for (const item of value) items.push(await evaluateWithJsonata(item, bindings));
    return items;
  }
  if (value !== null && typeof value === 'object') {
    const result: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) result[key] = await evaluateWithJsonata(item, bindings);
    return result;
  }
  return value;
}
