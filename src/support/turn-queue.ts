/**
 * Runs synchronous work one piece at a time, each in a turn of the event loop of its own (after
 * the I/O that arrived meanwhile), in the order asked. For CPU-heavy work that cannot be split,
 * such as checking a large definition: ten of them asked at once (aliases of one GraphQL field
 * run in the same tick) would otherwise hold the event loop for all ten, and `GET /health`, every
 * socket and every other request would wait; here they wait for one at most.
 */
export class TurnQueue {
  private tail: Promise<unknown> = Promise.resolve();

  /** Runs `work` once the work asked before it is done, in a later turn of the event loop. */
  run<T>(work: () => T): Promise<T> {
    // An immediate set while immediates run waits for the next loop iteration, after the poll phase.
    const turn = this.tail.then(() => new Promise<void>((resolve) => setImmediate(resolve))).then(work);
    this.tail = turn.catch(() => undefined);
    return turn;
  }
}
