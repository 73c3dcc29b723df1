import { randomUUID } from 'node:crypto';
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { Kysely } from 'kysely';
import type { Definition } from '../../definition/definition-schema';
import { cancelRequestedSignal, runSignal, type CancelRequest } from '../../interpreter/signals';
import type { trellisRun } from '../../interpreter/workflows';
import type { Actor, RunSnapshot } from '../../interpreter/run-types';
import type { Database, RunRow } from '../db/database';
import { findDefinition, findVersion } from '../db/definitions.repository';
import { findRun, findRunByIdempotencyKey, insertRun, setTemporalRunId } from '../db/runs.repository';
import { BadUserInputError, ConflictError, NotFoundError } from '../errors';
import { walkSteps } from '../../definition/definition-walk';
import { pinSubWorkflows } from '../definitions/sub-workflows';
import type { StepTypeDefinition } from '../step-types/define-step-type';
import { canonicalJson } from '../support/canonical-json';
import { SEARCH_ATTRIBUTES } from '../temporal/search-attributes';
import { validateAgainstSchema } from '../support/json-schema';

export type StartRunRequest = {
  definition: string;
  /** A version number; the latest version when omitted. */
  version?: number | null;
  input?: unknown;
  idempotencyKey?: string | null;
  trigger: Actor;
};

export type RunServiceOptions = { db: Kysely<Database>; client: Client; taskQueue: string; stepTypes?: readonly StepTypeDefinition[] };

/** A `signalRun` request: the signal a `wait` step waits for, and its payload (the step's output). */
export type SignalRequest = { signal: string; payload?: unknown; actor: Actor };

/** Readable, unique Temporal workflow id of a run (SPEC §3). */
export function workflowIdOf(tenantId: string, definition: string, runId: string): string {
  return `${tenantId}/${definition}/${runId}`;
}

/** Starts and cancels runs: the only place that turns a trigger into a Temporal workflow. */
export class RunService {
  constructor(private readonly options: RunServiceOptions) {}

