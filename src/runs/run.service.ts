import { randomUUID } from 'node:crypto';
import { WorkflowExecutionAlreadyStartedError, type Client, type WorkflowHandle } from '@temporalio/client';
import type { Kysely } from 'kysely';
import type { Definition, Step } from '../../definition/definition-schema';
import { cancelRequestedSignal, runSignal, type CancelRequest } from '../../interpreter/signals';
import type { trellisRun } from '../../interpreter/workflows';
import type { Actor, ChainLink, DefinitionLibrary, RunSnapshot } from '../../interpreter/run-types';
import { FINAL_RUN_STATUSES } from '../../definition/step-types';
import { traitsOf } from '../../definition/step-traits';
import type { Database, NewRun, RunRow } from '../db/database';
import { findDefinition, findVersion } from '../db/definitions.repository';
import { deleteUnstartedRun, findFinalEvent, findRun, findRunByIdempotencyKey, insertRun, listRecordedSteps, recordRunEnd, setTemporalRunId } from '../db/runs.repository';
import { BadUserInputError, ConflictError, NotFoundError, UnavailableError, type FieldError } from '../errors';
import { walkSteps } from '../../definition/definition-walk';
import { pointerJoin } from '../../definition/json-pointer';
import { checkDefinitionForTenant } from '../definitions/definition.service';
import { pinSubWorkflows, pinnedVersions } from '../definitions/sub-workflows';
import type { StepTypeDefinition } from '../step-types/define-step-type';
import { NO_TASK_QUEUES, refusedTaskQueues, type TaskQueuePolicy } from '../../definition/task-queues';
import { canonicalJson, sha256OfJson } from '../support/canonical-json';
import { SEARCH_ATTRIBUTES } from '../temporal/search-attributes';
import { isWorkflowGone } from '../temporal/temporal-errors';
import { validateAgainstSchema } from '../support/json-schema';
import { pinVariables } from '../variables/pin-variables';
import { planRetry } from './retry-plan';
import { RunReconciler } from './run-reconciler';
import { describeRunState } from './run-state';
import { DEFAULT_MAX_RUNS_IN_FLIGHT, checkRunsInFlight } from './runs-in-flight';
import { ChainRefusedError, lastRunId, type TriggerChains } from '../triggers/trigger-chain';
import { recordTriggerRefusal } from '../triggers/trigger-refusals';

export type StartRunRequest = {
  definition: string;
  /** A version number; the latest version when omitted. */
  version?: number | null;
  input?: unknown;
  idempotencyKey?: string | null;
  trigger: Actor;
  /**
   * The runs and events that led to this request (its `Trellis-Chain`), oldest first: a run whose
   * definition it holds, or one run more than the chain limit, is refused (loop prevention).
   */
  chain?: ChainLink[];
  /**
   * How a refusal is recorded on the chain's last run (a `TRIGGER_REFUSED` event): a key that
   * makes it once only, and what asked (`webhook 1f… delivery 9c…`). @default a new key, "startRun"
   */
  refusal?: { key: string; via: string };
};

/**
 * A run recorded and ready to start (`started: false`: its snapshot is the interpreter's
 * argument; `created` says whether this call created its row) or one already started by an
 * earlier request with the same idempotency key.
 */
export type PreparedRun = { started: true; row: RunRow } | { started: false; row: RunRow; created: boolean; snapshot: RunSnapshot };

/** Seconds a client is asked to wait after Temporal could not be reached. */
export const UNAVAILABLE_RETRY_AFTER_SECONDS = 5;

export type RunServiceOptions = {
  db: Kysely<Database>;
  client: Client;
  taskQueue: string;
  stepTypes?: readonly StepTypeDefinition[];
  /** Which task queues steps may name (checked for test runs) and the queue of each step type (pinned in every run). @default none */
  taskQueues?: TaskQueuePolicy;
  /** Runs a tenant may have in flight; every way of starting a run checks it. @default 1000 */
  maxRunsInFlight?: number;
  /** Checks requests' chains (loop prevention); without it, chains are recorded but not checked. */
  chains?: TriggerChains;
  /** How long a start waits for Temporal before it is given up (UnavailableError). @default 5000 */
  startTimeoutMs?: number;
  /**
   * A client over the NativeConnection of a worker of `taskQueue` in this process: runs are then
   * started through it with eager workflow start (`requestEagerStart`), and their first workflow
   * task comes back with the start's answer, to that worker, instead of through a poll.
   * @default none: starts through `client`, no eager start
   */
  starter?: Client;
};

