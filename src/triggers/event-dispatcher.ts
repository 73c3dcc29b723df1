import { sql, type Kysely } from 'kysely';
import type { Database, EventRow } from '../db/database';
import { DISPATCH_LEASE_MS, type EventService } from './event.service';

export type EventDispatcherOptions = {
  /** The owner's database: finds PENDING events of every tenant. */
  owner: Kysely<Database>;
  /** The EventService of a tenant (its database, its RunService). */
  eventsFor: (tenantId: string) => EventService;
  /** How often it looks for events to dispatch. @default 2000 */
  intervalMs?: number;
  log?: (message: string) => void;
};

/** Events one pass takes over. */
const BATCH = 50;

/**
 * Dispatches the events `publishEvent` stored but could not dispatch (Temporal unreachable, the
 * runs-in-flight limit, a process that stopped mid-dispatch): every `intervalMs` it takes over up
 * to 50 PENDING events whose `next_attempt_at` has passed, pushing that time a lease ahead first
 * (`FOR UPDATE SKIP LOCKED`, so API processes share the work without taking the same event), and
 * dispatches each again. Runs start once whatever the number of attempts: their idempotency keys
 * are made of the event and the trigger.
 */
export class EventDispatcher {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(private readonly options: EventDispatcherOptions) {}

  start(): void {
    const tick = () => {
      this.running = this.pass()
        .then(() => undefined)
        .catch((err: unknown) => (this.options.log ?? console.error)(`event dispatcher: ${String(err)}`))
        .finally(() => {
          if (this.timer !== undefined) this.timer = setTimeout(tick, this.options.intervalMs ?? 2000);
        });
    };
    this.timer = setTimeout(tick, this.options.intervalMs ?? 2000);
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** One pass: takes over the events due and dispatches them. @returns how many it dispatched */
  async pass(): Promise<number> {
    const { owner } = this.options;
    const due = await sql<EventRow>`
      update events set next_attempt_at = now() + ${`${DISPATCH_LEASE_MS} milliseconds`}::interval
      where (tenant_id, id) in (
        select tenant_id, id from events
        where status = 'PENDING' and next_attempt_at <= now()
        order by next_attempt_at limit ${BATCH}
        for update skip locked)
      returning *`.execute(owner);
    for (const event of due.rows) {
      await this.options.eventsFor(event.tenant_id).dispatch(event);
    }
    return due.rows.length;
  }
}
