import { randomUUID } from 'node:crypto';
import { ScheduleNotFoundError, type Client, type ScheduleDescription, type ScheduleHandle } from '@temporalio/client';
import type { Kysely } from 'kysely';
import type { Database, RunRow, ScheduleRow } from '../db/database';
import { findRunByIdempotencyKey } from '../db/runs.repository';
import { BadUserInputError, NotFoundError, UnavailableError, type FieldError } from '../errors';
import { checkInput, isTemporalUnavailable, UNAVAILABLE_RETRY_AFTER_SECONDS } from '../runs/run.service';
import { isUuid } from '../support/uuid';
import type { ScheduleFire } from '../../activities/schedule-fire.activity';
import { firedAtOf, fireActionWorkflowId, temporalScheduleId } from './schedule-ids';
import { cronProblems, readEvery, timezoneProblems } from './schedule-timing';
import { countSchedules, deleteScheduleRow, findSchedule, insertSchedule, listSchedules, setSchedulePaused } from './schedules.repository';
import { TRIGGER_LIMITS, checkCount } from './trigger-limits';
import { requireTriggerTarget } from './trigger-target';

/** What a fire does when the previous fire's run is still going (SPEC §7a). */
export const SCHEDULE_OVERLAPS = ['SKIP', 'BUFFER_ONE', 'ALLOW_ALL'] as const;
export type ScheduleOverlap = (typeof SCHEDULE_OVERLAPS)[number];

/** A `createSchedule` request: exactly one of `cron` and `every`. */
export type CreateScheduleRequest = {
  definition: string;
  cron?: string | null;
  every?: string | null;
  timezone?: string | null;
  input?: unknown;
  overlap?: ScheduleOverlap | null;
};

/** A schedule as listed: its row and what Temporal says of it (next fire times). */
export type ScheduleView = ScheduleRow & { nextFireTimes: Date[] };

/** How long `triggerSchedule` waits for the fire's run to be recorded. */
const TRIGGER_WAIT_MS = 20_000;

export type ScheduleServiceOptions = {
  /** The tenant's database (row-level security). */
  db: Kysely<Database>;
  client: Client;
  taskQueue: string;
};

/**
 * A tenant's schedules (SPEC §7a): each is a row (what a fire may run: definition, input, overlap)
 * and a Temporal Schedule `<tenant>/<definition>/<id>` whose action starts `trellisScheduleFire`
 * with `{tenantId, scheduleId}`; the fire mints the run in the worker (see schedule-fire.workflow.ts).
 * The row is written first and removed again when Temporal refuses or cannot be reached, so a
 * Temporal Schedule never fires for a row that does not exist.
 */
export class ScheduleService {
  constructor(private readonly options: ScheduleServiceOptions) {}

  /**
   * @throws BadUserInputError for timing, timezone, overlap or input problems (every one, located); NotFoundError for an unknown definition; UnavailableError when Temporal cannot be reached
   */
  async create(tenantId: string, request: CreateScheduleRequest): Promise<ScheduleView> {
    const { db } = this.options;
    const problems: FieldError[] = [];
    const hasCron = request.cron != null;
    const hasEvery = request.every != null;
    if (hasCron === hasEvery) problems.push({ path: hasCron ? '/every' : '/cron', message: 'give exactly one of cron and every' });
    if (hasCron) problems.push(...cronProblems(request.cron!));
    const everyMs = hasEvery ? readEvery(request.every!) : undefined;
    if (typeof everyMs === 'object') problems.push(everyMs);
    if (request.timezone != null) problems.push(...timezoneProblems(request.timezone));
    if (request.timezone != null && hasEvery) problems.push({ path: '/timezone', message: 'applies to cron only: an every interval is the same in every time zone' });
    if (problems.length > 0) throw new BadUserInputError('invalid schedule', problems);
    const target = await requireTriggerTarget(db, tenantId, request.definition);
    const input = request.input ?? {};
    checkInput(target.definition, input, `${tenantId}/${request.definition}@${target.version}`, `"${request.definition}" v${target.version}`);
    checkCount(await countSchedules(db, tenantId), TRIGGER_LIMITS.schedulesPerTenant, 'schedules', tenantId);
    const overlap = request.overlap ?? 'SKIP';
    const row = await insertSchedule(db, {
      id: randomUUID(),
      tenant_id: tenantId,
      definition_name: request.definition,
      cron: hasCron ? request.cron!.trim().split(/\s+/).join(' ') : null,
      every: hasEvery ? request.every!.trim() : null,
      timezone: request.timezone ?? null,
      input: JSON.stringify(input),
      overlap,
    });
    const fire: ScheduleFire = { tenantId, scheduleId: row.id };
    try {
      await this.temporal(() =>
        this.options.client.schedule.create({
          scheduleId: temporalScheduleId(row),
          spec: {
            ...(row.cron ? { cronExpressions: [row.cron] } : { intervals: [{ every: everyMs as number }] }),
            ...(row.timezone ? { timezone: row.timezone } : {}),
          },
          action: { type: 'startWorkflow', workflowType: 'trellisScheduleFire', workflowId: fireActionWorkflowId(row), taskQueue: this.options.taskQueue, args: [fire] },
          policies: { overlap, catchupWindow: '1 minute' },
          memo: { trellis: { tenant: tenantId, definition: row.definition_name } },
        }),
      );
    } catch (err) {
      await deleteScheduleRow(db, tenantId, row.id);
      if (err instanceof UnavailableError) throw err;
      // Temporal refused what the checks above let through (a cron it reads otherwise).
      throw new BadUserInputError(`Temporal refused the schedule: ${(err as Error).message}`, [{ path: hasCron ? '/cron' : '/every', message: (err as Error).message }]);
    }
    return { ...row, nextFireTimes: await this.nextFireTimes(row) };
  }