/** A `signalRun` request: the signal a `wait` step waits for, and its payload (the step's output). */
export type SignalRequest = { signal: string; payload?: unknown; actor: Actor };

/** A `retryRun` request: the step to run again from (with everything after it), or only a plan. */
export type RetryRequest = { fromStep?: string | null; dryRun?: boolean | null; actor: Actor };

/**
 * What `retryRun` with `dryRun` answers: the run a retry would start, with status `PLANNED` and
 * its `retry_plan`. It is not stored and never started; its id fetches nothing.
 */
export type RetryPreview = RunRow & { preview: true };

/** A `testRun` request: an unsaved definition, its input, and outputs standing in for steps. */
export type TestRunRequest = { spec: unknown; input?: unknown; mocks?: unknown; actor: Actor };

/** Why a run cannot start when variables it reads are not set (each is listed with where it is read). */
const VARIABLES_NOT_PINNED = 'it reads variables that are not set';

/** Readable, unique Temporal workflow id of a run (SPEC §3). */
export function workflowIdOf(tenantId: string, definition: string, runId: string): string {
  return `${tenantId}/${definition}/${runId}`;
}

/** Starts and cancels runs: the only place that turns a trigger into a Temporal workflow. */
export class RunService {
  private readonly reconciler: RunReconciler;

  constructor(private readonly options: RunServiceOptions) {
    this.reconciler = new RunReconciler(options.db, options.client);
  }

  /**
   * Pins the definition version, validates the input against its input schema, records the run
   * and starts the interpreter workflow with the snapshot. A repeated `idempotencyKey` returns
   * the run it first started (and makes sure that run really was started).
   * @throws ConflictError when a repeated `idempotencyKey` comes with another input or version
   * @throws NotFoundError when the definition or version does not exist
   * @throws BadUserInputError listing every input violation, or when the definition is archived
   */
  async startRun(tenantId: string, request: StartRunRequest): Promise<RunRow> {
    const prepared = await this.prepareRun(tenantId, request);
    if (prepared.started) return prepared.row;
    return this.launch(prepared.row, prepared.snapshot, prepared.created);
  }

