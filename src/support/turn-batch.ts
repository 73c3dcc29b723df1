type Waiter<V> = { resolve: (value: V | undefined) => void; reject: (err: unknown) => void };

/**
 * Lookups of one kind asked in the same turn of the event loop, made as one read: the first
 * lookup of a turn schedules the read for the next turn (after the turn's other I/O callbacks,
 * which may ask more), and `fetch` gets each distinct key asked until then once. A read never
 * serves a lookup asked after it started: that one waits for the next read. So every answer is
 * at least as new as its question, as if each lookup had read on its own (what a cache could not
 * promise), while 100 dashboards' sockets subscribing at once cost one query, not 100.
 */
export class TurnBatch<K, V> {
  private pending: Map<K, Array<Waiter<V>>> | undefined;

  /** @param fetch reads the keys' values; a key it leaves out has none (undefined) */
  constructor(private readonly fetch: (keys: K[]) => Promise<ReadonlyMap<K, V>>) {}

  /** The value of `key` as a read started after this call finds it (undefined: none). */
  load(key: K): Promise<V | undefined> {
    return new Promise((resolve, reject) => {
      if (!this.pending) {
        this.pending = new Map();
        setImmediate(() => this.dispatch());
      }
      const waiters = this.pending.get(key);
      if (waiters) waiters.push({ resolve, reject });
      else this.pending.set(key, [{ resolve, reject }]);
    });
  }

  private dispatch(): void {
    const batch = this.pending!;
    this.pending = undefined;
    // Called in a promise: a fetch that throws rejects its waiters as one that rejects does.
    Promise.resolve([...batch.keys()]).then((keys) => this.fetch(keys)).then(
      (values) => {
        for (const [key, waiters] of batch) for (const waiter of waiters) waiter.resolve(values.get(key));
      },
      (err: unknown) => {
        for (const waiters of batch.values()) for (const waiter of waiters) waiter.reject(err);
      },
    );
  }
}