  /**
   * Pins the definition version, validates the input against its input schema, records the run
   * and starts the interpreter workflow with the snapshot. A repeated `idempotencyKey` returns
   * the run it first started (and makes sure that run really was started).
   * @throws ConflictError when a repeated `idempotencyKey` comes with another input or version
   * @throws NotFoundError when the definition or version does not exist
   * @throws BadUserInputError listing every input violation, or when the definition is archived
   */
  async startRun(tenantId: string, request: StartRunRequest): Promise<RunRow> {
    const { db } = this.options;
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
    if (definition.input !== undefined) {
      const cacheKey = `${tenantId}/${versionRow.name}@${versionRow.version}`;
      const errors = validateAgainstSchema(definition.input, input, cacheKey);
      if (errors.length > 0) throw new BadUserInputError(`input does not match the input schema of "${versionRow.name}" v${versionRow.version}`, errors);
    }
    // Pinned before the run exists, so a run never starts that could not reach its sub-workflows.
    const pinnedNow = await pinSubWorkflows(db, tenantId, { name: versionRow.name, definition });
    // A repeat of a started run returns that run, whatever its sub-workflows have become since.
    const isRepeat = async (): Promise<boolean> =>
      !!request.idempotencyKey && (await findRunByIdempotencyKey(db, tenantId, versionRow.name, request.idempotencyKey)) !== undefined;
    if (pinnedNow.errors.length > 0 && !(await isRepeat())) {
      throw new BadUserInputError(`"${versionRow.name}" v${versionRow.version} cannot start: its sub-workflows changed since it was saved`, pinnedNow.errors);
    }
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
    });
    const otherVersion = request.version != null && row.definition_version !== request.version;
    if (!created && (otherVersion || canonicalJson(row.input) !== canonicalJson(input))) {
      throw new ConflictError(
        `idempotencyKey "${request.idempotencyKey}" was already used for run ${row.id} with a different input or version`,
      );
    }
    if (!created && row.temporal_run_id) return row;
    // A new run, or a repeat of one whose start may not have reached Temporal (a crash between
    // the insert and the start): starting is idempotent on the workflow id.
    const pinned = created ? versionRow : await findVersion(db, tenantId, row.definition_name, row.definition_version);
    const pinnedDefinition = pinned!.spec as Definition;
    const library = created ? pinnedNow.library : (await pinSubWorkflows(db, tenantId, { name: row.definition_name, definition: pinnedDefinition })).library;
    const snapshot: RunSnapshot = {
      runId: row.id,
      tenantId,
      definitionName: row.definition_name,
      definitionVersion: row.definition_version,
      definition: pinnedDefinition,
      library,
      depth: 1,
      input: row.input,
      trigger: row.trigger as Actor,
      requestedAt: row.started_at.toISOString(),
    };
    const temporalRunId = await this.startWorkflow(row.workflow_id, snapshot);
    // Undefined when the workflow had already been started, by a concurrent repeat of this call.
    if (temporalRunId) return setTemporalRunId(db, row.id, temporalRunId);
    return (await findRun(db, tenantId, row.id))!;
  }

  /**
   * Requests cancellation of a run. The interpreter cancels running steps and records
   * RUN_CANCELLED with who asked and why; a run that already finished is returned unchanged.
   * @throws NotFoundError when the tenant has no such run
   */
  async cancelRun(tenantId: string, runId: string, request: CancelRequest): Promise<RunRow> {
    const run = await findRun(this.options.db, tenantId, runId);
    if (!run) throw new NotFoundError(`run "${runId}"`);
    if (run.status === 'RUNNING') {
      const handle = this.options.client.workflow.getHandle(run.workflow_id);
      // Temporal's cancellation carries no reason: the signal, delivered first, does.
      await handle.signal(cancelRequestedSignal, request);
      await handle.cancel();
    }
    return run;
  }

  /**
   * Sends a signal to a run's `wait` steps. Deliveries queue in the run until a step waiting for
   * that name takes them, so a signal may arrive before its step starts.
   * @throws NotFoundError when the tenant has no such run
   * @throws BadUserInputError when the run's definition has no `wait` step for that signal
   * @throws ConflictError when the run has already finished
   */
  async signalRun(tenantId: string, runId: string, request: SignalRequest): Promise<RunRow> {
    const { db, client } = this.options;
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
    if (run.status !== 'RUNNING') throw new ConflictError(`run ${runId} is ${run.status}: only a running run takes signals`);
    try {
      await client.workflow.getHandle(run.workflow_id).signal(runSignal, { signal: request.signal, payload: request.payload ?? null, actor: request.actor });
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) throw new ConflictError(`run ${runId} has finished: only a running run takes signals`);
      throw err;
    }
    return run;
  }

  private async startWorkflow(workflowId: string, snapshot: RunSnapshot): Promise<string | undefined> {
    try {
      const handle = await this.options.client.workflow.start<typeof trellisRun>('trellisRun', {
        taskQueue: this.options.taskQueue,
        workflowId,
        args: [snapshot],
        typedSearchAttributes: [
          { key: SEARCH_ATTRIBUTES.definition, value: snapshot.definitionName },
          { key: SEARCH_ATTRIBUTES.version, value: snapshot.definitionVersion },
          { key: SEARCH_ATTRIBUTES.tenant, value: snapshot.tenantId },
          { key: SEARCH_ATTRIBUTES.trigger, value: snapshot.trigger.type },
        ],
      });
      return handle.firstExecutionRunId;
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) return undefined;
      throw err;
    }
  }
}

/** The signal names a definition's `wait` steps wait for, in order of appearance. */
function waitSignals(definition: Definition): string[] {
  const names = new Set<string>();
  for (const { step } of walkSteps(definition.steps)) if (step.type === 'wait') names.add(step.signal);
  return [...names];
}
