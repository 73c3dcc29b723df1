import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from '../db/database';
import { environmentSecretFor, type EnvironmentSecrets } from './environment-secrets';

export { SECRET_NAME_PATTERN } from '../../definition/expression';
/** Largest secret value, in bytes of UTF-8. */
export const MAX_SECRET_BYTES = 16 * 1024;

/** Raised when a run reads secrets that neither the store nor the worker's environment has. */
export class SecretNotFoundError extends Error {
  constructor(
    readonly tenantId: string,
    readonly names: string[],
  ) {
    super(
      `secret${names.length > 1 ? 's' : ''} ${names.map((n) => `"${n}"`).join(', ')} not set for tenant "${tenantId}": ` +
        `set ${names.length > 1 ? 'them' : 'it'} with the setSecret mutation, or as TRELLIS_SECRET_<NAME> in the worker's environment`,
    );
    this.name = 'SecretNotFoundError';
  }
}

/**
 * Secrets per tenant, encrypted at rest with AES-256-GCM under one 32-byte key; the row's
 * `<tenant>/<name>` is bound in as additional data, so a ciphertext copied to another row or
 * tenant does not decrypt. Values from the worker's environment (`TRELLIS_SECRET_<NAME>`) serve
 * the tenants they are scoped to (`default` unless `TRELLIS_SECRET_SCOPES` widens it) when the
 * store has no secret of that name.
 */
export class SecretStore {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly key: Buffer,
    private readonly environment: EnvironmentSecrets = {},
    /** Earlier keys (`TRELLIS_SECRET_KEY_PREVIOUS`): secrets stored under them still decrypt. */
    private readonly previousKeys: readonly Buffer[] = [],
  ) {
    if (key.length !== 32) throw new Error(`the secret key must be 32 bytes, got ${key.length}`);
  }

  /** Creates or replaces a secret. */
  async set(tenantId: string, name: string, value: string): Promise<void> {
    const { ciphertext, iv, authTag } = this.encrypt(tenantId, name, value);
    const row = { tenant_id: tenantId, name, ciphertext, iv, auth_tag: authTag };
    await this.db
      .insertInto('secrets')
      .values(row)
      .onConflict((oc) => oc.columns(['tenant_id', 'name']).doUpdateSet({ ciphertext, iv, auth_tag: row.auth_tag, updated_at: new Date() }))
      .execute();
  }

  /** @returns whether a stored secret was deleted */
  async delete(tenantId: string, name: string): Promise<boolean> {
    const result = await this.db.deleteFrom('secrets').where('tenant_id', '=', tenantId).where('name', '=', name).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  /** The tenant's stored secrets by name, with when each was last set (never their values). */
  async list(tenantId: string): Promise<Array<{ name: string; updatedAt: Date }>> {
    const rows = await this.db.selectFrom('secrets').select(['name', 'updated_at']).where('tenant_id', '=', tenantId).orderBy('name').execute();
    return rows.map((row) => ({ name: row.name, updatedAt: row.updated_at }));
  }

  /**
   * The values of `names` for a tenant: stored secrets first, then the worker's environment.
   * @throws SecretNotFoundError naming every secret found in neither
   */
  async resolve(tenantId: string, names: readonly string[]): Promise<Map<string, string>> {
    const wanted = [...new Set(names)];
    const values = new Map<string, string>();
    if (wanted.length === 0) return values;
    const rows = await this.db.selectFrom('secrets').selectAll().where('tenant_id', '=', tenantId).where('name', 'in', wanted).execute();
    for (const row of rows) values.set(row.name, this.decrypt(row).value);
    const missing: string[] = [];
    for (const name of wanted) {
      if (values.has(name)) continue;
      const fromEnvironment = environmentSecretFor(this.environment, name, tenantId);
      if (fromEnvironment !== undefined) values.set(name, fromEnvironment);
      else missing.push(name);
    }
    if (missing.length > 0) throw new SecretNotFoundError(tenantId, missing);
    return values;
  }

  /**
   * Re-encrypts under the current key every stored secret that is under a previous one, so the
   * previous key can be dropped (see the README's key rotation). Safe to run from several
   * processes at once: a row changed meanwhile is left to the next run.
   * @returns how many secrets were re-encrypted
   */
  async reencrypt(): Promise<number> {
    if (this.previousKeys.length === 0) return 0;
    let changed = 0;
    for (const row of await this.db.selectFrom('secrets').selectAll().execute()) {
      const { value, current } = this.decrypt(row);
      if (current) continue;
      const { ciphertext, iv, authTag } = this.encrypt(row.tenant_id, row.name, value);
      const result = await this.db
        .updateTable('secrets')
        .set({ ciphertext, iv, auth_tag: authTag })
        .where('tenant_id', '=', row.tenant_id)
        .where('name', '=', row.name)
        .where('ciphertext', '=', row.ciphertext)
        .executeTakeFirst();
      changed += Number(result.numUpdatedRows);
    }
    return changed;
  }

  private encrypt(tenantId: string, name: string, value: string): { ciphertext: Buffer; iv: Buffer; authTag: Buffer } {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(`${tenantId}/${name}`));
    const ciphertext = Buffer.concat([cipher.update(value, 'utf8'), cipher.final()]);
    return { ciphertext, iv, authTag: cipher.getAuthTag() };
  }

  /** @throws Error when neither the current nor a previous key decrypts the row */
  private decrypt(row: { tenant_id: string; name: string; ciphertext: Buffer; iv: Buffer; auth_tag: Buffer }): { value: string; current: boolean } {
    for (const [index, key] of [this.key, ...this.previousKeys].entries()) {
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, row.iv);
        decipher.setAAD(Buffer.from(`${row.tenant_id}/${row.name}`));
        decipher.setAuthTag(row.auth_tag);
        return { value: Buffer.concat([decipher.update(row.ciphertext), decipher.final()]).toString('utf8'), current: index === 0 };
      } catch {
        // not this key
      }
    }
    throw new Error(`secret "${row.name}" of tenant "${row.tenant_id}" decrypts with neither TRELLIS_SECRET_KEY nor TRELLIS_SECRET_KEY_PREVIOUS`);
  }
}
