import { CancellationScope, isCancellation, patched, sleep } from '@temporalio/workflow';
import type { HttpAction, MapAction, Step, WorkflowAction } from '../definition/definition-schema';
import { customStepConfig } from '../definition/custom-step-type';
import { MAX_TIMER_MS, parseDuration } from '../definition/duration';
import { setOwn } from '../definition/prototype-keys';
import { STEP_TYPES } from '../definition/step-types';
import { evaluateTemplate } from '../definition/template';
import { evaluateTemplateSync } from '../definition/template-plan';
import { deferSecretTemplates, type DeferredTemplates } from './deferred-templates';
import { GraphScheduler } from './graph-scheduler';
import { resolveHttpRequest } from './http-request';
import { runMap, type MapJob } from './map-step';
import { effectivePolicy, retryDelay, withPolicy } from './retry-policy';
import { runBindings, type RunContext, type StepBinding } from './run-context';
import type { AuditEventInput, ErrorInfo, ReusedOutputs } from './run-types';
import type { SignalInbox } from './signal-inbox';
import type { StepActions } from './step-actions';
import { StepFailure, nonRetryable, toErrorInfo } from './step-failure';
import { WorkflowTaskBudget } from './workflow-task-budget';

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
/** Items a `map` step runs at once when it does not set `maxConcurrency`. */
export const DEFAULT_MAP_CONCURRENCY = 10;

