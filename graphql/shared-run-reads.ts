import type { AuditEventHub } from './audit-event-hub';

/** Past this many runs, the generations are forgotten (every read then starts afresh once). */
const MAX_TRACKED_RUNS = 10_000;

/**
 * Reads of a run that the subscriptions watching it share. Every audit notification wakes each
 * subscriber of the run, and each would read the run, its steps and its new events again: 50
 * dashboards on one run made 50 times the queries per event, and slowed the run itself. A read
 * is shared only among readers woken by the same notification (the key holds the run's
 * generation, counted from the notifications), so a reader never gets data older than what woke
 * it; readers of different tenants never share (the key holds the tenant).
 */
export class SharedRunReads {
  private readonly generations = new Map<string, number>();
  private epoch = 0;
  private readonly inflight = new Map<string, Promise<unknown>>();

  constructor(hub: AuditEventHub) {
    // The hub calls watchers synchronously while it dispatches, before woken subscribers resume.
    hub.watchAll((note) => {
      if (!note || this.generations.size > MAX_TRACKED_RUNS) {
        // A reconnect may have lost notifications: nothing read before it is shared after it.
        this.epoch++;
        this.generations.clear();
      }
      if (note) this.generations.set(note.runId, (this.generations.get(note.runId) ?? 0) + 1);
    });
  }

  /**
   * The run's generation now (what reads started now are keyed by). A read started at one
   * generation found every change whose notification came before it; when the generation is
   * still the same later, no notification of the run has come since.
   */
  generation(runId: string): string {
    return `${this.epoch}:${this.generations.get(runId) ?? 0}`;
  }

  /** `load()`, or the same read already under way for this tenant, run, generation and `what`. */
  read<T>(tenantId: string, runId: string, what: string, load: () => Promise<T>): Promise<T> {
    const key = `${tenantId}\u0000${runId}\u0000${what}\u0000${this.generation(runId)}`;
    const running = this.inflight.get(key);
    if (running) return running as Promise<T>;
    const started = load().finally(() => this.inflight.delete(key));
    this.inflight.set(key, started);
    return started;
  }
}

const byHub = new WeakMap<AuditEventHub, SharedRunReads>();

/** The shared reads of an API process (one per hub). */
export function sharedRunReads(hub: AuditEventHub): SharedRunReads {
  let reads = byHub.get(hub);
  if (!reads) byHub.set(hub, (reads = new SharedRunReads(hub)));
  return reads;
}