  /**
   * Everything {@link startRun} does but the start itself: checks the request's chain, pins the
   * definition version and its sub-workflows, checks the input and the tenant's runs in flight,
   * and records the run's row (or finds the run of a repeated `idempotencyKey`). A schedule's
   * fire calls it from the worker and starts the returned snapshot as its child workflow.
   * @throws ChainRefusedError (CONFLICT) when the chain holds the definition or is as deep as the limit
   * @throws as {@link startRun}
   */
  async prepareRun(tenantId: string, request: StartRunRequest): Promise<PreparedRun> {
    const { db } = this.options;
    if (request.chain && request.chain.length > 0) await this.checkChain(tenantId, request);
    const definitionRow = await findDefinition(db, tenantId, request.definition);
    if (definitionRow?.archived_at) {
      throw new BadUserInputError(`definition "${request.definition}" is archived: save it again to run it`, [
        { path: '/definition', message: 'is archived' },
      ]);
    }
    const versionRow = definitionRow && (await findVersion(db, tenantId, request.definition, request.version ?? 'latest'));
    if (!versionRow) {
      throw new NotFoundError(request.version ? `definition "${request.definition}" version ${request.version}` : `definition "${request.definition}"`);
    }
    const definition = versionRow.spec as Definition;
    const input = request.input ?? {};
    checkInput(definition, input, `${tenantId}/${versionRow.name}@${versionRow.version}`, `"${versionRow.name}" v${versionRow.version}`);
    // Pinned before the run exists, so a run never starts that could not reach its sub-workflows.
    const pinnedNow = await pinSubWorkflows(db, tenantId, { name: versionRow.name, definition });
    // A repeat of a started run returns that run, whatever its sub-workflows have become since.
    const isRepeat = async (): Promise<boolean> =>
      !!request.idempotencyKey && (await findRunByIdempotencyKey(db, tenantId, versionRow.name, request.idempotencyKey)) !== undefined;
    if (pinnedNow.errors.length > 0 && !(await isRepeat())) {
      throw new BadUserInputError(`"${versionRow.name}" v${versionRow.version} cannot start: its sub-workflows changed since it was saved`, pinnedNow.errors);
    }
    const variables = await pinVariables(db, tenantId, { name: versionRow.name, definition }, pinnedNow.library);
    if (variables.errors.length > 0 && !(await isRepeat())) {
      throw new BadUserInputError(`"${versionRow.name}" v${versionRow.version} cannot start: ${VARIABLES_NOT_PINNED}`, variables.errors);
    }
    const queues = this.queueRefusal(`"${versionRow.name}" v${versionRow.version} cannot start`, pinnedNow.library, definition);
    if (queues && !(await isRepeat())) throw queues;
    await this.checkCapacity(tenantId, isRepeat);
    const runId = randomUUID();
    const now = new Date();
    const { row, created } = await insertRun(db, {
      id: runId,
      tenant_id: tenantId,
      definition_name: versionRow.name,
      definition_version: versionRow.version,
      status: 'RUNNING',
      input: JSON.stringify(input),
      trigger: JSON.stringify(request.trigger),
      idempotency_key: request.idempotencyKey ?? null,
      workflow_id: workflowIdOf(tenantId, versionRow.name, runId),
      started_at: now,
      pinned_versions: JSON.stringify(pinnedVersions(pinnedNow.library)),
      chain: request.chain && request.chain.length > 0 ? JSON.stringify(request.chain) : null,
      variables: JSON.stringify(variables.variables),
    });
    const otherVersion = request.version != null && row.definition_version !== request.version;
    if (!created && (otherVersion || canonicalJson(row.input) !== canonicalJson(input))) {
      throw new ConflictError(
        `idempotencyKey "${request.idempotencyKey}" was already used for run ${row.id} with a different input or version`,
      );
    }
    if (!created && row.temporal_run_id) return { started: true, row };
    // A new run, or a repeat of one whose start may not have reached Temporal (a crash between
    // the insert and the start): starting is idempotent on the workflow id.
    const pinned = created ? versionRow : await findVersion(db, tenantId, row.definition_name, row.definition_version);
    const pinnedDefinition = pinned!.spec as Definition;
    const library = created ? pinnedNow.library : (await pinSubWorkflows(db, tenantId, { name: row.definition_name, definition: pinnedDefinition })).library;
    return { started: false, row, created, snapshot: snapshotOf(row, pinnedDefinition, library, this.pinnedQueues()) };
  }

  /**
   * Refuses a request whose chain holds its definition or is as deep as the limit, and records
   * the refusal on the chain's last run when that run is this tenant's and still running.
   * @throws ChainRefusedError
   */
  private async checkChain(tenantId: string, request: StartRunRequest): Promise<void> {
    const { chains, db } = this.options;
    const reason = chains?.refusal(request.chain!, tenantId, request.definition);
    if (reason === undefined) return;
    const via = request.refusal?.via ?? 'startRun';
    const message = `${via}: run of "${request.definition}" refused: ${reason}`;
    const runId = lastRunId(request.chain!);
    if (runId) {
      const key = request.refusal?.key ?? `start:${randomUUID()}`;
      await recordTriggerRefusal(db, { tenantId, runId, key, message }).catch((err: unknown) => console.error('cannot record a TRIGGER_REFUSED event:', err));
    }
    throw new ChainRefusedError(message, runId);
  }

