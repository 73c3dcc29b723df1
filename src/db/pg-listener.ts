import pg from 'pg';

export type PgListenerHandlers = {
  /** A notification's payload. */
  notification(payload: string): void;
  /**
   * `LISTEN` is in effect again after the connection was lost: notifications sent meanwhile were
   * missed, so whatever they would have said must be looked up again.
   */
  reconnected(): void;
};

/**
 * One connection that `LISTEN`s on a PostgreSQL channel and comes back after the connection is
 * lost (retrying with a growing delay, at most 10 s apart), then says so through
 * {@link PgListenerHandlers.reconnected}.
 */
export class PgListener {
  private client: pg.Client | undefined;
  private closed = false;
  private reconnectTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly databaseUrl: string,
    private readonly channel: string,
    private readonly handlers: PgListenerHandlers,
  ) {}

  /** Connects and listens; resolves once `LISTEN` is in effect. @throws when the first connection fails */
  async start(): Promise<void> {
    await this.connect();
  }

  async stop(): Promise<void> {
    this.closed = true;
    clearTimeout(this.reconnectTimer);
    await this.client?.end().catch(() => undefined);
  }

  private async connect(): Promise<void> {
    // Keep-alive probes notice a connection that died without a word (a dropped network path).
    const client = new pg.Client({ connectionString: this.databaseUrl, keepAlive: true });
    client.on('notification', (message) => {
      if (message.channel === this.channel && message.payload) this.handlers.notification(message.payload);
    });
    client.on('error', () => this.reconnect(client));
    client.on('end', () => this.reconnect(client));
    try {
      await client.connect();
      await client.query(`LISTEN ${pg.escapeIdentifier(this.channel)}`);
      if (this.closed) throw new Error('stopped while connecting');
    } catch (err) {
      client.removeAllListeners();
      client.on('error', () => undefined);
      await client.end().catch(() => undefined);
      throw err;
    }
    this.client = client;
  }

  private reconnect(broken: pg.Client): void {
    if (this.closed || this.client !== broken) return;
    this.client = undefined;
    broken.removeAllListeners();
    broken.on('error', () => undefined);
    broken.end().catch(() => undefined);
    const retry = (delay: number): void => {
      this.reconnectTimer = setTimeout(() => {
        if (this.closed) return;
        this.connect().then(
          () => this.handlers.reconnected(),
          () => retry(Math.min(delay * 2, 10_000)),
        );
      }, delay);
    };
    retry(250);
  }
}
