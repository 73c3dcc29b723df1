import pg from 'pg';
import { AUDIT_CHANNEL, type AuditNotification } from '../src/db/audit.repository';

/**
 * Wakes a subscriber when its run may have new events. Wake-ups coalesce; none is lost.
 * Once closed, every wait returns at once, so a waiting subscriber can notice and stop.
 */
export class Wakeup {
  private pending = false;
  private isClosed = false;
  private resolve: (() => void) | undefined;

  get closed(): boolean {
    return this.isClosed;
  }

  notify(): void {
    if (this.resolve) {
      const resolve = this.resolve;
      this.resolve = undefined;
      resolve();
    } else {
      this.pending = true;
    }
  }

  close(): void {
    this.isClosed = true;
    this.notify();
  }

  /** Resolves at the next notification, at once if one came since the last wait or when closed. */
  wait(): Promise<void> {
    if (this.pending || this.isClosed) {
      this.pending = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => (this.resolve = resolve));
  }
}

/**
 * Runs `produce` as a subscription source that its consumer can stop even while it waits.
 * An async generator suspended at an `await` handles `return()` only once it next yields, so a
 * subscription to a quiet run would otherwise hold its listener for good after the client left;
 * here `return()` first closes the generator's {@link Wakeup}, which must end the generator.
 */
export function closeableStream<T>(produce: (wakeup: Wakeup) => AsyncGenerator<T>): AsyncGenerator<T> {
  const wakeup = new Wakeup();
  const source = produce(wakeup);
  const stream: AsyncGenerator<T> = {
    next: (...args) => source.next(...args),
    return: (value) => {
      wakeup.close();
      return source.return(value);
    },
    throw: (error) => {
      wakeup.close();
      return source.throw(error);
    },
    [Symbol.asyncIterator]: () => stream,
    [Symbol.asyncDispose]: async () => {
      await stream.return(undefined);
    },
  };
  return stream;
}

/**
 * One `LISTEN` connection per API process, fanned out to every subscriber of a run. Notifications
 * only say "look again": subscribers read the events themselves, so a notification dropped while
 * reconnecting loses nothing — after a reconnect every subscriber is woken to re-read.
 */
export class AuditEventHub {
  private readonly subscribers = new Map<string, Set<Wakeup>>();
  private readonly watchers = new Set<(note: AuditNotification | undefined) => void>();
  private client: pg.Client | undefined;
  private closed = false;
  private reconnectTimer: NodeJS.Timeout | undefined;

  constructor(private readonly databaseUrl: string) {}

  /** Connects and starts listening; resolves once `LISTEN` is in effect. */
  async start(): Promise<void> {
    const client = new pg.Client({ connectionString: this.databaseUrl });
    client.on('notification', (message) => this.dispatch(message.payload));
    client.on('error', () => this.reconnect(client));
    client.on('end', () => this.reconnect(client));
    await client.connect();
    await client.query(`LISTEN ${AUDIT_CHANNEL}`);
    this.client = client;
    this.wakeAll();
  }

  /** Registers interest in a run's events; call the returned function to stop. */
  subscribe(runId: string, wakeup: Wakeup): () => void {
    let set = this.subscribers.get(runId);
    if (!set) this.subscribers.set(runId, (set = new Set()));
    set.add(wakeup);
    return () => {
      set.delete(wakeup);
      if (set.size === 0) this.subscribers.delete(runId);
    };
  }

  /**
   * Registers interest in every run's events. The listener gets each notification, or
   * `undefined` after a reconnect (when notifications may have been missed: look again).
   */
  watchAll(listener: (note: AuditNotification | undefined) => void): () => void {
    this.watchers.add(listener);
    return () => this.watchers.delete(listener);
  }

  /** Subscribers of single runs and watchers of all runs, for the `trellis_graphql_subscriptions` gauge. */
  get subscriberCount(): number {
    let total = this.watchers.size;
    for (const set of this.subscribers.values()) total += set.size;
    return total;
  }

  async stop(): Promise<void> {
    this.closed = true;
    clearTimeout(this.reconnectTimer);
    this.wakeAll();
    await this.client?.end().catch(() => undefined);
  }

  private dispatch(payload: string | undefined): void {
    if (!payload) return;
    let note: AuditNotification;
    try {
      note = JSON.parse(payload) as AuditNotification;
    } catch {
      return;
    }
    for (const wakeup of this.subscribers.get(note.runId) ?? []) wakeup.notify();
    for (const watcher of this.watchers) watcher(note);
  }

  private wakeAll(): void {
    for (const set of this.subscribers.values()) for (const wakeup of set) wakeup.notify();
    for (const watcher of this.watchers) watcher(undefined);
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
        this.start().catch(() => retry(Math.min(delay * 2, 10_000)));
      }, delay);
    };
    retry(250);
  }
}