  /**
   * Starts a new run of a finished run's definition version, with its input and its pinned
   * sub-workflow versions, linked to it by `retryOf`. The steps that succeeded there and stand
   * (not compensated, not after `fromStep` or a step that did not succeed) are not run again:
   * the new run records their outputs as its own (see {@link planRetry}). With `dryRun`, only
   * says what a retry would do.
   * @throws NotFoundError when the tenant has no such run
   * @throws ConflictError when the run has not finished, or has nothing to run again
   * @throws BadUserInputError for an unknown `fromStep`, a test run, or sub-workflows that are gone
   */
  async retryRun(tenantId: string, runId: string, request: RetryRequest): Promise<RunRow | RetryPreview> {
    const { db } = this.options;
    let run = await findRun(db, tenantId, runId);
    if (!run) throw new NotFoundError(`run "${runId}"`);
    if (run.spec !== null) {
      throw new BadUserInputError(`run ${runId} is a test run of an unsaved definition: start another testRun instead`, [{ path: '/id', message: 'is a test run' }]);
    }
    // Its workflow may have ended outside Trellis a moment ago, before the reconciler noticed.
    if (!FINAL_RUN_STATUSES.has(run.status)) run = await this.reconciler.reconcile(run);
    if (!FINAL_RUN_STATUSES.has(run.status)) throw new ConflictError(`run ${runId} is ${run.status}: only a finished run can be retried`);
    const versionRow = await findVersion(db, tenantId, run.definition_name, run.definition_version);
    if (!versionRow) throw new NotFoundError(`definition "${run.definition_name}" version ${run.definition_version}`);
    const definition = versionRow.spec as Definition;
    const fromStep = request.fromStep ?? undefined;
    if (fromStep !== undefined && !Object.hasOwn(definition.steps, fromStep)) {
      const known = Object.keys(definition.steps).join(', ');
      throw new BadUserInputError(`"${run.definition_name}" v${run.definition_version} has no step "${fromStep}"`, [
        { path: '/fromStep', message: `no step "${fromStep}" (steps: ${known})` },
      ]);
    }
    const recorded = await listRecordedSteps(db, run.id);
    const plan = planRetry(
      definition,
      recorded.map((step) => ({ stepId: step.step_id, status: step.status, output: step.output, succeededSeq: step.succeeded_seq })),
      fromStep,
      run.status,
    );
    if (plan.rerun.length === 0) {
      const why = run.status === 'COMPLETED' ? 'it completed' : 'every step succeeded or was skipped';
      throw new ConflictError(`run ${runId} is ${run.status} and ${why}: nothing to retry (pass fromStep to run again from a step)`);
    }
    const pinned = await pinSubWorkflows(db, tenantId, { name: run.definition_name, definition }, run.pinned_versions ?? {});
    if (pinned.errors.length > 0) {
      throw new BadUserInputError(`run ${runId} cannot be retried: the sub-workflow versions it used are gone`, pinned.errors);
    }
    const queues = this.queueRefusal(`run ${runId} cannot be retried`, pinned.library, definition);
    if (queues) throw queues;
    // The retry reads what the run it retries read: its reused outputs were computed with those
    // values. Only a run started before variables existed pins them now.
    let variables = run.variables;
    if (variables === null) {
      const pinnedNow = await pinVariables(db, tenantId, { name: run.definition_name, definition }, pinned.library);
      if (pinnedNow.errors.length > 0) throw new BadUserInputError(`run ${runId} cannot be retried: ${VARIABLES_NOT_PINNED}`, pinnedNow.errors);
      variables = pinnedNow.variables;
    }
    const newId = randomUUID();
    const values: NewRun = {
      id: newId,
      tenant_id: tenantId,
      definition_name: run.definition_name,
      definition_version: run.definition_version,
      status: 'RUNNING',
      input: JSON.stringify(run.input),
      trigger: JSON.stringify(request.actor),
      workflow_id: workflowIdOf(tenantId, run.definition_name, newId),
      started_at: new Date(),
      retry_of: run.id,
      retry_plan: JSON.stringify(plan),
      pinned_versions: JSON.stringify(pinnedVersions(pinned.library)),
      // A retry carries on the work of the run it retries: it came from the same chain.
      chain: run.chain ? JSON.stringify(run.chain) : null,
      variables: JSON.stringify(variables),
    };
    if (request.dryRun) {
      const startedAt = new Date();
      return {
        ...run,
        id: newId,
        status: 'PLANNED',
        output: null,
        error: null,
        trigger: request.actor,
        idempotency_key: null,
        workflow_id: values.workflow_id,
        temporal_run_id: null,
        retry_of: run.id,
        retry_plan: plan,
        variables,
        started_at: startedAt,
        finished_at: null,
        updated_at: startedAt,
        preview: true,
      };
    }
    await this.checkCapacity(tenantId);
    const { row } = await insertRun(db, values);
    const reuse = { runId: run.id, steps: plan.reused };
    return this.launch(row, snapshotOf(row, definition, pinned.library, { reuse, ...this.pinnedQueues() }), true);
  }

