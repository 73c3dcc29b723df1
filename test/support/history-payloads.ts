import type { Payload, PayloadCodec } from '@temporalio/common';

/**
 * A copy of `value` (a Temporal history, or any part of one) with every payload in it decoded by
 * `codec`: what Trellis's own clients read, where the stored history holds ciphertext.
 */
export async function decodePayloads(value: unknown, codec: PayloadCodec): Promise<unknown> {
  if (Array.isArray(value)) return Promise.all(value.map((item) => decodePayloads(item, codec)));
  if (value === null || typeof value !== 'object' || value instanceof Uint8Array) return value;
  if (isPayload(value)) {
    const [decoded] = await codec.decode([value]);
    return decoded;
  }
  const entries = await Promise.all(Object.entries(value).map(async ([key, item]) => [key, await decodePayloads(item, codec)] as const));
  return Object.fromEntries(entries);
}

function isPayload(value: object): value is Payload {
  const metadata = (value as { metadata?: unknown }).metadata;
  return metadata !== null && typeof metadata === 'object' && (metadata as Record<string, unknown>).encoding instanceof Uint8Array;
}

/**
 * Decodes every payload in `value` in place (protobuf messages stay messages): a history fetched
 * from Temporal, written out as Trellis reads it, replays without the key it was written with.
 */
export async function decodePayloadsInPlace(value: unknown, codec: PayloadCodec): Promise<void> {
  if (Array.isArray(value)) {
    for (const item of value) await decodePayloadsInPlace(item, codec);
    return;
  }
  if (value === null || typeof value !== 'object' || value instanceof Uint8Array) return;
  if (isPayload(value)) {
    const [decoded] = await codec.decode([value]);
    value.metadata = decoded!.metadata;
    value.data = decoded!.data;
    return;
  }
  for (const item of Object.values(value)) await decodePayloadsInPlace(item, codec);
}
