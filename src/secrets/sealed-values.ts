import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/** A value sealed by {@link SealedValues}: AES-256-GCM ciphertext, its nonce and its tag. */
export type SealedValue = { ciphertext: Buffer; iv: Buffer; tag: Buffer };

/**
 * Seals values that Trellis must be able to read back (a webhook's signing secret: an HMAC needs
 * the secret itself, so it cannot be hashed) with AES-256-GCM under the secret store's key
 * (`TRELLIS_SECRET_KEY`). `context` (for instance `webhook/<tenant>/<id>`) is bound in as
 * additional data, so a ciphertext copied to another row does not open. Values sealed under a
 * previous key still open, and say so, so they can be sealed again under the current one.
 */
export class SealedValues {
  constructor(
    private readonly key: Buffer,
    private readonly previousKeys: readonly Buffer[] = [],
  ) {
    if (key.length !== 32) throw new Error(`the secret key must be 32 bytes, got ${key.length}`);
  }

  seal(context: string, value: string): SealedValue {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(context));
    const ciphertext = Buffer.concat([cipher.update(value, 'utf8'), cipher.final()]);
    return { ciphertext, iv, tag: cipher.getAuthTag() };
  }

  /**
   * @returns the value, and whether it was sealed under the current key
   * @throws Error when neither the current nor a previous key opens it (naming only `context`)
   */
  open(context: string, sealed: SealedValue): { value: string; current: boolean } {
    for (const [index, key] of [this.key, ...this.previousKeys].entries()) {
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, sealed.iv);
        decipher.setAAD(Buffer.from(context));
        decipher.setAuthTag(sealed.tag);
        return { value: Buffer.concat([decipher.update(sealed.ciphertext), decipher.final()]).toString('utf8'), current: index === 0 };
      } catch {
        // not this key
      }
    }
    throw new Error(`${context} opens with neither TRELLIS_SECRET_KEY nor TRELLIS_SECRET_KEY_PREVIOUS`);
  }
}