  /**
   * Runs a definition that is not saved (version 0), with `mocks` standing in for steps: a mocked
   * step resolves its input, then takes its mock as output without calling anything.
   * @throws BadUserInputError for an invalid definition, input or mocks, each error located
   */
  async testRun(tenantId: string, request: TestRunRequest): Promise<RunRow> {
    const { db, stepTypes, taskQueues } = this.options;
    const checked = await checkDefinitionForTenant(db, tenantId, request.spec, { stepTypes, taskQueues });
    if (!checked.valid) throw new BadUserInputError('invalid definition', checked.errors);
    const definition = checked.definition;
    const mocks = checkMocks(definition, request.mocks);
    const input = request.input ?? {};
    checkInput(definition, input, `input-schema:${sha256OfJson(definition.input ?? null)}`, `"${definition.name}" (test run)`);
    const { library, errors } = await pinSubWorkflows(db, tenantId, { name: definition.name, definition });
    if (errors.length > 0) throw new BadUserInputError('invalid definition', errors);
    const variables = await pinVariables(db, tenantId, { name: definition.name, definition }, library);
    if (variables.errors.length > 0) throw new BadUserInputError(`"${definition.name}" (test run) cannot start: ${VARIABLES_NOT_PINNED}`, variables.errors);
    // The definition itself was validated above, against the same policy: its sub-workflows remain.
    const queues = this.queueRefusal(`"${definition.name}" (test run) cannot start`, library);
    if (queues) throw queues;
    await this.checkCapacity(tenantId);
    const runId = randomUUID();
    const { row } = await insertRun(db, {
      id: runId,
      tenant_id: tenantId,
      definition_name: definition.name,
      definition_version: 0,
      status: 'RUNNING',
      input: JSON.stringify(input),
      trigger: JSON.stringify(request.actor),
      workflow_id: workflowIdOf(tenantId, definition.name, runId),
      started_at: new Date(),
      pinned_versions: JSON.stringify(pinnedVersions(library)),
      variables: JSON.stringify(variables.variables),
      spec: JSON.stringify(definition),
    });
    return this.launch(row, snapshotOf(row, definition, library, { mocks, ...this.pinnedQueues() }), true);
  }

  /**
   * Refuses a new run while the tenant has the most runs in flight it may have; a repeat of a run
   * already started (`isRepeat`) is not a new run.
   * @throws RateLimitedError naming the limit and the count
   */
  private async checkCapacity(tenantId: string, isRepeat?: () => Promise<boolean>): Promise<void> {
    try {
      await checkRunsInFlight(this.options.db, tenantId, this.options.maxRunsInFlight ?? DEFAULT_MAX_RUNS_IN_FLIGHT);
    } catch (err) {
      if (isRepeat && (await isRepeat())) return;
      throw err;
    }
  }

  /**
   * The refusal of a run whose definition (`root`) or a sub-workflow it would start (`library`)
   * has a step naming a task queue this deployment does not let steps name; undefined when none
   * does. Checked when each was saved too, but the operator may have removed the queue since (its
   * pool may now serve another network). A sub-workflow's steps are given at their pointer in it,
   * with its name.
   */
  private queueRefusal(what: string, library: DefinitionLibrary, root?: Definition): BadUserInputError | undefined {
    const policy = this.options.taskQueues ?? NO_TASK_QUEUES;
    const errors: FieldError[] = root ? refusedTaskQueues(root, policy) : [];
    for (const pinned of Object.values(library)) {
      for (const { path, message } of refusedTaskQueues(pinned.definition, policy)) {
        errors.push({ path, message: `in sub-workflow "${pinned.name}" v${pinned.version}: ${message}` });
      }
    }
    if (errors.length === 0) return undefined;
    return new BadUserInputError(`${what}: steps name task queues this deployment does not let steps name (any more)`, errors);
  }

  /** The deployment's queue per step type, pinned in a run (and its children) when there is one. */
  private pinnedQueues(): Pick<RunSnapshot, 'stepQueues'> {
    const byStepType = this.options.taskQueues?.byStepType ?? {};
    return Object.keys(byStepType).length > 0 ? { stepQueues: { ...byStepType } } : {};
  }

  /**
   * Starts the interpreter workflow of a recorded run; idempotent on the run's workflow id. A start
   * that fails leaves no row behind that nothing runs: the row this call `created` is deleted,
   * unless a worker has seen the workflow meanwhile (then it did start, and the run is returned).
   * @throws UnavailableError when Temporal could not be reached within the start timeout
   */
  private async launch(row: RunRow, snapshot: RunSnapshot, created: boolean): Promise<RunRow> {
    let temporalRunId: string | undefined;
    try {
      temporalRunId = await this.startWorkflow(row.workflow_id, snapshot);
    } catch (err) {
      return this.startFailed(row, created, err);
    }
    // Undefined when the workflow had already been started, by a concurrent repeat of this call.
    const started = temporalRunId ? await setTemporalRunId(this.options.db, row.id, temporalRunId) : await findRun(this.options.db, row.tenant_id, row.id);
    // Gone: a concurrent repeat of this request failed to start it and deleted the row, so every
    // worker refuses the workflow this call started. Nothing runs; the client tries again.
    if (!started) throw new UnavailableError(`run ${row.id} could not be started (Temporal answered another request for it with an error): try again`, UNAVAILABLE_RETRY_AFTER_SECONDS);
    return started;
  }

