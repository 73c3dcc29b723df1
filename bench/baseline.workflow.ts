import { proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { HttpRequest, HttpResponse } from '../activities/http.activity';
import { buildQuote, type Customer, type Inventory, type Pricing, type QuoteInput, type Shipping } from './build-quote';

// Bundled on its own by bench/run.ts: it imports nothing from Trellis but a type.
const { httpRequest } = proxyActivities<{ httpRequest(request: HttpRequest): Promise<HttpResponse> }>({
  // What the interpreter uses when a definition sets no timeout.
  startToCloseTimeout: '30s',
  retry: { maximumAttempts: 3, initialInterval: '1s', backoffCoefficient: 2 },
});

/**
 * The benchmark's baseline: the graph of `quote-graph.ts` written by hand as an ordinary Temporal
 * workflow, as one would without Trellis. Same http activity, same requests and the same result,
 * but no audit trail, no templates and Temporal's own retries.
 */
export async function baselineQuote(baseUrl: string, input: QuoteInput): Promise<unknown> {
  const key = (step: string) => `${workflowInfo().workflowId}:${step}`;
  const [customer, inventory, pricing, shipping] = await Promise.all([
    httpRequest({ method: 'GET', url: `${baseUrl}/customers/${input.customerId}`, idempotencyKey: key('customer') }),
    httpRequest({ method: 'POST', url: `${baseUrl}/inventory/check`, body: { skus: input.items.map((item) => item.sku) }, idempotencyKey: key('inventory') }),
    httpRequest({ method: 'POST', url: `${baseUrl}/pricing/quote`, body: { items: input.items }, idempotencyKey: key('pricing') }),
    httpRequest({ method: 'POST', url: `${baseUrl}/shipping/estimate`, body: { country: input.country, parcels: input.items.length }, idempotencyKey: key('shipping') }),
  ]);
  const quote = buildQuote(input, customer.body as Customer, inventory.body as Inventory, pricing.body as Pricing, shipping.body as Shipping);
  if (!(quote.available && quote.total < 1000)) return null;
  const confirm = await httpRequest({
    method: 'POST',
    url: `${baseUrl}/orders/confirm`,
    query: { order: input.orderId },
    body: quote,
    idempotencyKey: key('confirm'),
  });
  return confirm.body;
}
export * from './table-baselines.workflow';
