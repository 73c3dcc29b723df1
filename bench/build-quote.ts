/** Input of the benchmark graph and of its hand-written baseline. */
export type QuoteInput = { orderId: string; customerId: string; country: string; items: Array<{ sku: string; quantity: number }> };

export type Customer = { name: string; tier: string };
export type Inventory = { available: boolean };
export type Pricing = { subtotal: number };
export type Shipping = { cost: number; days: number };

/** The `quote` transform of the graph in plain TypeScript: the baseline's, and the micro benchmark's. */
export function buildQuote(input: QuoteInput, customer: Customer, inventory: Inventory, pricing: Pricing, shipping: Shipping) {
  const gold = customer.tier === 'gold';
  return {
    order: input.orderId,
    customer: customer.name,
    tier: customer.tier,
    available: inventory.available,
    subtotal: pricing.subtotal,
    discount: gold ? round2(pricing.subtotal * 0.1) : 0,
    shipping: shipping.cost,
    total: round2(pricing.subtotal * (gold ? 0.9 : 1) + shipping.cost),
    summary: `Quote for ${customer.name}: ${input.items.length} items, ships in ${shipping.days} days`,
  };
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}