  /** What a failed start leaves: no row nobody runs, and an UnavailableError when Temporal was unreachable. */
  private async startFailed(row: RunRow, created: boolean, err: unknown): Promise<RunRow> {
    const { db } = this.options;
    if (created && !(await deleteUnstartedRun(db, row.id))) {
      const now = await findRun(db, row.tenant_id, row.id);
      if (now?.temporal_run_id) return now;
    }
    if (isTemporalUnavailable(err)) {
      throw new UnavailableError(
        `Temporal could not be reached to start the run (${errorText(err)}): nothing was started; try again`,
        UNAVAILABLE_RETRY_AFTER_SECONDS,
      );
    }
    throw err;
  }

  /**
   * Requests cancellation of a running run. The interpreter cancels running steps, compensates
   * succeeded ones and records RUN_CANCELLED with who asked and why; a run that is rolling back
   * (COMPENSATING) is already stopping and is returned unchanged. A run whose workflow has ended
   * without the run index knowing (ended outside Trellis, or its audit trail refused even the
   * final event) is first recorded as Temporal ended it, then refused like any finished run.
   * @throws NotFoundError when the tenant has no such run
   * @throws ConflictError when the run has finished, saying how and when (see {@link alreadyFinished})
   */
  async cancelRun(tenantId: string, runId: string, request: CancelRequest): Promise<RunRow> {
    const run = await findRun(this.options.db, tenantId, runId);
    if (!run) throw new NotFoundError(`run "${runId}"`);
    if (FINAL_RUN_STATUSES.has(run.status)) throw await this.alreadyFinished(run);
    if (run.status === 'RUNNING') {
      // Temporal's cancellation carries no reason: the signal, delivered first, does.
      const ended = await this.control(run, async (handle) => {
        await handle.signal(cancelRequestedSignal, request);
        await handle.cancel();
      });
      if (!ended) return run;
      throw await this.alreadyFinished(ended);
    }
    return run;
  }

  /**
   * Runs a control call (signal, cancel) on a running run's workflow. When Temporal says the
   * workflow is gone or has closed, the run is reconciled with Temporal first (so the answer says
   * how it really ended) and returned; otherwise undefined. This is where Temporal's "not found"
   * becomes an answer: it never reaches a client as an internal error.
   * @throws ConflictError when the workflow is gone and Temporal cannot yet say how it ended
   */
  private async control(run: RunRow, call: (handle: WorkflowHandle) => Promise<void>): Promise<RunRow | undefined> {
    try {
      await call(this.options.client.workflow.getHandle(run.workflow_id));
      return undefined;
    } catch (err) {
      if (!isWorkflowGone(err)) throw err;
    }
    const now = await this.reconciler.reconcile(run);
    if (now.status === 'RUNNING') {
      throw new ConflictError(`run ${run.id}'s workflow is no longer running in Temporal, and how it ended is not recorded yet: try again in a moment`);
    }
    return now;
  }

  /**
   * The answer to cancelling a finished run: a CONFLICT naming its status and what its final
   * audit event says (`run … is already CANCELLED (cancelled by api k1: customer withdrew; …, at …)`).
   */
  private async alreadyFinished(run: RunRow): Promise<ConflictError> {
    const last = await findFinalEvent(this.options.db, run.id);
    const error = run.error as { message?: unknown } | null;
    const how = last?.message ?? (typeof error?.message === 'string' ? error.message : undefined);
    const when = (run.finished_at ?? last?.at)?.toISOString();
    const detail = [how, when && `at ${when}`].filter(Boolean).join(', ');
    return new ConflictError(`run ${run.id} is already ${run.status}${detail ? ` (${detail})` : ''}: only a running run can be cancelled`);
  }

