import {
  ApplicationFailure,
  ChildWorkflowFailure,
  ParentClosePolicy,
  executeChild,
  patched,
  proxyActivities,
  proxyLocalActivities,
  uuid4,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { CustomStepCall } from '../activities/custom-step.activity';
import type { HttpRequest, HttpResponse } from '../activities/http.activity';
import { parseDuration } from '../definition/duration';
import type { ActionCall } from './action-runner';
import { localHttpActivity } from './local-http';
import type { RunContext } from './run-context';
import { libraryKey, type RunSnapshot } from './run-types';
import { SEARCH_ATTRIBUTES } from './search-attributes';
import { nonRetryable, toErrorInfo } from './step-failure';
import { withActivityLogs } from './step-logs';

/** Per-attempt timeout of an activity step when neither the step nor `defaults` set one. */
export const DEFAULT_TIMEOUT = '30s';
/** Deepest chain of runs started by `workflow` steps: a run started by a trigger is depth 1. */
export const MAX_WORKFLOW_DEPTH = 3;

const CHECK_OPTIONS = { startToCloseTimeout: '15s', retry: { maximumAttempts: 5 } } as const;
const checks = proxyLocalActivities<Activities>(CHECK_OPTIONS);

/**
 * Performs the actions a step, a compensation or a `map` item can take beyond the workflow
 * itself: an HTTP request or a custom step (activities, one attempt each: callers own retries),
 * a child run of another definition, and JSON Schema checks (a local activity, as ajv cannot run
 * in the workflow sandbox).
 */
export class StepActions {
  /**
   * @param taskQueue where its activities run (a worker pool, see `step-queue.ts`); the run's
   *   own queue when absent
   */
  constructor(
    private readonly context: RunContext,
    private readonly taskQueue?: string,
  ) {}

  /**
   * These actions with activities on `taskQueue`; with none, these actions as they are (a step in
   * a map item's inline graph that names no queue runs where the map step's items run).
   */
  on(taskQueue: string | undefined): StepActions {
    return taskQueue === undefined || taskQueue === this.taskQueue ? this : new StepActions(this.context, taskQueue);
  }

  /**
   * One attempt of an action: an HTTP request or a custom step (an activity with the call's
   * timeout), or a child run. Every step, compensation and `map` item runs its actions here, one
   * attempt per call, inside {@link runAttempts}.
   */
  run(call: ActionCall): Promise<unknown> {
    switch (call.type) {
      case 'http':
        return this.http(call.request, call.timeout, call.what, call.local);
      case 'workflow':
        return this.childRun(call.what, call.reference, call.input);
      case 'custom':
        return this.custom(call.call, call.timeout, call.what);
      case 'code':
        return this.activities(call.timeout, `${call.what}: code`).runCodeStep({ ...call.call, tenantId: this.context.tenantId, runId: this.context.runId });
    }
  }

  /**
   * One attempt of an HTTP request.
   * @param what the step it is for (`charge`, `charge (compensate)`, `items[3]`): Temporal's UI
   *   shows it with the method as the activity's summary. Ids and names only: a summary is encoded
   *   like a payload (the UI decodes it through the codec endpoint), but it says what, not with what.
   * @param local run it as a local activity (the step's `"local": true`, see `localHttpActivity`)
   */
  http(request: HttpRequest, timeout: string | undefined, what?: string, local?: boolean): Promise<HttpResponse> {
    const summary = what && `${what}: http ${request.method.toUpperCase()}`;
    const call = local === true ? localHttpActivity(timeout, this.context.defaults?.timeout, summary) : this.activities(timeout, summary).httpRequest;
    return call({ ...request, tenantId: this.context.tenantId });
  }

  custom(call: Omit<CustomStepCall, 'tenantId' | 'runId'>, timeout: string | undefined, what?: string): Promise<unknown> {
    // Runs recorded before activity logs replay a result that is the output alone.
    const logs = patched('trellis-step-logs');
    const result = this.activities(timeout, what && `${what}: ${call.type}`).runCustomStep({ ...call, tenantId: this.context.tenantId, runId: this.context.runId, ...(logs ? { logs: true as const } : {}) });
    return logs ? result.then(withActivityLogs) : result;
  }

  /**
   * Runs a pinned definition as a child run (its own run id, audit trail and Temporal workflow)
   * and returns its output. Refuses to go deeper than {@link MAX_WORKFLOW_DEPTH}.
   * @param by the step (or `step[index]` of a map) starting it, recorded in the child's trigger
   */
  async childRun(by: string, reference: { definition: string; version?: number | 'latest' }, input: unknown): Promise<unknown> {
    const { context } = this;
    const pinned = context.library[libraryKey(reference.definition, reference.version)];
    if (!pinned) {
      throw nonRetryable(`sub-workflow "${libraryKey(reference.definition, reference.version)}" was not pinned when the run started`, 'SubWorkflowMissing');
    }
    if (context.depth + 1 > MAX_WORKFLOW_DEPTH) {
      throw nonRetryable(`sub-workflow "${pinned.name}" would run at depth ${context.depth + 1}; the limit is ${MAX_WORKFLOW_DEPTH}`, 'DepthLimit');
    }
    if (pinned.definition.input !== undefined) {
      await this.checkSchema(pinned.definition.input, input ?? {}, `input of sub-workflow "${pinned.name}" v${pinned.version}`, 'InputContractViolation');
    }
    const runId = uuid4();
    const snapshot: RunSnapshot = {
      runId,
      tenantId: context.tenantId,
      definitionName: pinned.name,
      definitionVersion: pinned.version,
      definition: pinned.definition,
      input: input ?? {},
      trigger: { type: 'workflow', id: context.runId, stepId: by },
      requestedAt: new Date().toISOString(),
      library: context.library,
      depth: context.depth + 1,
      // The parent pinned the variables of every sub-workflow it can reach.
      ...(context.variables ? { variables: context.variables } : {}),
      ...(context.stepQueues ? { stepQueues: context.stepQueues } : {}),
    };
    try {
      const result = await executeChild('trellisRun', {
        workflowId: `${context.tenantId}/${pinned.name}/${runId}`,
        taskQueue: workflowInfo().taskQueue,
        args: [snapshot],
        // A parent that stops asks its children to stop too, so they roll back their own work.
        parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
        // Temporal's UI names the child by the step that started it and what it runs.
        staticSummary: `${by}: ${pinned.name} v${pinned.version}`,
        typedSearchAttributes: [
          { key: SEARCH_ATTRIBUTES.definition, value: pinned.name },
          { key: SEARCH_ATTRIBUTES.version, value: pinned.version },
          { key: SEARCH_ATTRIBUTES.tenant, value: context.tenantId },
          { key: SEARCH_ATTRIBUTES.trigger, value: 'workflow' },
        ],
      });
      return (result as { output?: unknown }).output ?? null;
    } catch (err) {
      if (err instanceof ChildWorkflowFailure && err.cause instanceof ApplicationFailure) {
        const info = toErrorInfo(err.cause);
        const details = err.cause.details?.[0] as { status?: string } | undefined;
        throw ApplicationFailure.create({
          message: `sub-workflow "${pinned.name}" run ${runId} ended ${details?.status ?? 'FAILED'}: ${info.message}`,
          type: 'SubWorkflowFailed',
          nonRetryable: true,
          details: [{ runId, definition: pinned.name, version: pinned.version, status: details?.status ?? 'FAILED' }],
        });
      }
      throw err;
    }
  }

  /**
   * Checks `value` against a JSON Schema.
   * @throws a non-retryable failure of `type` listing every violation with its JSON pointer.
   */
  async checkSchema(schema: Record<string, unknown>, value: unknown, what: string, type: string): Promise<void> {
    const errors = await checks.checkJsonSchema.executeWithOptions({ ...CHECK_OPTIONS, summary: `check ${what}` }, [{ schema, value }]);
    if (errors.length === 0) return;
    const list = errors.map((error) => `${error.path || '/'} ${error.message}`).join('; ');
    throw nonRetryable(`${what} does not match its schema: ${list}`, type, { errors });
  }

  private activities(timeout: string | undefined, summary: string | undefined) {
    const chosen = timeout ?? this.context.defaults?.timeout ?? DEFAULT_TIMEOUT;
    return proxyActivities<Activities>({
      ...(summary === undefined ? {} : { summary }),
      ...(this.taskQueue === undefined ? {} : { taskQueue: this.taskQueue }),
      startToCloseTimeout: parseDuration(chosen) ?? parseDuration(DEFAULT_TIMEOUT)!,
      // The interpreter retries, not Temporal: every attempt then has its own audit events.
      retry: { maximumAttempts: 1 },
    });
  }
}
