import { CancellationScope, isCancellation, patched } from '@temporalio/workflow';
import type { HttpAction, MapAction, MapStep, Step, WorkflowAction } from '../definition/definition-schema';
import { parseDuration } from '../definition/duration';
import { setOwn } from '../definition/prototype-keys';
import { STEP_TRAITS, traitsOf } from '../definition/step-traits';
import { evaluateTemplate } from '../definition/template';
import { evaluateTemplateSync } from '../definition/template-plan';
import { runAction, runAttempts, SettledFailure, type ActionCall } from './action-runner';
import { actionRules, attemptRules, cancellationReason, failureStopsGraph, guardDecision, unresolvableInput } from './attempt-decisions';
import { GraphScheduler } from './graph-scheduler';
import { resolveHttpRequest } from './http-request';
import { legacyStepInput } from './legacy-step-input';
import { runMap, type MapJob } from './map-step';
import { effectivePolicy } from './retry-policy';
import { runBindings, type RunContext, type StepBinding } from './run-context';
import type { AuditEventInput, ErrorInfo, ReusedOutputs } from './run-types';
import type { SignalInbox } from './signal-inbox';
import type { StepActions } from './step-actions';
import { StepFailure, nonRetryable, toErrorInfo } from './step-failure';
import { handlerOf, type StepEnv } from './step-handlers';
import { WorkflowTaskBudget } from './workflow-task-budget';
import { StepLogBuffer } from './step-logs';
import { stepQueue } from './step-queue';

export { DEFAULT_MAP_CONCURRENCY } from './step-handlers';

/**
 * Largest step output, in characters of JSON. Outputs travel through Temporal history (2 MB per
 * payload) as later steps' inputs, so a larger one fails its step here, early and clearly.
 */
export const MAX_OUTPUT_CHARS = 1024 * 1024;
/**
 * Evaluation steps one template may take inside the workflow with the legacy (asynchronous)
 * evaluator, which runs started before `trellis-sync-expressions` still use: in Temporal's
 * workflow sandbox every step of it adds promise and async-hook bookkeeping, and a few tens of
 * thousands of steps overflow the worker thread's async-hook stack (sdk-typescript#939). Runs
 * started since use the synchronous evaluator and `WORKFLOW_EXPRESSION_LIMITS`.
 */
export const MAX_EXPRESSION_STEPS = 5_000;

/**
 * Whether this workflow execution evaluates templates with the synchronous engine (jsonata 2.x
 * semantics, RE2 regexes, budgets out of expressions' reach, one budget shared by the evaluations
 * of each workflow task; see `definition/template-plan.ts`): the budget to share when it does.
 * Asked once at the start of each execution (trellisRun, trellisMapBatch): runs recorded before
 * replay with the asynchronous evaluator they ran with.
 */
export function syncExpressionBudget(): WorkflowTaskBudget | undefined {
  return patched('trellis-sync-expressions') ? new WorkflowTaskBudget() : undefined;
}
/** An audit event as a graph emits it; the run fills in run id, tenant, time and actor. */
export type GraphEvent = Omit<AuditEventInput, 'runId' | 'tenantId' | 'at' | 'actor'>;

export type GraphRunnerOptions = {
  steps: Record<string, Step>;
  context: RunContext;
  actions: StepActions;
  /** Records an audit event before the graph moves on. The graphs of `map` items record none. */
  emit?: (event: GraphEvent) => Promise<void>;
  /** Steps of the enclosing graphs, and the `map` item this graph runs for. */
  outer?: { steps: Record<string, StepBinding>; item: unknown; index: number };
  /** Prefix of the idempotency keys of this graph's steps: `<run id>:`, or `<run id>:<map step>[<index>].` */
  keyPrefix: string;
  /** Where `wait` steps take their signals; absent inside `map` items. */
  inbox?: SignalInbox;
  /** Outputs standing in for steps of this graph, by step id (a `testRun`). */
  mocks?: Record<string, unknown>;
  /** When set, templates are evaluated synchronously within this budget (see {@link syncExpressionBudget}). */
  syncExpressions?: WorkflowTaskBudget;
  /** Told how far a `map` step run in batch workflows is; the run's own graph only. */
  progress?: (stepId: string, done: number, total: number) => void;
};

