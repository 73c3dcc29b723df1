import { ScheduleNotFoundError, WorkflowNotFoundError, type Client, type WorkflowExecutionDescription } from '@temporalio/client';
import type { Kysely } from 'kysely';
import { FINAL_RUN_STATUSES } from '../../definition/step-types';
import type { AuditEventInput, ChainLink } from '../../interpreter/run-types';
import type { Database, ScheduleRow } from '../db/database';
import { LruCache } from '../support/lru-cache';
import { RunResets } from './run-resets';
import type { TriggerChains } from '../triggers/trigger-chain';
import { firedAtOf, fireWorkflowIdPrefix, temporalScheduleId } from '../triggers/schedule-ids';

/** Workflow types the Trellis worker registers (see `interpreter/workflows.ts`). */
export const TRELLIS_WORKFLOW_TYPES = { run: 'trellisRun', mapBatch: 'trellisMapBatch', scheduleFire: 'trellisScheduleFire' } as const;

/** The Temporal execution an activity runs for, as its own context says (never its input). */
export type ExecutionRef = { workflowId: string; runId: string; workflowType: string };

/** What an activity's input says it acts for; `runId` when the input names one. */
export type RunClaim = { tenantId: string | undefined; runId?: string };

/**
 * A run Trellis started, found from a Temporal execution: the run itself, or the run a map batch
 * belongs to; with its definition and the chain that led to it (what its `http` steps send).
 */
export type VerifiedRun = { id: string; tenantId: string; workflowId: string; definition: string; chain: ChainLink[] };

/** A schedule's fire the schedule itself started: the schedule's row, and the time the fire was scheduled for. */
export type VerifiedFire = { schedule: ScheduleRow; firedAt: string };

/** What a fire's input claims: the tenant and the schedule whose fire it is. */
export type FireClaim = { tenantId: string; scheduleId: string };

/**
 * A fire not (yet) among its schedule's recent or running actions: the schedule records the
 * workflows it starts just after starting them, so the fire's first moments may come first.
 * Retryable; after {@link FIRE_LISTING_ATTEMPTS} attempts it becomes a refusal.
 */
export class FireNotListedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FireNotListedError';
  }
}

/**
 * Attempts a fire gets to appear among its schedule's actions before it is refused: with the fire
 * workflow's retry policy (0.5 s, doubling) about 15 s, far longer than a schedule takes to list
 * the workflow it just started.
 */
export const FIRE_LISTING_ATTEMPTS = 6;

/** Refusal to act: the execution is not a run Trellis started, or its input claims what its run is not. */
export class UnverifiedRunError extends Error {
  readonly code = 'UNVERIFIED_RUN';
  constructor(message: string) {
    super(message);
    this.name = 'UnverifiedRunError';
  }
}

/** Options of {@link RunVerifier}. */
export type RunVerifierOptions = {
  /** Executions remembered as verified, per worker. @default 10_000 */
  cacheSize?: number;
  /** Links a child run's chain to its parent's; without it a child inherits its parent's chain as is. */
  chains?: TriggerChains;
};

/** Map batches nest only inside inline map graphs, within the workflow depth limit; more is not Trellis. */
const MAX_BATCH_NESTING = 8;

/**
 * Decides whether an activity may act for the tenant and run its input names, from facts the
 * input cannot forge: the activity's own Temporal execution (from its context), the `runs` table,
 * and Temporal's record of which execution started which.
 *
 * - A `trellisRun` execution acts for the run whose row has its workflow id, if the row's Temporal
 *   run id is that execution's. The id is recorded the first time the run is seen (the API records
 *   it too), so a later execution reusing the workflow id, after the run finished or by terminating
 *   it, is refused — unless Temporal confirms it is a reset of the run's execution and the run is
 *   in flight: then the run moves to it and RUN_RESET is recorded (see {@link RunResets}).
 * - A `trellisMapBatch` execution acts for the run it was started by: Temporal's parent chain must
 *   lead (through batches only) to a verified run, and its workflow id must extend that run's.
 * - A run's row is created by whoever starts it: the API for every top-level run (startRun,
 *   retryRun, testRun) before it starts the workflow. A child run (a `workflow` step) is started by
 *   its parent's workflow, so {@link verifyStart} creates its row, once Temporal confirms the
 *   parent execution, that the parent is a verified, unfinished run of the same tenant, and that
 *   it is the run the child's trigger names.
 *
 * Positive answers are cached per execution (bounded, least recently used dropped), so the hot
 * path is one lookup per run per worker, then none. Refusals are not cached; database and Temporal
 * errors propagate as themselves (retryable), never as a refusal.
 */
