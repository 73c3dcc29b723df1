import { ScheduleAlreadyRunning, ScheduleNotFoundError, ScheduleOverlapPolicy, type Client, type ScheduleOptions } from '@temporalio/client';

/** How often the retention job runs. */
export const RETENTION_EVERY = '1h';

/** The id of a deployment's retention schedule: one per task queue (deployments may share a namespace). */
export function retentionScheduleId(taskQueue: string): string {
  return `trellis-retention/${taskQueue}`;
}

/** What {@link registerRetentionSchedule} did. */
export type RetentionScheduleChange = 'created' | 'updated' | 'deleted' | 'absent';

/**
 * Registers the Temporal Schedule that runs the retention job (`trellisRetention`) every hour on
 * the interpreter's task queue, or deletes it when retention is off (`days` 0), so turning it off
 * stops it. Idempotent: every process that runs a worker calls it at start, and a schedule that
 * exists is updated in place (one schedule however many start). Visible in the Temporal Web UI
 * under Schedules; overlapping runs are skipped.
 */
export async function registerRetentionSchedule(client: Client, options: { taskQueue: string; days: number }): Promise<RetentionScheduleChange> {
  const scheduleId = retentionScheduleId(options.taskQueue);
  if (options.days <= 0) {
    try {
      await client.schedule.getHandle(scheduleId).delete();
      return 'deleted';
    } catch (err) {
      if (err instanceof ScheduleNotFoundError) return 'absent';
      throw err;
    }
  }
  const schedule = {
    scheduleId,
    spec: { intervals: [{ every: RETENTION_EVERY }] },
    action: { type: 'startWorkflow', workflowType: 'trellisRetention', taskQueue: options.taskQueue, workflowId: scheduleId, args: [] },
    policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: RETENTION_EVERY },
    state: { note: `Trellis retention: deletes runs that finished more than ${options.days} days ago (TRELLIS_RETENTION_DAYS), with their events and steps` },
  } satisfies ScheduleOptions;
  try {
    await client.schedule.create(schedule);
    return 'created';
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
  }
  await client.schedule.getHandle(scheduleId).update((previous) => ({ ...previous, spec: schedule.spec, action: schedule.action, policies: schedule.policies, state: { ...previous.state, note: schedule.state.note } }));
  return 'updated';
}
