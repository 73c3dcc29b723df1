import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** The header a webhook sender signs its deliveries with (SPEC §6). */
export const SIGNATURE_HEADER = 'Trellis-Signature';

/** Prefix of webhook secrets, so they are recognisable in a sender's configuration and in leaks. */
export const WEBHOOK_SECRET_PREFIX = 'whsec_';

/** Most `v1=` signatures one header may carry (a sender mid-rotation signs with both secrets). */
const MAX_SIGNATURES = 4;

/** A `Trellis-Signature` header as read: its timestamp (unix seconds) and its `v1` HMACs. */
export type ParsedSignature = { timestamp: number; signatures: Buffer[] };

/** A new webhook secret: `whsec_` and 32 random bytes in base64url (256 bits). */
export function newWebhookSecret(): string {
  return `${WEBHOOK_SECRET_PREFIX}${randomBytes(32).toString('base64url')}`;
}

/**
 * Reads `t=<unix seconds>,v1=<hex HMAC-SHA256>[,v1=…]` (spaces around items allowed; other
 * schemes are ignored, so senders may add newer ones).
 * @returns the header read, or why it cannot be
 */
export function parseSignatureHeader(header: string | readonly string[] | undefined): ParsedSignature | { problem: string } {
  if (header === undefined || header === '') return { problem: `missing ${SIGNATURE_HEADER} header: sign the delivery (see the README, "Webhooks")` };
  if (typeof header !== 'string') return { problem: `${SIGNATURE_HEADER} was sent more than once` };
  if (header.length > 1024) return { problem: `${SIGNATURE_HEADER} is longer than 1024 characters` };
  let timestamp: number | undefined;
  const signatures: Buffer[] = [];
  for (const item of header.split(',')) {
    const [name, value, ...rest] = item.trim().split('=');
    if (rest.length > 0 || value === undefined) return { problem: `malformed ${SIGNATURE_HEADER}: expected "t=<unix seconds>,v1=<hex HMAC-SHA256>"` };
    if (name === 't') {
      if (!/^\d{1,12}$/.test(value) || timestamp !== undefined) return { problem: `malformed ${SIGNATURE_HEADER}: "t" must be given once, in unix seconds` };
      timestamp = Number(value);
    } else if (name === 'v1') {
      if (!/^[0-9a-fA-F]{64}$/.test(value)) return { problem: `malformed ${SIGNATURE_HEADER}: "v1" must be 64 hex digits (an HMAC-SHA256)` };
      if (signatures.length < MAX_SIGNATURES) signatures.push(Buffer.from(value, 'hex'));
    }
  }
  if (timestamp === undefined) return { problem: `malformed ${SIGNATURE_HEADER}: no "t=<unix seconds>"` };
  if (signatures.length === 0) return { problem: `malformed ${SIGNATURE_HEADER}: no "v1=<hex HMAC-SHA256>"` };
  return { timestamp, signatures };
}

/** HMAC-SHA256 of `"<timestamp>.<body>"` under `secret` (its UTF-8 bytes, as `openssl dgst -hmac` uses them). */
export function signatureOf(secret: string, timestamp: number, body: Buffer): Buffer {
  return createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest();
}

/**
 * Whether any of `signatures` is the HMAC of the signed content under any of `secrets`. Every
 * pair is compared, in constant time, so the time taken says nothing about which part matched.
 */
export function signatureMatches(secrets: readonly string[], parsed: ParsedSignature, body: Buffer): boolean {
  let matched = false;
  for (const secret of secrets) {
    const expected = signatureOf(secret, parsed.timestamp, body);
    for (const signature of parsed.signatures) matched = timingSafeEqual(expected, signature) || matched;
  }
  return matched;
}

/** SHA-256 (hex) of the signed content `"<timestamp>.<body>"`: the same for every replay of one signed delivery. */
export function signedDigest(timestamp: number, body: Buffer): string {
  return createHash('sha256').update(`${timestamp}.`).update(body).digest('hex');
}

/**
 * The `Trellis-Signature` value for `body` sent at `now` (what a sender computes; the CLI and the
 * tests use it).
 */
export function signDelivery(secret: string, body: Buffer | string, now: Date = new Date()): string {
  const timestamp = Math.floor(now.getTime() / 1000);
  return `t=${timestamp},v1=${signatureOf(secret, timestamp, Buffer.from(body)).toString('hex')}`;
}