export class RunVerifier {
  private readonly verified: LruCache<string, VerifiedRun>;
  private readonly resets: RunResets;

  private readonly chains: TriggerChains | undefined;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly client: Client,
    options: RunVerifierOptions = {},
  ) {
    this.verified = new LruCache(options.cacheSize ?? 10_000);
    this.resets = new RunResets(db, client);
    this.chains = options.chains;
  }

  /**
   * Resolves with the run `execution` belongs to when it is what `claim` says.
   * @throws UnverifiedRunError when Trellis did not start the execution, or the claim is not its run's
   */
  async verify(execution: ExecutionRef, claim: RunClaim): Promise<VerifiedRun> {
    const run = await this.resolve(execution, execution.workflowType, 0);
    if (claim.tenantId !== run.tenantId || (claim.runId !== undefined && claim.runId !== run.id)) {
      throw new UnverifiedRunError(
        `${describeExecution(execution)} belongs to run ${run.id}, but its input claims ` +
          `${claim.runId === undefined ? '' : `run ${claim.runId} of `}tenant ${JSON.stringify(claim.tenantId ?? null)}`,
      );
    }
    return run;
  }

  /**
   * Verifies a run's RUN_STARTED event: as {@link verify} when the run has a row; for a child run
   * started by a `workflow` step, creates its row first, once Temporal confirms its parent.
   * @throws UnverifiedRunError as {@link verify}, or when a claimed parent is not confirmed
   */
  async verifyStart(execution: ExecutionRef, event: AuditEventInput): Promise<VerifiedRun> {
    const claim = { tenantId: event.tenantId, runId: event.runId };
    const isChild = event.actor.type === 'workflow' && execution.workflowType === TRELLIS_WORKFLOW_TYPES.run;
    if (!isChild || this.verified.get(cacheKey(execution)) || (await this.findRun(execution.workflowId))) return this.verify(execution, claim);
    await this.createChildRun(execution, event);
    return this.verify(execution, claim);
  }

  private async createChildRun(execution: ExecutionRef, event: AuditEventInput): Promise<void> {
    const run = event.run;
    const refuse = (why: string): never => {
      throw new UnverifiedRunError(`${describeExecution(execution)} is not a child run Trellis started: ${why}`);
    };
    if (!run) return refuse('its RUN_STARTED event carries no run');
    if (execution.workflowId !== `${event.tenantId}/${run.definitionName}/${event.runId}`) {
      refuse(`its workflow id is not "<tenant>/<definition>/<run id>" of what its input claims`);
    }
    const description = await this.describe(execution);
    if (!description) return refuse('Temporal does not know it');
    const parentExecution = parentOf(description);
    if (!parentExecution) return refuse(`its input names parent run ${event.actor.id}, but Temporal records no parent execution`);
    const parent = await this.resolve(parentExecution, undefined, 0);
    if (parent.tenantId !== event.tenantId || parent.id !== event.actor.id) {
      refuse(`its parent execution belongs to run ${parent.id}, not to run ${event.actor.id} of tenant ${JSON.stringify(event.tenantId)}`);
    }
    const parentRow = await this.db.selectFrom('runs').select('status').where('id', '=', parent.id).executeTakeFirstOrThrow();
    if (FINAL_RUN_STATUSES.has(parentRow.status)) refuse(`its parent run ${parent.id} is ${parentRow.status}`);
    // A child's requests come from its parent's chain and its parent: posting back into the
    // parent's definition is a loop too.
    const chain = [...parent.chain, ...(this.chains ? [this.chains.linkOf(parent.tenantId, parent.definition, parent.id)] : [])];
    await this.db
      .insertInto('runs')
      .values({
        id: event.runId,
        tenant_id: event.tenantId,
        definition_name: run.definitionName,
        definition_version: run.definitionVersion,
        status: 'RUNNING',
        input: JSON.stringify(run.input ?? null),
        trigger: JSON.stringify(run.trigger),
        workflow_id: execution.workflowId,
        temporal_run_id: execution.runId,
        started_at: run.startedAt,
        chain: chain.length > 0 ? JSON.stringify(chain) : null,
        variables: run.variables === undefined ? null : JSON.stringify(run.variables),
      })
      // A redone workflow task records the same start again: the row is already there.
      .onConflict((oc) => oc.column('id').doNothing())
      .execute();
  }

  /** The run an execution belongs to; `type` is the execution's workflow type when known. */
  private async resolve(execution: { workflowId: string; runId: string }, type: string | undefined, depth: number): Promise<VerifiedRun> {
    const key = cacheKey(execution);
    const cached = this.verified.get(key);
    if (cached) return cached;
    const refuse = (why: string): never => {
      throw new UnverifiedRunError(`${describeExecution(execution)} is not a run Trellis started: ${why}`);
    };
    let run: VerifiedRun;
    const row = await this.findRun(execution.workflowId);
    if (row) {
      if (type !== undefined && type !== TRELLIS_WORKFLOW_TYPES.run) refuse(`it is a ${type}, but run ${row.id} has its workflow id`);
      const recorded = row.temporalRunId ?? (await this.recordTemporalRunId(row.id, execution.runId));
      if (recorded !== execution.runId) {
        const reset = await this.resets.accept(row.id, execution.runId);
        if (!reset.accepted) refuse(`workflow id ${execution.workflowId} belongs to run ${row.id}, started as Temporal run ${recorded}, not ${execution.runId}: ${reset.why}`);
      }
      run = { id: row.id, tenantId: row.tenantId, workflowId: execution.workflowId, definition: row.definition, chain: row.chain ?? [] };
    } else {
      if (type === TRELLIS_WORKFLOW_TYPES.run) refuse('no run has this workflow id');
      if (depth >= MAX_BATCH_NESTING) refuse(`map batches nest deeper than ${MAX_BATCH_NESTING}`);
      const description = await this.describe(execution);
      if (!description) return refuse('Temporal does not know it');
      if (description.type !== TRELLIS_WORKFLOW_TYPES.mapBatch) refuse(`no run has this workflow id and it is a ${description.type}, not a map batch`);
      const parentExecution = parentOf(description);
      if (!parentExecution) return refuse('a map batch that no run started');
      const parent = await this.resolve(parentExecution, undefined, depth + 1);
      if (!execution.workflowId.startsWith(`${parent.workflowId}/`)) refuse(`a map batch of run ${parent.id} whose workflow id does not extend the run's`);
      run = parent;
    }
    this.verified.set(key, run);
    return run;
  }

  private async findRun(workflowId: string): Promise<{ id: string; tenantId: string; temporalRunId: string | null; definition: string; chain: ChainLink[] | null } | undefined> {
    const row = await this.db
      .selectFrom('runs')
      .select(['id', 'tenant_id', 'temporal_run_id', 'definition_name', 'chain'])
      .where('workflow_id', '=', workflowId)
      .executeTakeFirst();
    return row && { id: row.id, tenantId: row.tenant_id, temporalRunId: row.temporal_run_id, definition: row.definition_name, chain: row.chain };
  }

  /**
   * Verifies a schedule's fire (`trellisScheduleFire`) before it may record a run: its input must
   * name a schedule of its tenant that exists and is not paused, its workflow id must be that
   * schedule's fire id, and the schedule itself must list the execution among the actions it took
   * (its recent or running actions), which no one can make it do by starting a workflow; whoever
   * can trigger the schedule in Temporal could fire it anyway. What the fire runs (definition,
   * input) is read from the schedule's row, never from the fire's input.
   * @param attempt the caller's attempt (from 1): a fire not listed yet is retried until {@link FIRE_LISTING_ATTEMPTS}
   * @returns the schedule's row and the time the fire was scheduled for
   * @throws UnverifiedRunError when it is not a fire of that schedule; FireNotListedError (retryable) when not listed yet
   */
  async verifyScheduleFire(execution: ExecutionRef, claim: FireClaim, attempt = 1): Promise<VerifiedFire> {
    const refuse = (why: string): never => {
      throw new UnverifiedRunError(`${describeExecution(execution)} is not a fire Trellis's schedule started: ${why}`);
    };
    if (execution.workflowType !== TRELLIS_WORKFLOW_TYPES.scheduleFire) refuse(`it is a ${execution.workflowType}`);
    const schedule = UUID.test(claim.scheduleId)
      ? await this.db.selectFrom('schedules').selectAll().where('id', '=', claim.scheduleId).executeTakeFirst()
      : undefined;
    if (!schedule || schedule.tenant_id !== claim.tenantId) return refuse(`tenant ${JSON.stringify(claim.tenantId)} has no schedule ${JSON.stringify(claim.scheduleId)}`);
    const scheduleId = temporalScheduleId(schedule);
    if (!execution.workflowId.startsWith(fireWorkflowIdPrefix(schedule))) refuse(`its workflow id is not a fire id of schedule ${scheduleId}`);
    if (schedule.paused) refuse(`schedule ${scheduleId} is paused`);
    let description;
    try {
      description = await this.client.schedule.getHandle(scheduleId).describe();
    } catch (err) {
      if (err instanceof ScheduleNotFoundError) return refuse(`Temporal has no schedule ${scheduleId}`);
      throw err;
    }
    const same = (action: { workflow?: { workflowId: string; firstExecutionRunId: string } }) =>
      action.workflow?.workflowId === execution.workflowId && action.workflow.firstExecutionRunId === execution.runId;
    // firedAt is read from the workflow id first (Temporal's nominal time of the fire, as in
    // TemporalScheduledStartTime): every attempt of this activity must compute the same value, since
    // the run's idempotency key is made of it, whether the action is listed as running or recent.
    const recent = description.info.recentActions.find((result) => same(result.action));
    if (recent) return { schedule, firedAt: firedAtOf(execution.workflowId) ?? recent.scheduledAt.toISOString() };
    if (description.info.runningActions.some((action) => same(action))) {
      return { schedule, firedAt: firedAtOf(execution.workflowId) ?? new Date().toISOString() };
    }
    if (attempt >= FIRE_LISTING_ATTEMPTS) refuse(`schedule ${scheduleId} lists no such action among its recent or running ones`);
    throw new FireNotListedError(`schedule ${scheduleId} does not list ${describeExecution(execution)} yet`);
  }

  /** Records the Temporal run id of a run seen for the first time; returns the id recorded, by whoever was first. */
  private async recordTemporalRunId(id: string, temporalRunId: string): Promise<string | null> {
    await this.db.updateTable('runs').set({ temporal_run_id: temporalRunId }).where('id', '=', id).where('temporal_run_id', 'is', null).execute();
    const row = await this.db.selectFrom('runs').select('temporal_run_id').where('id', '=', id).executeTakeFirst();
    return row?.temporal_run_id ?? null;
  }

  private async describe(execution: { workflowId: string; runId: string }): Promise<WorkflowExecutionDescription | undefined> {
    try {
      return await this.client.workflow.getHandle(execution.workflowId, execution.runId).describe();
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return undefined;
      throw err;
    }
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function parentOf(description: WorkflowExecutionDescription): { workflowId: string; runId: string } | undefined {
  const { workflowId, runId } = description.parentExecution ?? {};
  return workflowId && runId ? { workflowId, runId } : undefined;
}

function cacheKey(execution: { workflowId: string; runId: string }): string {
  return `${execution.workflowId}\n${execution.runId}`;
}

function describeExecution(execution: { workflowId: string; runId: string }): string {
  return `workflow ${JSON.stringify(execution.workflowId)} (Temporal run ${execution.runId})`;
}
