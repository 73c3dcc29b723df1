import pg from 'pg';

/**
 * Leadership among the processes of one deployment, by a PostgreSQL session-level advisory lock
 * held on a connection of its own: whichever process holds the lock leads, and when it stops or
 * dies its connection closes and the lock is free for the next {@link tryLead} of another.
 * Lock keys are the two-integer form, apart from the single-bigint keys kysely's migrator takes.
 */
export class LeaderLock {
  private client: pg.Client | undefined;
  private leading = false;

  /**
   * @param databaseUrl the database whose lock is taken (advisory locks are per database)
   * @param key the lock's two integer keys (a namespace and an id within it)
   */
  constructor(
    private readonly databaseUrl: string,
    private readonly key: readonly [number, number],
  ) {}

  /**
   * Takes the lock if it is free, or checks that this process still holds it. Resolves false
   * when another process leads or PostgreSQL cannot be reached (the connection is opened again
   * next time); never rejects.
   */
  async tryLead(): Promise<boolean> {
    try {
      const client = this.client ?? (await this.connect());
      if (this.leading) {
        // A query on the lock's own connection proves the session, and so the lock, is still there.
        await client.query('select 1');
        return true;
      }
      const result = await client.query<{ locked: boolean }>('select pg_try_advisory_lock($1, $2) as locked', [this.key[0], this.key[1]]);
      this.leading = result.rows[0]?.locked === true;
      return this.leading;
    } catch {
      this.drop();
      return false;
    }
  }

  /** Gives up leadership (closing the connection releases the lock). */
  async release(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    this.leading = false;
    await client?.end().catch(() => undefined);
  }

  private async connect(): Promise<pg.Client> {
    // Keep-alive probes notice a connection that died without a word, which would hide a lost lock.
    const client = new pg.Client({ connectionString: this.databaseUrl, keepAlive: true });
    client.on('error', () => {
      if (this.client === client) this.drop();
    });
    try {
      await client.connect();
    } catch (err) {
      await client.end().catch(() => undefined);
      throw err;
    }
    this.client = client;
    return client;
  }

  private drop(): void {
    const client = this.client;
    this.client = undefined;
    this.leading = false;
    client?.end().catch(() => undefined);
  }
}

/** A 32-bit signed integer derived from a text (FNV-1a), for advisory lock keys. */
export function lockKeyOf(text: string): number {
  let hash = 0x811c9dc5;
  for (const char of text) {
    hash ^= char.codePointAt(0)!;
    hash = Math.imul(hash, 0x01000193);
  }
  return hash | 0;
}