  /** The tenant's schedules, oldest first, with their next fire times (none while paused). */
  async list(tenantId: string): Promise<ScheduleView[]> {
    const rows = await listSchedules(this.options.db, tenantId);
    return Promise.all(rows.map(async (row) => ({ ...row, nextFireTimes: await this.nextFireTimes(row) })));
  }

  /** @throws NotFoundError when the tenant has no such schedule */
  async find(tenantId: string, id: string): Promise<ScheduleRow> {
    const row = isUuid(id) ? await findSchedule(this.options.db, tenantId, id.toLowerCase()) : undefined;
    if (!row) throw new NotFoundError(`schedule "${id}"`);
    return row;
  }

  /**
   * Pauses or resumes a schedule: Temporal's schedule first (it stops firing), then the row (a
   * paused row also refuses a fire already on its way, see RunVerifier.verifyScheduleFire).
   * @throws NotFoundError; UnavailableError
   */
  async setPaused(tenantId: string, id: string, paused: boolean): Promise<ScheduleView> {
    const row = await this.find(tenantId, id);
    const handle = this.handle(row);
    if (paused) {
      await setSchedulePaused(this.options.db, tenantId, row.id, true);
      await this.temporal(() => handle.pause('paused through Trellis'));
    } else {
      await this.temporal(() => handle.unpause('resumed through Trellis'));
      await setSchedulePaused(this.options.db, tenantId, row.id, false);
    }
    const updated = await this.find(tenantId, row.id);
    return { ...updated, nextFireTimes: await this.nextFireTimes(updated) };
  }

  /** @returns whether a schedule was deleted (in Temporal and here); false for one the tenant does not have */
  async delete(tenantId: string, id: string): Promise<boolean> {
    const row = isUuid(id) ? await findSchedule(this.options.db, tenantId, id.toLowerCase()) : undefined;
    if (!row) return false;
    try {
      await this.temporal(() => this.handle(row).delete());
    } catch (err) {
      if (!(err instanceof ScheduleNotFoundError)) throw err;
    }
    return deleteScheduleRow(this.options.db, tenantId, row.id);
  }

  /**
   * Fires a schedule now (Temporal's trigger, overlap ALLOW_ALL: asked for, so it runs) and returns
   * the run the fire records, once it is recorded. The fire is told apart from the schedule's own
   * fires by its workflow id, which was not among the schedule's actions before the trigger.
   * @throws NotFoundError; BadUserInputError for a paused schedule, or a fire that started no run (why: the schedule's lastError); UnavailableError
   */
  async trigger(tenantId: string, id: string): Promise<RunRow> {
    const row = await this.find(tenantId, id);
    if (row.paused) throw new BadUserInputError(`schedule "${row.id}" is paused: resume it first`, [{ path: '/id', message: 'is paused' }]);
    const handle = this.handle(row);
    const known = new Set(actionIds(await this.temporal(() => handle.describe())));
    const askedAt = new Date();
    await this.temporal(() => handle.trigger('ALLOW_ALL'));
    const deadline = Date.now() + TRIGGER_WAIT_MS;
    let fireId: string | undefined;
    while (Date.now() < deadline) {
      if (!fireId) fireId = actionIds(await this.temporal(() => handle.describe())).find((action) => !known.has(action));
      const firedAt = fireId && firedAtOf(fireId);
      if (firedAt) {
        const run = await findRunByIdempotencyKey(this.options.db, tenantId, row.definition_name, `schedule:${row.id}:${firedAt}`);
        if (run) return run;
      }
      // A refused fire ends at once and may have left Temporal's list of recent actions before
      // it is seen there: its refusal, recorded on the schedule since the trigger, is the answer.
      const now = await findSchedule(this.options.db, tenantId, row.id);
      if (now?.last_error && now.last_error_at && now.last_error_at >= askedAt) throw new BadUserInputError(now.last_error, [{ path: '/id', message: now.last_error }]);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new UnavailableError(`schedule "${row.id}" was triggered, but its run was not recorded within ${TRIGGER_WAIT_MS / 1000} s (is a worker running?): it may still start`, UNAVAILABLE_RETRY_AFTER_SECONDS);
  }

  private handle(row: ScheduleRow): ScheduleHandle {
    return this.options.client.schedule.getHandle(temporalScheduleId(row));
  }

  /** The next fire times Temporal gives (none while paused, or when Temporal cannot say). */
  private async nextFireTimes(row: ScheduleRow): Promise<Date[]> {
    if (row.paused) return [];
    try {
      const description = await this.handle(row).describe();
      return description.info.nextActionTimes.slice(0, 5);
    } catch {
      return [];
    }
  }

  /** Runs a Temporal call; unreachable Temporal becomes UnavailableError. */
  private async temporal<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (err) {
      if (isTemporalUnavailable(err)) throw new UnavailableError(`Temporal could not be reached: ${(err as Error).message}; try again`, UNAVAILABLE_RETRY_AFTER_SECONDS);
      throw err;
    }
  }
}

/** Workflow ids of the actions a schedule is running or ran recently. */
function actionIds(description: ScheduleDescription): string[] {
  return [...description.info.runningActions.map((action) => action.workflow.workflowId), ...description.info.recentActions.map((result) => result.action.workflow.workflowId)];
}
