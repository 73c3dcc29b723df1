import { condition, setHandler } from '@temporalio/workflow';
import { runSignal, type SignalDelivery } from './signals';

/**
 * Signals a run received, queued per name until a `wait` step takes them, so a signal that
 * arrives before its step starts waits for it instead of being lost.
 */
export class SignalInbox {
  private readonly queues = new Map<string, SignalDelivery[]>();

  /** Installs the signal handler; call once, at the start of the workflow. */
  listen(): this {
    setHandler(runSignal, (delivery) => {
      const queue = this.queues.get(delivery.signal) ?? [];
      queue.push(delivery);
      this.queues.set(delivery.signal, queue);
    });
    return this;
  }

  /**
   * The oldest delivery of `signal`, waiting up to `timeoutMs` (forever when undefined).
   * @returns undefined when the time ran out first
   */
  async take(signal: string, timeoutMs: number | undefined, summary?: string): Promise<SignalDelivery | undefined> {
    const ready = (): boolean => (this.queues.get(signal)?.length ?? 0) > 0;
    if (timeoutMs === undefined) await condition(ready);
    else if (!(await condition(ready, timeoutMs, { summary: summary ?? `waits for "${signal}"` }))) return undefined;
    return this.queues.get(signal)!.shift();
  }
}
