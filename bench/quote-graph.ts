import type { HttpStub } from '../test/support/http-stub';
import type { QuoteInput } from './build-quote';

/**
 * The benchmarked graph, an order quote: four independent http calls (fan-out), a transform that
 * combines them, a condition, and a final http call. `baseline.workflow.ts` hand-writes the same
 * calls in the same order with the same request bodies.
 */
export function quoteDefinition(baseUrl: string): Record<string, unknown> {
  return {
    name: 'bench-quote',
    description: 'Benchmark graph: fan-out of four lookups, combine, decide, confirm',
    output: '{% $steps.confirm.output.body %}',
    steps: {
      customer: { type: 'http', url: `${baseUrl}/customers/{% $input.customerId %}` },
      inventory: { type: 'http', method: 'POST', url: `${baseUrl}/inventory/check`, body: { skus: '{% $input.items.sku %}' } },
      pricing: { type: 'http', method: 'POST', url: `${baseUrl}/pricing/quote`, body: { items: '{% $input.items %}' } },
      shipping: { type: 'http', method: 'POST', url: `${baseUrl}/shipping/estimate`, body: { country: '{% $input.country %}', parcels: '{% $count($input.items) %}' } },
      quote: {
        type: 'transform',
        needs: ['customer', 'inventory', 'pricing', 'shipping'],
        value: QUOTE_TEMPLATE,
      },
      approve: { type: 'condition', needs: ['quote'], if: '{% $steps.quote.output.available and $steps.quote.output.total < 1000 %}', then: ['confirm'] },
      confirm: {
        type: 'http',
        method: 'POST',
        needs: ['approve'],
        url: `${baseUrl}/orders/confirm`,
        query: { order: '{% $input.orderId %}' },
        body: '{% $steps.quote.output %}',
      },
    },
  };
}

/** The `quote` transform's value: also the template the micro benchmark evaluates. */
export const QUOTE_TEMPLATE = {
  order: '{% $input.orderId %}',
  customer: '{% $steps.customer.output.body.name %}',
  tier: '{% $steps.customer.output.body.tier %}',
  available: '{% $steps.inventory.output.body.available %}',
  subtotal: '{% $steps.pricing.output.body.subtotal %}',
  discount: '{% $steps.customer.output.body.tier = "gold" ? $round($steps.pricing.output.body.subtotal * 0.1, 2) : 0 %}',
  shipping: '{% $steps.shipping.output.body.cost %}',
  total: '{% $round($steps.pricing.output.body.subtotal * ($steps.customer.output.body.tier = "gold" ? 0.9 : 1) + $steps.shipping.output.body.cost, 2) %}',
  summary: 'Quote for {% $steps.customer.output.body.name %}: {% $count($input.items) %} items, ships in {% $steps.shipping.output.body.days %} days',
};

/** The input of run number `index`. */
export function quoteInput(index: number): QuoteInput {
  return {
    orderId: `order-${index}`,
    customerId: 'c-42',
    country: 'NL',
    items: [
      { sku: 'A-100', quantity: 2 },
      { sku: 'B-200', quantity: 1 },
      { sku: 'C-300', quantity: 5 },
    ],
  };
}

/** Bodies the stub answers with, immediately: the benchmark measures orchestration, not services. */
export const STUB_BODIES = {
  customer: { id: 'c-42', name: 'Ada Lovelace', tier: 'gold' },
  inventory: { available: true, warehouse: 'AMS-1' },
  pricing: { currency: 'EUR', subtotal: 412.5 },
  shipping: { carrier: 'postnl', cost: 12.95, days: 2 },
};

/** Routes every call of the graph on `stub`; the confirmation echoes the quote it was sent. */
export function routeQuoteServices(stub: HttpStub): void {
  stub
    .on('GET /customers/c-42', { body: STUB_BODIES.customer })
    .on('POST /inventory/check', { body: STUB_BODIES.inventory })
    .on('POST /pricing/quote', { body: STUB_BODIES.pricing })
    .on('POST /shipping/estimate', { body: STUB_BODIES.shipping })
    .on('POST /orders/confirm', (request) => ({ body: confirmation(request.body) }));
}

/** The confirmation body for an order quote; both variants must return exactly this. */
export function confirmation(quote: unknown): { confirmed: true; order: unknown; total: unknown } {
  const q = quote as { order?: unknown; total?: unknown } | null;
  return { confirmed: true, order: q?.order ?? null, total: q?.total ?? null };
}
