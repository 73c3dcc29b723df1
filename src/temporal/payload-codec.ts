import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { temporal } from '@temporalio/proto';

/** `metadata.encoding` of a payload this codec encrypted. */
export const ENCRYPTED_ENCODING = 'binary/encrypted';
/** `metadata["encryption-cipher"]`: the only cipher written and read. */
export const PAYLOAD_CIPHER = 'AES-256-GCM';
const KEY_ID_FIELD = 'encryption-key-id';
const CIPHER_FIELD = 'encryption-cipher';
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
// Distinct HKDF labels: the codec key is never the secret store's key, and the published key id
// (a second, independent output) says nothing about either.
const CODEC_KEY_INFO = 'trellis payload codec v1';
const KEY_ID_INFO = 'trellis payload codec key id v1';

/** Why a payload could not be decrypted: an unknown key id, or a ciphertext that fails authentication. */
export const PAYLOAD_DECRYPTION_PROBLEMS = ['UNKNOWN_KEY', 'NOT_AUTHENTIC', 'MALFORMED'] as const;
export type PayloadDecryptionProblem = (typeof PAYLOAD_DECRYPTION_PROBLEMS)[number];

/** A payload marked as encrypted that this process cannot decrypt. Its message names no data. */
export class PayloadDecryptionError extends Error {
  constructor(
    readonly problem: PayloadDecryptionProblem,
    message: string,
  ) {
    super(message);
    this.name = 'PayloadDecryptionError';
  }
}

type CodecKey = { id: string; key: Buffer };

/** Derives the codec's key and its id from a 32-byte `TRELLIS_SECRET_KEY` (HKDF-SHA256). */
export function deriveCodecKey(secretKey: Buffer): CodecKey {
  if (secretKey.length !== 32) throw new Error(`the secret key must be 32 bytes, got ${secretKey.length}`);
  const key = Buffer.from(hkdfSync('sha256', secretKey, Buffer.alloc(0), CODEC_KEY_INFO, 32));
  const id = Buffer.from(hkdfSync('sha256', secretKey, Buffer.alloc(0), KEY_ID_INFO, 8)).toString('hex');
  return { id, key };
}

/**
 * Encrypts every payload Trellis hands to Temporal (workflow inputs and results, signals,
 * activity inputs and results, failure details and, with the failure converter's
 * `encodeCommonAttributes`, failure messages) with AES-256-GCM under a key derived from
 * `TRELLIS_SECRET_KEY`.
 *
 * An encrypted payload is `metadata {encoding: "binary/encrypted", encryption-cipher,
 * encryption-key-id}` and `data = nonce (12 bytes) ‖ ciphertext ‖ tag (16 bytes)` of the whole
 * original payload (its metadata and data, protobuf-encoded). The metadata is bound in as
 * additional data, so a key id cannot be swapped. The key id selects the key on decryption:
 * payloads written under a previous `TRELLIS_SECRET_KEY` still decrypt while that key is listed
 * in `previousSecretKeys`.
 *
 * Payloads without the encrypted encoding are passed through on decode: histories written before
 * encryption (runs in flight across the upgrade, the recorded replay histories) and payloads
 * Temporal itself writes stay readable. That lets anyone who reaches Temporal put plaintext in a
 * history, but a run acts for a tenant only once the worker has verified that Trellis started it
 * (see `RunVerifier`), whatever its input says.
 *
 * @throws PayloadDecryptionError from `decode` for an encrypted payload under an unknown key or
 *   one that fails authentication (tampered, or made by someone without the key)
 */
export class PayloadEncryptionCodec implements PayloadCodec {
  private readonly current: CodecKey;
  private readonly byId: ReadonlyMap<string, CodecKey>;

  /**
   * @param secretKey the current `TRELLIS_SECRET_KEY` (32 bytes): encrypts, and decrypts
   * @param previousSecretKeys earlier keys, accepted for decryption only
   */
  constructor(secretKey: Buffer, previousSecretKeys: readonly Buffer[] = []) {
    this.current = deriveCodecKey(secretKey);
    const keys = [this.current, ...previousSecretKeys.map(deriveCodecKey)];
    this.byId = new Map(keys.map((key) => [key.id, key]));
  }

  /** Id of the key new payloads are encrypted under (in their metadata). */
  get keyId(): string {
    return this.current.id;
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => (isEncrypted(payload) ? payload : this.encrypt(payload)));
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => (isEncrypted(payload) ? this.decrypt(payload) : payload));
  }

  private encrypt(payload: Payload): Payload {
    const metadata = encryptedMetadata(this.current.id);
    const nonce = randomBytes(NONCE_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.current.key, nonce);
    cipher.setAAD(additionalData(this.current.id));
    const plain = temporal.api.common.v1.Payload.encode(payload).finish();
    const data = Buffer.concat([nonce, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
    return { metadata, data };
  }

  private decrypt(payload: Payload): Payload {
    const cipherName = text(payload.metadata?.[CIPHER_FIELD]);
    const keyId = text(payload.metadata?.[KEY_ID_FIELD]) ?? '';
    if (cipherName !== PAYLOAD_CIPHER) {
      throw new PayloadDecryptionError('MALFORMED', `an encrypted payload names cipher ${JSON.stringify(cipherName ?? null)}; only ${PAYLOAD_CIPHER} is read`);
    }
    const key = this.byId.get(keyId);
    if (!key) {
      throw new PayloadDecryptionError(
        'UNKNOWN_KEY',
        `a payload is encrypted under key id ${JSON.stringify(keyId)}, which is not this process's (${this.current.id}) nor a previous one: ` +
          'set TRELLIS_SECRET_KEY_PREVIOUS to the key it was written with',
      );
    }
    const data = Buffer.from(payload.data ?? new Uint8Array());
    if (data.length < NONCE_BYTES + TAG_BYTES) throw new PayloadDecryptionError('MALFORMED', 'an encrypted payload is too short to hold a nonce and a tag');
    try {
      const decipher = createDecipheriv('aes-256-gcm', key.key, data.subarray(0, NONCE_BYTES));
      decipher.setAAD(additionalData(key.id));
      decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
      const plain = Buffer.concat([decipher.update(data.subarray(NONCE_BYTES, data.length - TAG_BYTES)), decipher.final()]);
      const decoded = temporal.api.common.v1.Payload.decode(plain);
      return { metadata: decoded.metadata, data: decoded.data };
    } catch {
      throw new PayloadDecryptionError('NOT_AUTHENTIC', `a payload under key id ${key.id} fails authentication: it was altered, or not made with this key`);
    }
  }
}

function isEncrypted(payload: Payload): boolean {
  return text(payload.metadata?.encoding) === ENCRYPTED_ENCODING;
}

function encryptedMetadata(keyId: string): Record<string, Uint8Array> {
  return {
    encoding: Buffer.from(ENCRYPTED_ENCODING),
    [CIPHER_FIELD]: Buffer.from(PAYLOAD_CIPHER),
    [KEY_ID_FIELD]: Buffer.from(keyId),
  };
}

function additionalData(keyId: string): Buffer {
  return Buffer.from(`${ENCRYPTED_ENCODING}\n${PAYLOAD_CIPHER}\n${keyId}`);
}

function text(bytes: Uint8Array | null | undefined): string | undefined {
  return bytes ? Buffer.from(bytes).toString('utf8') : undefined;
}
