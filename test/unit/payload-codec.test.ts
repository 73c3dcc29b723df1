import { randomBytes } from 'node:crypto';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { ENCRYPTED_ENCODING, PayloadDecryptionError, PayloadEncryptionCodec, deriveCodecKey } from '../../src/temporal/payload-codec';

const key = randomBytes(32);
const plain = (value: unknown): Payload => defaultPayloadConverter.toPayload(value);
const valueOf = (payload: Payload): unknown => defaultPayloadConverter.fromPayload(payload);
const text = (bytes: Uint8Array | null | undefined): string => Buffer.from(bytes ?? new Uint8Array()).toString('utf8');

describe('the payload codec', () => {
  it('encrypts a payload so that neither its data nor its metadata can be read, and decrypts it back', async () => {
    const codec = new PayloadEncryptionCodec(key);
    const original = plain({ tenantId: 'acme', secretName: 'PAY_TOKEN', total: 12 });
    const [encrypted] = await codec.encode([original]);
    expect(text(encrypted!.metadata!.encoding)).toBe(ENCRYPTED_ENCODING);
    expect(text(encrypted!.metadata!['encryption-key-id'])).toBe(codec.keyId);
    expect(text(encrypted!.data)).not.toContain('PAY_TOKEN');
    expect(text(encrypted!.data)).not.toContain('json/plain');
    const [decoded] = await codec.decode([encrypted!]);
    expect(valueOf(decoded!)).toEqual({ tenantId: 'acme', secretName: 'PAY_TOKEN', total: 12 });
  });

  it('uses a fresh nonce for every payload, so equal values do not look equal', async () => {
    const codec = new PayloadEncryptionCodec(key);
    const [first, second] = await codec.encode([plain('same'), plain('same')]);
    expect(Buffer.from(first!.data!).equals(Buffer.from(second!.data!))).toBe(false);
  });

  it('derives its key from TRELLIS_SECRET_KEY, never the key itself, with an id that differs per key', () => {
    const derived = deriveCodecKey(key);
    expect(derived.key.equals(key)).toBe(false);
    expect(derived.id).toMatch(/^[0-9a-f]{16}$/);
    expect(deriveCodecKey(randomBytes(32)).id).not.toBe(derived.id);
    expect(deriveCodecKey(key)).toEqual(derived);
  });

  it('decrypts payloads written under a previous key while that key is listed, and refuses them once it is not', async () => {
    const [old] = await new PayloadEncryptionCodec(key).encode([plain({ n: 1 })]);
    const rotated = new PayloadEncryptionCodec(randomBytes(32), [key]);
    expect(valueOf((await rotated.decode([old!]))[0]!)).toEqual({ n: 1 });
    const [written] = await rotated.encode([plain({ n: 2 })]);
    expect(text(written!.metadata!['encryption-key-id'])).toBe(rotated.keyId);
    const forgotten = new PayloadEncryptionCodec(randomBytes(32));
    await expect(forgotten.decode([old!])).rejects.toMatchObject({ name: 'PayloadDecryptionError', problem: 'UNKNOWN_KEY' });
  });

  it('refuses an encrypted payload that was altered, re-labelled with another key id, or made without the key', async () => {
    const codec = new PayloadEncryptionCodec(key);
    const [encrypted] = await codec.encode([plain({ n: 1 })]);
    const flipped = Buffer.from(encrypted!.data!);
    flipped[20] = flipped[20]! ^ 1;
    await expect(codec.decode([{ ...encrypted!, data: flipped }])).rejects.toMatchObject({ problem: 'NOT_AUTHENTIC' });

    const other = new PayloadEncryptionCodec(randomBytes(32), [key]);
    const [underOther] = await other.encode([plain({ n: 1 })]);
    const relabelled = { ...underOther!, metadata: { ...underOther!.metadata, 'encryption-key-id': encrypted!.metadata!['encryption-key-id']! } };
    await expect(other.decode([relabelled])).rejects.toMatchObject({ problem: 'NOT_AUTHENTIC' });

    const forged = { metadata: { ...encrypted!.metadata }, data: randomBytes(64) };
    await expect(codec.decode([forged])).rejects.toBeInstanceOf(PayloadDecryptionError);
    await expect(codec.decode([{ metadata: encrypted!.metadata, data: randomBytes(8) }])).rejects.toMatchObject({ problem: 'MALFORMED' });
  });

  it('passes unencrypted payloads through on decode (histories written before encryption), and does not encrypt twice', async () => {
    const codec = new PayloadEncryptionCodec(key);
    const legacy = plain({ written: 'before the upgrade' });
    expect(await codec.decode([legacy])).toEqual([legacy]);
    const [once] = await codec.encode([legacy]);
    expect(await codec.encode([once!])).toEqual([once]);
  });
});