/**
 * Runs one graph of steps to a settled state: the run's own graph, or a `map` item's inline
 * graph. It drives {@link GraphScheduler}: starts every step whose needs are settled, evaluates
 * `transform` and `condition` in the workflow, runs the rest as activities, timers, signals,
 * child runs and `map` fan-outs, audits every attempt, and on a step's failure for good stops
 * starting steps and cancels the running ones. Rolling back is the caller's business.
 */
export class GraphRunner {
  readonly scheduler: GraphScheduler;
  private readonly scope = new CancellationScope();
  /** The step whose failure stopped the graph. */
  failure: StepFailure | undefined;
  /** Why the graph was stopped from outside (see {@link stop}). */
  private stopReason: string | undefined;
  /** Whether this run defers command-free steps' audit writes (see defersAudit): asked once. */
  private inlineAudit: boolean | undefined;
  /** Lines attempts logged, recorded just before their step's next event. */
  private readonly logs = new StepLogBuffer();

  constructor(private readonly options: GraphRunnerOptions) {
    this.scheduler = new GraphScheduler({ steps: options.steps });
  }

  /** Starts no more steps and cancels the running ones, which record `reason` (a run timeout). */
  stop(reason: string): void {
    this.stopReason = reason;
    this.scope.cancel();
  }

  /** Records the reused outputs of an earlier run's steps as this graph's succeeded steps. */
  async restore(reuse: ReusedOutputs): Promise<void> {
    for (const { stepId, output } of reuse.steps) {
      this.scheduler.markSucceeded(stepId, output);
      const stepType = this.scheduler.step(stepId).type;
      await this.emit({ type: 'STEP_SUCCEEDED', stepId, stepType, stepStatus: 'SUCCEEDED', output, message: `reused the output of run ${reuse.runId}` });
    }
  }

  /** Whether the step's output is a mock: it called nothing, and has nothing to compensate. */
  isMocked(id: string): boolean {
    return this.options.mocks !== undefined && Object.hasOwn(this.options.mocks, id);
  }

  async run(): Promise<void> {
    const running = new Map<string, Promise<void>>();
    for (;;) {
      // After a failure or a cancellation nothing new starts; running steps wind down.
      if (!this.failure && !this.scope.consideredCancelled) {
        const { start, skip } = this.scheduler.next();
        for (const { stepId, reason } of skip) await this.skip(stepId, reason);
        if (skip.length > 0) continue;
        for (const id of start) {
          this.scheduler.markRunning(id, 0);
          running.set(id, this.scope.run(() => this.execute(id)).finally(() => running.delete(id)));
        }
      }
      if (running.size === 0) return;
      await Promise.race(running.values());
    }
  }

  /** `$input`, `$steps`, `$run`, `$var` (and `$item`, `$index` in a map item) as expressions see them now. */
  bindings(): Record<string, unknown> {
    const { context, outer } = this.options;
    const steps: Record<string, StepBinding> = { ...outer?.steps };
    for (const [id, state] of this.scheduler.states) setOwn(steps, id, { output: state.output ?? null, status: state.status });
    const bindings: Record<string, unknown> = { ...runBindings(context), steps };
    if (outer) Object.assign(bindings, { item: outer.item, index: outer.index });
    return bindings;
  }

  /**
   * Evaluates templates against {@link bindings}, within the workflow's expression budget: a
   * value with the synchronous evaluator, a promise of it with the legacy one.
   */
  evaluate(value: unknown, bindings = this.bindings()): unknown {
    const { syncExpressions } = this.options;
    if (syncExpressions) return evaluateTemplateSync(value, bindings, { shared: syncExpressions.current() });
    return evaluateTemplate(value, bindings, { maxSteps: MAX_EXPRESSION_STEPS });
  }

  /** The default output of a graph: the outputs of its succeeded sinks, keyed by step id. */
  sinkOutputs(): Record<string, unknown> {
    const output: Record<string, unknown> = {};
    for (const id of this.scheduler.sinks()) {
      const state = this.scheduler.state(id);
      if (state.status === 'SUCCEEDED') setOwn(output, id, state.output);
    }
    return output;
  }