  /** How a run that is not RUNNING stands, for signalRun's refusals: how and when it ended, or that it is rolling back. */
  private async stateOf(run: RunRow): Promise<string> {
    const finalMessage = run.status === 'CANCELLED' ? (await findFinalEvent(this.options.db, run.id))?.message ?? undefined : undefined;
    return describeRunState(run, finalMessage);
  }

  /**
   * Sends a signal to a run's `wait` steps. Deliveries queue in the run until a step waiting for
   * that name takes them, so a signal may arrive before its step starts.
   * @throws NotFoundError when the tenant has no such run
   * @throws BadUserInputError when the run's definition has no `wait` step for that signal
   * @throws ConflictError when the run is not RUNNING, saying how it ended (found out from Temporal if need be)
   */
  async signalRun(tenantId: string, runId: string, request: SignalRequest): Promise<RunRow> {
    const { db } = this.options;
    const run = await findRun(db, tenantId, runId);
    if (!run) throw new NotFoundError(`run "${runId}"`);
    const version = await findVersion(db, tenantId, run.definition_name, run.definition_version);
    const waits = version ? waitSignals(version.spec as Definition) : [];
    if (!waits.includes(request.signal)) {
      const known = waits.length > 0 ? `it waits for ${waits.map((name) => `"${name}"`).join(', ')}` : 'it has no wait steps';
      throw new BadUserInputError(`run ${runId} (${run.definition_name} v${run.definition_version}) has no wait step for signal "${request.signal}": ${known}`, [
        { path: '/signal', message: `no wait step waits for "${request.signal}"` },
      ]);
    }
    const ended =
      run.status === 'RUNNING'
        ? await this.control(run, (handle) => handle.signal(runSignal, { signal: request.signal, payload: request.payload ?? null, actor: request.actor }))
        : run;
    if (ended) throw new ConflictError(`run ${runId} ${await this.stateOf(ended)}: only a running run takes signals`);
    return run;
  }

  private async startWorkflow(workflowId: string, snapshot: RunSnapshot): Promise<string | undefined> {
    const client = this.options.starter ?? this.options.client;
    const deadline = Date.now() + (this.options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS);
    try {
      const handle = await client.withDeadline(deadline, () => client.workflow.start<typeof trellisRun>('trellisRun', {
        taskQueue: this.options.taskQueue,
        workflowId,
        ...(this.options.starter ? { requestEagerStart: true } : {}),
        args: [snapshot],
        // Temporal's UI names the run by its definition; ids and names only (not encrypted there).
        staticSummary: `${snapshot.definitionName} v${snapshot.definitionVersion}`,
        staticDetails: `Trellis run ${snapshot.runId} of ${snapshot.definitionName} v${snapshot.definitionVersion}, triggered by ${snapshot.trigger.type}${snapshot.trigger.type === 'test' ? '' : ` ${snapshot.trigger.id}`}`,
        typedSearchAttributes: [
          { key: SEARCH_ATTRIBUTES.definition, value: snapshot.definitionName },
          { key: SEARCH_ATTRIBUTES.version, value: snapshot.definitionVersion },
          { key: SEARCH_ATTRIBUTES.tenant, value: snapshot.tenantId },
          { key: SEARCH_ATTRIBUTES.trigger, value: snapshot.trigger.type },
        ],
      }));
      return handle.firstExecutionRunId;
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) return undefined;
      throw err;
    }
  }
}

/** How long a start waits for Temporal unless configured otherwise (`TRELLIS_START_TIMEOUT`). */
export const DEFAULT_START_TIMEOUT_MS = 5_000;

/** The interpreter's argument for a recorded run. */
export function snapshotOf(row: RunRow, definition: Definition, library: DefinitionLibrary, extra: Pick<RunSnapshot, 'reuse' | 'mocks' | 'stepQueues'> = {}): RunSnapshot {
  return {
    runId: row.id,
    tenantId: row.tenant_id,
    definitionName: row.definition_name,
    definitionVersion: row.definition_version,
    definition,
    library,
    depth: 1,
    input: row.input,
    trigger: row.trigger as Actor,
    requestedAt: row.started_at.toISOString(),
    // Every run recorded since variables exist has them; {} for one relaunched from before.
    variables: row.variables ?? {},
    ...(row.chain && row.chain.length > 0 ? { chain: row.chain } : {}),
    ...extra,
  };
}

/**
 * gRPC status codes that mean Temporal could not be reached or did not answer in time: CANCELLED
 * (1), DEADLINE_EXCEEDED (4), RESOURCE_EXHAUSTED (8), UNAVAILABLE (14).
 */
