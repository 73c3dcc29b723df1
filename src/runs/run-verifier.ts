import { WorkflowNotFoundError, type Client, type WorkflowExecutionDescription } from '@temporalio/client';
import type { Kysely } from 'kysely';
import { FINAL_RUN_STATUSES } from '../../definition/step-types';
import type { AuditEventInput } from '../../interpreter/run-types';
import type { Database } from '../db/database';
import { LruCache } from '../support/lru-cache';

/** Workflow types the Trellis worker registers (see `interpreter/workflows.ts`). */
export const TRELLIS_WORKFLOW_TYPES = { run: 'trellisRun', mapBatch: 'trellisMapBatch' } as const;

/** The Temporal execution an activity runs for, as its own context says (never its input). */
export type ExecutionRef = { workflowId: string; runId: string; workflowType: string };

/** What an activity's input says it acts for; `runId` when the input names one. */
export type RunClaim = { tenantId: string | undefined; runId?: string };

/** A run Trellis started, found from a Temporal execution: the run itself, or the run a map batch belongs to. */
export type VerifiedRun = { id: string; tenantId: string; workflowId: string };

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
 *   it, is refused.
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

  constructor(
    private readonly db: Kysely<Database>,
    private readonly client: Client,
    options: RunVerifierOptions = {},
  ) {
    this.verified = new LruCache(options.cacheSize ?? 10_000);
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
      if ((row.temporalRunId ?? (await this.recordTemporalRunId(row.id, execution.runId))) !== execution.runId) {
        refuse(`workflow id ${execution.workflowId} belongs to run ${row.id}, started as Temporal run ${row.temporalRunId}, not ${execution.runId}`);
      }
      run = { id: row.id, tenantId: row.tenantId, workflowId: execution.workflowId };
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

  private async findRun(workflowId: string): Promise<{ id: string; tenantId: string; temporalRunId: string | null } | undefined> {
    const row = await this.db.selectFrom('runs').select(['id', 'tenant_id', 'temporal_run_id']).where('workflow_id', '=', workflowId).executeTakeFirst();
    return row && { id: row.id, tenantId: row.tenant_id, temporalRunId: row.temporal_run_id };
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