  /**
   * Whether the run goes on without waiting for the audit writes of `step`'s start and success:
   * only for steps whose attempt makes no command (`STEP_TRAITS[type].commands` false: transform,
   * condition, log), in runs that batch their audit writes. Nothing outside the workflow can see
   * the run move on before the next command, and every command is preceded by an awaited event,
   * whose batch commits after the batches before it; so "persisted before the run moves on" still
   * holds, and a chain of such steps costs one batch instead of two per step. A worker lost before
   * the batch commits replays the same steps and writes the same batch (event keys dedupe).
   */
  private defersAudit(step: Step): boolean {
    if (!this.options.syncExpressions || this.options.emit === undefined || traitsOf(step.type).commands) return false;
    this.inlineAudit ??= patched('trellis-inline-audit');
    return this.inlineAudit;
  }

  private emit(event: GraphEvent): Promise<void> {
    const emit = this.options.emit;
    if (!emit) return Promise.resolve();
    // Queued in the same batch as `event`, which is awaited: its write is theirs.
    if (event.stepId !== undefined) for (const line of this.logs.drain(event.stepId)) void emit(line).catch(() => undefined);
    return emit(event);
  }

  /** Runs one step to a settled state. Never rejects: an unhandled rejection would fail the workflow task. */
  private async execute(id: string): Promise<void> {
    const step = this.scheduler.step(id);
    try {
      if (traitsOf(step.type).guard && step.if !== undefined) {
        const guard = this.options.syncExpressions ? this.evaluate(step.if) : await this.evaluate(step.if);
        const decision = guardDecision(guard);
        if (decision === 'not-boolean') {
          throw nonRetryable(`guard "if" evaluated to ${JSON.stringify(guard ?? null)}, not a boolean`, 'ExpressionError');
        }
        if (decision === 'skip') {
          await this.skip(id, 'skipped: guard "if" evaluated to false');
          return;
        }
      }
      const output = await this.withRetries(id, step);
      const attempt = this.scheduler.state(id).attempts;
      const size = JSON.stringify(output ?? null).length;
      if (size > MAX_OUTPUT_CHARS) {
        const info: ErrorInfo = { message: `output of ${size} characters exceeds the limit of ${MAX_OUTPUT_CHARS}`, type: 'OutputTooLarge', retryable: false };
        await this.emit({ type: 'STEP_FAILED', stepId: id, stepType: step.type, stepStatus: 'FAILED', attempt, error: info, message: `failed for good: ${info.message}` });
        throw new StepFailure(id, info);
      }
      if (step.output !== undefined && patched('trellis-output-contracts')) {
        try {
          await this.options.actions.checkSchema(step.output, output ?? null, `output of step "${id}"`, 'ContractViolation');
        } catch (err) {
          const info = toErrorInfo(err);
          await this.emit({ type: 'STEP_FAILED', stepId: id, stepType: step.type, stepStatus: 'FAILED', attempt, error: info, message: `failed for good: ${info.message}` });
          throw new StepFailure(id, info);
        }
      }
      this.scheduler.markSucceeded(id, output);
      const mocked = this.isMocked(id) ? { message: 'mocked: nothing was called' } : {};
      const succeeded = this.emit({ type: 'STEP_SUCCEEDED', stepId: id, stepType: step.type, stepStatus: 'SUCCEEDED', attempt, output, ...mocked });
      if (this.defersAudit(step)) void succeeded.catch(() => undefined);
      else await succeeded;
    } catch (err) {
      if (isCancellation(err)) {
        this.scheduler.markCancelled(id);
        const why = cancellationReason(this.failure?.stepId, this.stopReason);
        await this.emit({ type: 'STEP_FAILED', stepId: id, stepType: step.type, stepStatus: 'CANCELLED', attempt: this.scheduler.state(id).attempts, message: why, error: { message: why, type: 'Cancelled', retryable: false } });
        return;
      }
      let failure: StepFailure;
      if (err instanceof StepFailure) {
        failure = err;
      } else {
        // Failed before any attempt started (its guard): the attempts loop recorded nothing yet.
        failure = new StepFailure(id, { ...toErrorInfo(err), retryable: false });
        await this.emit({ type: 'STEP_FAILED', stepId: id, stepType: step.type, stepStatus: 'FAILED', error: failure.info, message: `failed for good: ${failure.info.message}` });
      }
      this.scheduler.markFailed(id, failure.info);
      if (failureStopsGraph(step.onError) && !this.failure) {
        this.failure = failure;
        // A step failed for good: nothing new starts and running siblings are cancelled.
        this.scope.cancel();
      }
    }
  }

