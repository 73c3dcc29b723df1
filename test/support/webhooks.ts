import { signDelivery } from '../../src/triggers/webhook-signature';

/** How a test delivery is signed and what it carries besides its body. */
export type DeliveryOptions = {
  /** Signs with it (`Trellis-Signature`); omitted: no signature header. */
  secret?: string;
  /** The signature's time. @default now */
  at?: Date;
  /** A `Trellis-Signature` value sent as is, instead of signing. */
  signature?: string;
  idempotencyKey?: string;
  /** A `Trellis-Chain` value. */
  chain?: string;
  headers?: Record<string, string>;
};

export type DeliveryAnswer = { status: number; headers: Headers; body: any };

/** The API's base URL (`http://host:port`) from a context's GraphQL URL. */
export function apiBase(graphqlUrl: string): string {
  return graphqlUrl.replace(/\/graphql$/, '');
}

/** Posts `body` (JSON-encoded unless a string) to `url` as a webhook sender would. */
export async function deliver(url: string, body: unknown, options: DeliveryOptions = {}): Promise<DeliveryAnswer> {
  const raw = typeof body === 'string' ? body : JSON.stringify(body);
  const headers: Record<string, string> = { 'content-type': 'application/json', ...options.headers };
  const signature = options.signature ?? (options.secret ? signDelivery(options.secret, raw, options.at) : undefined);
  if (signature !== undefined) headers['trellis-signature'] = signature;
  if (options.idempotencyKey !== undefined) headers['idempotency-key'] = options.idempotencyKey;
  if (options.chain !== undefined) headers['trellis-chain'] = options.chain;
  const response = await fetch(url, { method: 'POST', headers, body: raw });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON: kept as text
  }
  return { status: response.status, headers: response.headers, body: parsed };
}
