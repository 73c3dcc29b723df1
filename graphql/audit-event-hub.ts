import { AUDIT_CHANNEL, type AuditNotification } from '../src/db/audit.repository';
import { PgListener } from '../src/db/pg-listener';

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

/** How often at most a paced subscriber of a run is woken (see {@link AuditEventHub.subscribe}). */
export const PACED_WAKEUP_MS = 200;

/** The subscribers of one run: woken at each notification, or paced. */
type RunSubscribers = {
  immediate: Set<Wakeup>;
  paced: Set<Wakeup>;
  /** When the paced subscribers were last woken (ms since the epoch). */
  pacedAt: number;
  /** The wake-up of the paced subscribers that is due, if one is. */
  timer: NodeJS.Timeout | undefined;
};

/**
 * One `LISTEN` connection per API process ({@link PgListener}), fanned out to every subscriber of a
 * run. Notifications only say "look again": subscribers read the events themselves, so a
 * notification dropped while reconnecting loses nothing — after a reconnect every subscriber is
 * woken to re-read. The hub itself never reads the database: a notification costs the process
 * (and the worker beside it) one pass over the run's subscribers.
 */
export class AuditEventHub {
  private readonly runs = new Map<string, RunSubscribers>();
  private readonly watchers = new Set<(note: AuditNotification | undefined) => void>();
  private readonly listener: PgListener;
  private closed = false;

  /** @param pacedMs how often at most paced subscribers of a run are woken @default {@link PACED_WAKEUP_MS} */
  constructor(
    databaseUrl: string,
    private readonly pacedMs = PACED_WAKEUP_MS,
  ) {
    this.listener = new PgListener(databaseUrl, AUDIT_CHANNEL, {
      notification: (payload) => this.dispatch(payload),
      reconnected: () => this.wakeAll(),
    });
  }

  /** Connects and starts listening; resolves once `LISTEN` is in effect. @throws when the first connection fails */
  async start(): Promise<void> {
    await this.listener.start();
  }

  /**
   * Registers interest in a run's events; call the returned function to stop. A `paced`
   * subscriber is woken at most once every `pacedMs` (all the run's paced subscribers together,
   * so that they share their reads): at once for a notification after a quiet spell, else at the
   * end of the interval, so the last notification always wakes it. Readers of the latest state
   * (runUpdated) skip the states in between; readers of events get them in larger batches.
   */
  subscribe(runId: string, wakeup: Wakeup, options: { paced?: boolean } = {}): () => void {
    let run = this.runs.get(runId);
    if (!run) this.runs.set(runId, (run = { immediate: new Set(), paced: new Set(), pacedAt: 0, timer: undefined }));
    const set = options.paced ? run.paced : run.immediate;
    set.add(wakeup);
    const entry = run;
    return () => {
      set.delete(wakeup);
      if (entry.immediate.size === 0 && entry.paced.size === 0) {
        clearTimeout(entry.timer);
        if (this.runs.get(runId) === entry) this.runs.delete(runId);
      }
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
    for (const run of this.runs.values()) total += run.immediate.size + run.paced.size;
    return total;
  }

  async stop(): Promise<void> {
    this.closed = true;
    for (const run of this.runs.values()) clearTimeout(run.timer);
    this.wakeAll();
    await this.listener.stop();
  }

  private dispatch(payload: string): void {
    let note: AuditNotification;
    try {
      note = JSON.parse(payload) as AuditNotification;
    } catch {
      return;
    }
    // Watchers first: SharedRunReads counts the run's generation before its readers wake.
    for (const watcher of this.watchers) watcher(note);
    const run = this.runs.get(note.runId);
    if (!run) return;
    for (const wakeup of run.immediate) wakeup.notify();
    if (run.paced.size > 0 && !run.timer) {
      const wait = run.pacedAt + this.pacedMs - Date.now();
      if (wait <= 0) this.wakePaced(run);
      else run.timer = setTimeout(() => this.wakePaced(run), wait);
    }
  }

  private wakePaced(run: RunSubscribers): void {
    run.timer = undefined;
    run.pacedAt = Date.now();
    for (const wakeup of run.paced) wakeup.notify();
  }

  private wakeAll(): void {
    for (const run of this.runs.values()) {
      if (this.closed) clearTimeout(run.timer);
      for (const wakeup of run.immediate) wakeup.notify();
      for (const wakeup of run.paced) wakeup.notify();
    }
    for (const watcher of this.watchers) watcher(undefined);
  }
}