  /**
   * Runs the attempts of a step through {@link runAttempts}: each attempt resolves the step's
   * input and is audited (STEP_STARTED, then STEP_FAILED when it fails); retries follow the
   * step's policy when its type retries (see `STEP_TRAITS`).
   */
  private withRetries(id: string, step: Step): Promise<unknown> {
    const traits = traitsOf(step.type);
    const rules = attemptRules(traits, effectivePolicy(this.options.context.defaults, step.retry));
    const env = this.env(id);
    const audit = { stepId: id, stepType: step.type } as const;
    return runAttempts(
      {
        rules,
        what: env.path,
        failed: (decision, attempt) =>
          this.emit({ type: 'STEP_FAILED', ...audit, stepStatus: decision.stepStatus, attempt, error: decision.error, message: decision.message }),
        fail: (info) => new StepFailure(id, info),
      },
      async (attempt) => {
        this.scheduler.markRunning(id, attempt);
        let input: unknown;
        let unresolvable: unknown;
        try {
          if (this.options.syncExpressions) {
            input = handlerOf(step).input(step, env);
            if (input instanceof Promise) input = await input;
          } else {
            input = await legacyStepInput(step, env);
          }
        } catch (err) {
          unresolvable = err;
        }
        const started = this.emit({ type: 'STEP_STARTED', ...audit, stepStatus: traits.startStatus, attempt, input });
        if (this.defersAudit(step)) void started.catch(() => undefined);
        else await started;
        if (unresolvable !== undefined) {
          const decision = unresolvableInput(attempt, toErrorInfo(unresolvable));
          await this.emit({ type: 'STEP_FAILED', ...audit, stepStatus: decision.stepStatus, attempt, error: decision.error, message: decision.message });
          throw new SettledFailure(new StepFailure(id, decision.error));
        }
        try {
          return this.logs.take(id, step.type, attempt, await this.perform(id, step, input, attempt, env));
        } catch (err) {
          if (!isCancellation(err)) this.logs.takeFailure(id, step.type, attempt, err);
          throw err;
        }
      },
    );
  }

  private async perform(id: string, step: Step, input: unknown, attempt: number, env: StepEnv): Promise<unknown> {
    const { mocks } = this.options;
    if (mocks && Object.hasOwn(mocks, id)) return mocks[id];
    return handlerOf(step).perform(step, input, env, attempt);
  }

  /** What the step's handler may use of this graph. */
  private env(id: string): StepEnv {
    const key = this.key(id);
    return {
      actions: this.options.actions.on(stepQueue(this.scheduler.step(id), this.options.context)),
      id,
      key,
      path: this.path(id),
      evaluate: (value) => this.evaluate(value),
      bindings: () => this.bindings(),
      emit: (event) => this.emit({ ...event, stepId: id, stepType: this.scheduler.step(id).type }),
      wait: (signal, timeout) => this.wait(id, signal, timeout),
      map: (step, items, maxConcurrency) => this.map(id, step, items, maxConcurrency),
      graph: this.options.steps,
    };
  }

  private map(id: string, step: MapStep, items: unknown[], maxConcurrency: number): Promise<unknown[]> {
    const { context, keyPrefix, progress, syncExpressions } = this.options;
    const queue = stepQueue(step, context);
    const actions = this.options.actions.on(queue);
    const job: MapJob = { context, stepId: id, action: step.do, outerSteps: this.bindings().steps as Record<string, StepBinding>, keyPrefix, ...(queue === undefined ? {} : { taskQueue: queue }) };
    return runMap(job, items, maxConcurrency, itemRunner(job, actions, syncExpressions), progress && ((done, total) => progress(id, done, total)));
  }