const UNREACHABLE_CODES: ReadonlySet<number> = new Set([1, 4, 8, 14]);

/** Whether `err` (or what caused it) is a gRPC error saying Temporal was unreachable or slow. */
export function isTemporalUnavailable(err: unknown): boolean {
  for (let at: unknown = err, hops = 0; at instanceof Error && hops < 5; at = at.cause, hops += 1) {
    const code = (at as { code?: unknown }).code;
    if (typeof code === 'number' && UNREACHABLE_CODES.has(code)) return true;
    // The worker's native connection (eager start goes through it) reports a connection it
    // could not make or lost as UNKNOWN (2) "transport error" where grpc-js says UNAVAILABLE.
    if (code === 2 && /^transport error/i.test(at.message)) return true;
  }
  return false;
}

function errorText(err: unknown): string {
  const cause = err instanceof Error && err.cause instanceof Error ? err.cause : err;
  return cause instanceof Error ? cause.message : String(cause);
}

/**
 * @throws BadUserInputError listing every violation of the definition's input schema
 * @param cacheKey identifies the schema for the compiled-validator cache
 */
export function checkInput(definition: Definition, input: unknown, cacheKey: string, what: string): void {
  if (definition.input === undefined) return;
  const errors = validateAgainstSchema(definition.input, input, cacheKey);
  if (errors.length > 0) throw new BadUserInputError(`input does not match the input schema of ${what}`, errors);
}

/**
 * A `testRun`'s mocks as outputs by step id: an object whose keys are top-level steps that call
 * something (whose type's traits say `mockable`: not `transform` or `condition`, which run inside
 * the workflow).
 * @throws BadUserInputError locating each bad key at `/mocks/<key>`
 */
function checkMocks(definition: Definition, mocks: unknown): Record<string, unknown> | undefined {
  if (mocks === undefined || mocks === null) return undefined;
  if (typeof mocks !== 'object' || Array.isArray(mocks)) {
    throw new BadUserInputError('mocks must be an object of outputs by step id', [{ path: '/mocks', message: 'is not an object' }]);
  }
  const errors: FieldError[] = [];
  for (const [id, mock] of Object.entries(mocks)) {
    const at = pointerJoin('/mocks', id);
    const step = Object.hasOwn(definition.steps, id) ? definition.steps[id]! : undefined;
    if (!step) errors.push({ path: at, message: `no step "${id}" in "${definition.name}"` });
    else if (!traitsOf(step.type).mockable) errors.push({ path: at, message: `a ${step.type} step runs inside the workflow and calls nothing: it cannot be mocked` });
    else errors.push(...mockOutputErrors(step, mock, at));
  }
  if (errors.length > 0) throw new BadUserInputError('invalid mocks', errors);
  return mocks as Record<string, unknown>;
}

/**
 * What an http step always answers, `{status, headers, body}`: a mock standing in for one must
 * look the same, or expressions reading `$steps.<id>.output.body` would find nothing.
 */
const HTTP_OUTPUT_SCHEMA = {
  type: 'object',
  required: ['status'],
  properties: { status: { type: 'integer', minimum: 100, maximum: 599 }, headers: { type: 'object' }, body: {} },
  additionalProperties: false,
};

/**
 * Violations of the output a mocked step could really produce, located under `at`: the step's own
 * `output` JSON Schema, and an http step's `{status, headers, body}` shape. A mock is the output
 * the run then checks against the schema, so a bad one would only fail later, as a ContractViolation.
 */
function mockOutputErrors(step: Step, mock: unknown, at: string): FieldError[] {
  const shape = step.type === 'http' ? validateAgainstSchema(HTTP_OUTPUT_SCHEMA, mock, 'mock-output:http', at) : [];
  const errors = shape.map((error) => ({ ...error, message: `${error.message} (an http step's output is {status, headers, body})` }));
  if (step.output !== undefined) errors.push(...validateAgainstSchema(step.output, mock ?? null, `mock-output:${sha256OfJson(step.output)}`, at));
  return errors;
}

/** The signal names a definition's `wait` steps wait for, in order of appearance. */
function waitSignals(definition: Definition): string[] {
  const names = new Set<string>();
  for (const { step } of walkSteps(definition.steps)) if (step.type === 'wait') names.add(step.signal);
  return [...names];
}
