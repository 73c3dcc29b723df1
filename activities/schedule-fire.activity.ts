import { Context } from '@temporalio/activity';
import type { Kysely } from 'kysely';
import type { RunSnapshot } from '../interpreter/run-types';
import type { Database } from '../src/db/database';
import { TrellisError } from '../src/errors';
import type { RunService } from '../src/runs/run.service';
import type { RunVerifier } from '../src/runs/run-verifier';
import { recordScheduleOutcome } from '../src/triggers/schedules.repository';
import { currentExecution, verifyOrFail } from './verified-activity';

/** A schedule fire's argument (the schedule's action repeats it on every fire): whose schedule it is. */
export type ScheduleFire = { tenantId: string; scheduleId: string };

/**
 * What a fire runs: the run recorded for it (its snapshot, to start as the fire's child), one an
 * earlier attempt of this fire already started, or why the fire starts nothing.
 */
export type PreparedFire =
  | { runId: string; workflowId: string; snapshot: RunSnapshot }
  | { runId: string; workflowId: string; started: true }
  | { refused: string };

/**
 * The local activity at the start of every schedule fire: verifies that the schedule itself
 * started the fire ({@link RunVerifier.verifyScheduleFire}), then does what `startRun` does
 * before the start (RunService.prepareRun): mints the run id, pins the definition's latest
 * version and its sub-workflows, checks the schedule's input against the input schema again and
 * records the run's row, with trigger `{type: "schedule", id, firedAt}`. Its idempotency key is
 * `schedule:<schedule id>:<firedAt>`, so an attempt redone after a crash records the same run.
 * What a user can fix (the definition archived or gone, an input the schema no longer accepts, too
 * many runs in flight) is not retried: the fire starts nothing and the schedule's `lastError` says
 * why. A fire that is not the schedule's fails, not retried; database and Temporal errors are
 * retried.
 */
export function createScheduleFireActivities(db: Kysely<Database>, verifier: RunVerifier, runs: RunService | undefined) {
  return {
    async prepareScheduledRun(fire: ScheduleFire): Promise<PreparedFire> {
      const execution = currentExecution();
      const { attempt } = Context.current().info;
      const { schedule, firedAt } = await verifyOrFail(() => verifier.verifyScheduleFire(execution, fire, attempt));
      if (!runs) throw new Error('this worker cannot start scheduled runs: it has no RunService');
      try {
        const prepared = await runs.prepareRun(schedule.tenant_id, {
          definition: schedule.definition_name,
          input: schedule.input,
          idempotencyKey: `schedule:${schedule.id}:${firedAt}`,
          trigger: { type: 'schedule', id: schedule.id, firedAt },
        });
        await recordScheduleOutcome(db, schedule.id, undefined);
        const { id: runId, workflow_id: workflowId } = prepared.row;
        return prepared.started ? { runId, workflowId, started: true } : { runId, workflowId, snapshot: prepared.snapshot };
      } catch (err) {
        if (!(err instanceof TrellisError)) throw err;
        const refused = `the fire scheduled for ${firedAt} started no run: ${err.message}`;
        await recordScheduleOutcome(db, schedule.id, refused);
        return { refused };
      }
    },
  };
}