const BUILT_IN_TYPES: ReadonlySet<string> = new Set(STEP_TYPES);

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

  private emit(event: GraphEvent): Promise<void> {
    return this.options.emit?.(event) ?? Promise.resolve();
  }

  /** Runs one step to a settled state. Never rejects: an unhandled rejection would fail the workflow task. */
  private async execute(id: string): Promise<void> {
    const step = this.scheduler.step(id);
    try {
      if (step.type !== 'condition' && step.if !== undefined) {
        const guard = this.options.syncExpressions ? this.evaluate(step.if) : await this.evaluate(step.if);
        if (typeof guard !== 'boolean') {
          throw nonRetryable(`guard "if" evaluated to ${JSON.stringify(guard ?? null)}, not a boolean`, 'ExpressionError');
        }
        if (!guard) {
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
      await this.emit({ type: 'STEP_SUCCEEDED', stepId: id, stepType: step.type, stepStatus: 'SUCCEEDED', attempt, output, ...mocked });
    } catch (err) {
      if (isCancellation(err)) {
        this.scheduler.markCancelled(id);
        const why = this.failure ? `cancelled because step "${this.failure.stepId}" failed` : (this.stopReason ?? 'cancelled with the run');
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
      if ((step.onError ?? 'fail') === 'fail' && !this.failure) {
        this.failure = failure;
        // A step failed for good: nothing new starts and running siblings are cancelled.
        this.scope.cancel();
      }
    }
  }

  /** Runs the attempts of a step; each attempt is audited, retries follow the step's policy. */
  private async withRetries(id: string, step: Step): Promise<unknown> {
    const policy = effectivePolicy(this.options.context.defaults, step.retry);
    const retries = step.type === 'http' || !BUILT_IN_TYPES.has(step.type);
    const maxAttempts = retries ? policy.maxAttempts : 1;
    for (let attempt = 1; ; attempt++) {
      this.scheduler.markRunning(id, attempt);
      let input: unknown;
      let unresolvable: unknown;
      try {
        if (this.options.syncExpressions) {
          input = this.resolveInputSync(id, step);
          if (input instanceof Promise) input = await input;
        } else {
          input = await this.resolveInput(id, step);
        }
      } catch (err) {
        unresolvable = err;
      }
      await this.emit({ type: 'STEP_STARTED', stepId: id, stepType: step.type, stepStatus: step.type === 'wait' ? 'WAITING' : 'RUNNING', attempt, input });
      if (unresolvable !== undefined) {
        // Expressions are deterministic: evaluating them again would fail the same way.
        const info: ErrorInfo = { ...toErrorInfo(unresolvable), retryable: false };
        await this.emit({ type: 'STEP_FAILED', stepId: id, stepType: step.type, stepStatus: 'FAILED', attempt, error: info, message: `attempt ${attempt} failed for good: ${info.message}` });
        throw new StepFailure(id, info);
      }
      try {
        return await this.perform(id, step, input, attempt);
      } catch (err) {
        if (isCancellation(err)) throw err;
        const info = toErrorInfo(err);
        const willRetry = info.retryable !== false && attempt < maxAttempts;
        const delay = willRetry ? retryDelay(policy, attempt, info) : 0;
        await this.emit({
          type: 'STEP_FAILED',
          stepId: id,
          stepType: step.type,
          stepStatus: willRetry ? 'RUNNING' : 'FAILED',
          attempt,
          error: { ...info, retryable: willRetry },
          message: willRetry
            ? `attempt ${attempt} of ${maxAttempts} failed; retrying in ${delay} ms`
            : `attempt ${attempt} of ${maxAttempts} failed for good${info.retryable === false ? ' (not retryable)' : ''}`,
        });
        if (!willRetry) throw new StepFailure(id, info);
        await sleep(delay, { summary: `${this.path(id)}: backoff after attempt ${attempt}` });
      }
    }
  }

  /** The step's resolved input: what is hashed into the audit trail and handed to the action. */
  private async resolveInput(id: string, step: Step): Promise<unknown> {
    switch (step.type) {
      case 'http':
        return resolveHttpRequest(step, (value) => this.evaluate(value), this.bindings(), this.key(id));
      case 'transform':
        return this.evaluate(step.value);
      case 'condition':
        return this.evaluate(step.if);
      case 'delay':
        return step.duration !== undefined ? { duration: step.duration } : { until: await this.evaluate(step.until) };
      case 'workflow':
        return { definition: step.definition, version: step.version ?? 'latest', input: (await this.evaluate(step.input)) ?? {} };
      case 'wait':
        return { signal: step.signal, timeout: step.timeout ?? null };
      case 'map': {
        const items = await this.evaluate(step.items);
        if (!Array.isArray(items)) throw nonRetryable(`items evaluated to ${JSON.stringify(items ?? null)?.slice(0, 100)}, not an array`, 'ExpressionError');
        return { items, maxConcurrency: step.maxConcurrency ?? DEFAULT_MAP_CONCURRENCY };
      }
      default: {
        const config = customStepConfig(step as Record<string, unknown>);
        const { value, deferred } = deferSecretTemplates(config, this.bindings());
        return { config: await this.evaluate(value), ...(deferred ? { deferred } : {}) };
      }
    }
  }

  /**
   * {@link resolveInput} with the synchronous evaluator: no promise unless the step needs one
   * (an http request's secret-bearing strings are sorted out asynchronously).
   */
  private resolveInputSync(id: string, step: Step): unknown {
    switch (step.type) {
      case 'http':
        return resolveHttpRequest(step, (value) => this.evaluate(value), this.bindings(), this.key(id));
      case 'transform':
        return this.evaluate(step.value);
      case 'condition':
        return this.evaluate(step.if);
      case 'delay':
        return step.duration !== undefined ? { duration: step.duration } : { until: this.evaluate(step.until) };
      case 'workflow':
        return { definition: step.definition, version: step.version ?? 'latest', input: this.evaluate(step.input) ?? {} };
      case 'wait':
        return { signal: step.signal, timeout: step.timeout ?? null };
      case 'map': {
        const items = this.evaluate(step.items);
        if (!Array.isArray(items)) throw nonRetryable(`items evaluated to ${JSON.stringify(items ?? null)?.slice(0, 100)}, not an array`, 'ExpressionError');
        return { items, maxConcurrency: step.maxConcurrency ?? DEFAULT_MAP_CONCURRENCY };
      }
      default: {
        const config = customStepConfig(step as Record<string, unknown>);
        const { value, deferred } = deferSecretTemplates(config, this.bindings());
        return { config: this.evaluate(value), ...(deferred ? { deferred } : {}) };
      }
    }
  }

  private async perform(id: string, step: Step, input: unknown, attempt: number): Promise<unknown> {
    const { actions, mocks } = this.options;
    if (mocks && Object.hasOwn(mocks, id)) return mocks[id];
    switch (step.type) {
      case 'http':
        return actions.http(input as Parameters<StepActions['http']>[0], step.timeout, this.path(id), step.local);
      case 'transform':
        return input;
      case 'condition': {
        if (typeof input !== 'boolean') {
          throw nonRetryable(`condition "if" evaluated to ${JSON.stringify(input ?? null)}, not a boolean`, 'ExpressionError');
        }
        // The scheduler reads the branch taken from this output.
        return { result: input, branch: input ? 'then' : 'else' };
      }
      case 'delay':
        return delay(input as { duration: string } | { until: unknown }, this.path(id));
      case 'workflow': {
        const resolved = input as { input: unknown };
        return actions.childRun(this.path(id), step, resolved.input);
      }
      case 'wait':
        return this.wait(id, step.signal, step.timeout);
      case 'map': {
        const { items, maxConcurrency } = input as { items: unknown[]; maxConcurrency: number };
        const job: MapJob = { context: this.options.context, stepId: id, action: step.do, outerSteps: this.bindings().steps as Record<string, StepBinding>, keyPrefix: this.options.keyPrefix };
        const progress = this.options.progress;
        return runMap(job, items, maxConcurrency, itemRunner(job, actions, this.options.syncExpressions), progress && ((done, total) => progress(id, done, total)));
      }
      default: {
        // A step type registered by the deployment, run by the worker's `runCustomStep` activity.
        const custom = step as { type: string; timeout?: string };
        const resolved = input as { config: Record<string, unknown>; deferred?: DeferredTemplates };
        return actions.custom({ type: custom.type, stepId: id, attempt, idempotencyKey: this.key(id), ...resolved }, custom.timeout, this.path(id));
      }
    }
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

async function delay(input: { duration: string } | { until: unknown }, what: string): Promise<unknown> {
  if ('duration' in input) {
    const ms = parseDuration(input.duration);
    if (ms === undefined) throw nonRetryable(`invalid duration "${input.duration}"`, 'InvalidDuration');
    // Definitions saved before durations had a maximum; Temporal would refuse a timer past 100
    // years and retry the workflow task forever. Runs that waited that long replay as they did.
    if (ms > MAX_TIMER_MS && patched('trellis-timer-limit')) {
      throw nonRetryable(`duration "${input.duration}" is longer than 365 days, the most a delay may take`, 'InvalidDuration');
    }
    await sleep(ms, { summary: `${what}: delay ${input.duration}` });
    return { waitedMs: ms };
  }
  const until = typeof input.until === 'number' ? input.until : Date.parse(String(input.until));
  if (Number.isNaN(until)) throw nonRetryable(`"until" evaluated to ${JSON.stringify(input.until)}, not a timestamp`, 'InvalidTimestamp');
  const ms = Math.max(0, until - Date.now());
  if (ms > MAX_TIMER_MS && patched('trellis-timer-limit')) {
    const when = Math.abs(until) <= 8.64e15 ? new Date(until).toISOString() : String(until);
    throw nonRetryable(`"until" evaluated to ${when}, more than 365 days ahead: the most a delay may wait`, 'InvalidTimestamp');
  }
  if (ms > 0) await sleep(ms, { summary: `${what}: delay until ${new Date(until).toISOString()}` });
  return { until: new Date(until).toISOString(), waitedMs: ms };
}

/**
 * How one item of a `map` step runs: its `http` action (retried by its policy, not audited per
 * item), its `workflow` action (a child run), or its inline graph (a nested {@link GraphRunner}
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
        if (action.type === 'http') {
          const request = await resolveHttpRequest(action, evaluate, bindings, itemKey);
          const policy = effectivePolicy(context.defaults, action.retry);
          return await withPolicy(policy, () => actions.http(request, action.timeout, itemPath, action.local), (info) => failed(info), itemPath);
        }
        return await actions.childRun(itemPath, action, (await evaluate(action.input)) ?? {});
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