  private async wait(id: string, signal: string, timeout: string | undefined): Promise<unknown> {
    const inbox = this.options.inbox;
    if (!inbox) throw nonRetryable('a wait step cannot run inside a map item', 'UnsupportedStep');
    const ms = timeout === undefined ? undefined : parseDuration(timeout);
    const delivery = await inbox.take(signal, ms, `${this.path(id)}: waits for "${signal}"`);
    if (!delivery) throw nonRetryable(`no "${signal}" signal arrived within ${timeout}`, 'WaitTimedOut');
    await this.emit({
      type: 'SIGNAL_RECEIVED',
      stepId: id,
      stepType: 'wait',
      output: delivery.payload,
      message: `signal "${signal}" from ${delivery.actor.type} ${delivery.actor.id}`,
    });
    return delivery.payload ?? null;
  }

  private key(id: string): string {
    return `${this.options.keyPrefix}${id}`;
  }

  /** The step's path in the run (`charge`, `items[3].fetch`): what Temporal's UI names its work by. */
  private path(id: string): string {
    return this.key(id).slice(this.options.context.runId.length + 1);
  }

  private async skip(id: string, reason: string): Promise<void> {
    this.scheduler.markSkipped(id);
    await this.emit({ type: 'STEP_SKIPPED', stepId: id, stepType: this.scheduler.step(id).type, stepStatus: 'SKIPPED', message: reason });
  }
}

/**
 * How one item of a `map` step runs: its `http` or `workflow` action through {@link runAction}
 * (retried by its own policy, as compensations are; not audited per item), or its inline graph (a nested {@link GraphRunner}
 * whose result is the graph's `output`, by default its sinks' outputs).
 */
export function itemRunner(job: MapJob, actions: StepActions, syncExpressions?: WorkflowTaskBudget): (item: unknown, index: number) => Promise<unknown> {
  const { context, stepId, action } = job;
  return async (item, index) => {
    const itemKey = `${job.keyPrefix}${stepId}[${index}]`;
    const itemPath = itemKey.slice(context.runId.length + 1);
    const bindings = { ...runBindings(context), steps: job.outerSteps, item, index };
    const evaluate = (value: unknown): unknown =>
      syncExpressions ? evaluateTemplateSync(value, bindings, { shared: syncExpressions.current() }) : evaluateTemplate(value, bindings, { maxSteps: MAX_EXPRESSION_STEPS });
    const failed = (info: ErrorInfo): StepFailure => new StepFailure(stepId, { ...info, message: `item ${index}: ${info.message}`, details: { index, ...(info.details ? { cause: info.details } : {}) } });
    try {
      if (isAction(action)) {
        if (action.if !== undefined && (await evaluate(action.if)) === false) return null;
        const policy = effectivePolicy(context.defaults, action.retry);
        // The last attempt's error: nothing else retries the item.
        const fail = (info: ErrorInfo): StepFailure => failed({ ...info, retryable: false });
        if (action.type === 'http') {
          const request = await resolveHttpRequest(action, evaluate, bindings, itemKey);
          const call: ActionCall = { type: 'http', request, timeout: action.timeout, what: itemPath, local: action.local };
          return await runAction(actions, call, { rules: actionRules(policy), what: itemPath, fail });
        }
        const call: ActionCall = { type: 'workflow', reference: action, input: (await evaluate(action.input)) ?? {}, what: itemPath };
        // Runs started before one action runner ran a workflow action once, whatever its `retry`
        // (a compensation's was honoured), and reported the child's error as it was.
        if (patched('trellis-one-action-runner')) return await runAction(actions, call, { rules: actionRules(policy), what: itemPath, fail });
        return await runAction(actions, call, { rules: attemptRules(STEP_TRAITS.workflow, policy), what: itemPath, fail: (info) => failed(info) });
      }
      const graph = new GraphRunner({ steps: action.steps, context, actions, outer: { steps: job.outerSteps, item, index }, keyPrefix: `${itemKey}.`, syncExpressions });
      await graph.run();
      if (graph.failure) throw failed({ ...graph.failure.info, message: `step "${graph.failure.stepId}" failed: ${graph.failure.info.message}` });
      return action.output !== undefined ? await graph.evaluate(action.output) : graph.sinkOutputs();
    } catch (err) {
      if (isCancellation(err) || err instanceof StepFailure) throw err;
      throw failed(toErrorInfo(err));
    }
  };
}

function isAction(action: MapAction): action is HttpAction | WorkflowAction {
  return 'type' in action;
}

