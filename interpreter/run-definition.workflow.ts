import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  CancelledFailure,
  TimeoutFailure,
  isCancellation,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  sleep,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { HttpRequest } from '../activities/http.activity';
import type { CompensateAction, Definition, HttpStep, RetryPolicy, Step } from '../definition/definition-schema';
import { parseDuration } from '../definition/duration';
import type { RunStatus } from '../definition/step-types';
import { evaluateTemplate } from '../definition/template';
import { GraphScheduler } from './graph-scheduler';
import type { AuditEventInput, ErrorInfo, RunSnapshot } from './run-types';
import { cancelRequestedSignal, type CancelRequest } from './signals';

/** What the interpreter workflow returns when a run completes. */
export type RunResult = { status: RunStatus; output: unknown };

/** Used when neither the step nor the definition's `defaults` set a retry policy. */
export const DEFAULT_RETRY: Required<RetryPolicy> = { maxAttempts: 3, initialInterval: '1s', backoffCoefficient: 2, maxInterval: '1m' };
/** Per-attempt timeout of an `http` step when neither the step nor `defaults` set one. */
export const DEFAULT_TIMEOUT = '30s';
/**
 * Largest step output, in characters of JSON. Outputs travel through Temporal history (2 MB per
 * payload) as later steps' inputs, so a larger one fails its step here, early and clearly.
 */
export const MAX_OUTPUT_CHARS = 1024 * 1024;
/**
 * Evaluation steps one template may take inside the workflow. Far lower than the 100,000 the
 * definition package allows elsewhere: in Temporal's workflow sandbox every JSONata step adds
 * promise and async-hook bookkeeping, and a few tens of thousands of steps overflow the worker
 * thread's async-hook stack, which kills the whole worker process (measured with SDK 1.24 on
 * Node 20: crashes from 20,000 steps, once near 10,000 under load; sdk-typescript#939).
 */
export const MAX_EXPRESSION_STEPS = 5_000;

const audit = proxyLocalActivities<Activities>({
  startToCloseTimeout: '15s',
  // No attempt limit: while PostgreSQL is unreachable the run waits here and loses nothing.
  retry: { initialInterval: '500ms', backoffCoefficient: 2, maximumInterval: '30s' },
});

/** A step failed for good; carries what the audit trail and the run's error report. */
class StepFailure extends Error {
  constructor(readonly stepId: string, readonly info: ErrorInfo) {
    super(info.message);
  }
}

/**
 * The one generic workflow that runs any definition. It drives {@link GraphScheduler}: starts
 * every step whose needs are settled, evaluates `transform` and `condition` in the workflow,
 * runs `http` as activities and `delay` as timers, records every transition before moving on,
 * and on a failure cancels running siblings and compensates succeeded steps in reverse order.
 */
export async function trellisRun(snapshot: RunSnapshot): Promise<RunResult> {
  return new RunInterpreter(snapshot).run();
}

class RunInterpreter {
  private readonly definition: Definition;
  private readonly scheduler: GraphScheduler;
  private readonly stepsScope = new CancellationScope();
  private seq = 0;
  private failure: StepFailure | undefined;
  private cancelRequest: CancelRequest | undefined;

  constructor(private readonly snapshot: RunSnapshot) {
    this.definition = snapshot.definition;
    this.scheduler = new GraphScheduler(snapshot.definition);
    setHandler(cancelRequestedSignal, (request) => {
      this.cancelRequest = request;
    });
  }

  async run(): Promise<RunResult> {
    const info = workflowInfo();
    await this.emit({
      type: 'RUN_STARTED',
      runStatus: 'RUNNING',
      input: this.snapshot.input,
      run: {
        definitionName: this.snapshot.definitionName,
        definitionVersion: this.snapshot.definitionVersion,
        input: this.snapshot.input,
        trigger: this.snapshot.trigger,
        workflowId: info.workflowId,
        temporalRunId: info.runId,
        startedAt: new Date(info.startTime).toISOString(),
      },
    });
    await this.runGraph();
    if (CancellationScope.current().consideredCancelled) {
      const by = this.cancelRequest;
      const message = by ? `cancelled by ${by.actor.type} ${by.actor.id}${by.reason ? `: ${by.reason}` : ''}` : 'run cancelled';
      await this.emit({ type: 'RUN_CANCELLED', runStatus: 'CANCELLED', message });
      throw new CancelledFailure('run cancelled');
    }
    if (this.failure) return this.failed(this.failure);
    let output: unknown;
    try {
      output = await this.runOutput();
    } catch (err) {
      return this.failed(new StepFailure('', { ...toErrorInfo(err), message: `run output: ${errorMessage(err)}` }));
    }
    await this.emit({ type: 'RUN_COMPLETED', runStatus: 'COMPLETED', output });
    return { status: 'COMPLETED', output };
  }

  private async runGraph(): Promise<void> {
    const running = new Map<string, Promise<void>>();
    for (;;) {
      // After a failure or a cancellation nothing new starts; running steps wind down.
      if (!this.failure && !this.stepsScope.consideredCancelled) {
        const { start, skip } = this.scheduler.next();
        for (const { stepId, reason } of skip) await this.skip(stepId, reason);
        if (skip.length > 0) continue;
        for (const id of start) {
          this.scheduler.markRunning(id, 0);
          running.set(id, this.stepsScope.run(() => this.execute(id)).finally(() => running.delete(id)));
        }
      }
      if (running.size === 0) return;
      await Promise.race(running.values());
    }
  }

  /** Runs one step to a settled state. Never rejects: an unhandled rejection would fail the workflow task. */
  private async execute(id: string): Promise<void> {
    const step = this.scheduler.step(id);
    try {
      if (step.type !== 'condition' && step.if !== undefined) {
        const guard = await this.evaluate(step.if);
        if (typeof guard !== 'boolean') {
          throw ApplicationFailure.nonRetryable(`guard "if" evaluated to ${JSON.stringify(guard ?? null)}, not a boolean`, 'ExpressionError');
        }
        if (!guard) {
          await this.skip(id, 'skipped: guard "if" evaluated to false');
          return;
        }
      }
      const output = await this.withRetries(id, step);
      const size = JSON.stringify(output ?? null).length;
      if (size > MAX_OUTPUT_CHARS) {
        const info: ErrorInfo = { message: `output of ${size} characters exceeds the limit of ${MAX_OUTPUT_CHARS}`, type: 'OutputTooLarge', retryable: false };
        await this.emit({ type: 'STEP_FAILED', stepId: id, stepType: step.type, stepStatus: 'FAILED', attempt: this.scheduler.state(id).attempts, error: info, message: `failed for good: ${info.message}` });
        throw new StepFailure(id, info);
      }
      this.scheduler.markSucceeded(id, output);
      await this.emit({ type: 'STEP_SUCCEEDED', stepId: id, stepType: step.type, stepStatus: 'SUCCEEDED', attempt: this.scheduler.state(id).attempts, output });
    } catch (err) {
      if (isCancellation(err)) {
        this.scheduler.markCancelled(id);
        const why = this.failure ? `cancelled because step "${this.failure.stepId}" failed` : 'cancelled with the run';
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
        this.stepsScope.cancel();
      }
    }
  }

  /** Runs the attempts of a step; each attempt is audited, retries follow the step's policy. */
  private async withRetries(id: string, step: Step): Promise<unknown> {
    const policy = { ...DEFAULT_RETRY, ...this.definition.defaults?.retry, ...step.retry };
    const maxAttempts = step.type === 'http' ? policy.maxAttempts : 1;
    for (let attempt = 1; ; attempt++) {
      this.scheduler.markRunning(id, attempt);
      let input: unknown;
      let unresolvable: unknown;
      try {
        input = await this.resolveInput(id, step);
      } catch (err) {
        unresolvable = err;
      }
      await this.emit({ type: 'STEP_STARTED', stepId: id, stepType: step.type, stepStatus: 'RUNNING', attempt, input });
      if (unresolvable !== undefined) {
        // Expressions are deterministic: evaluating them again would fail the same way.
        const info: ErrorInfo = { ...toErrorInfo(unresolvable), retryable: false };
        await this.emit({ type: 'STEP_FAILED', stepId: id, stepType: step.type, stepStatus: 'FAILED', attempt, error: info, message: `attempt ${attempt} failed for good: ${info.message}` });
        throw new StepFailure(id, info);
      }
      try {
        return await this.perform(id, step, input);
      } catch (err) {
        if (isCancellation(err)) throw err;
        const info = toErrorInfo(err);
        const willRetry = info.retryable !== false && attempt < maxAttempts;
        const delay = willRetry ? backoff(policy, attempt) : 0;
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
        await sleep(delay);
      }
    }
  }

  /** The step's resolved input: what is hashed into the audit trail and handed to the action. */
  private async resolveInput(id: string, step: Step): Promise<unknown> {
    switch (step.type) {
      case 'http':
        return this.resolveHttp(id, step);
      case 'transform':
        return this.evaluate(step.value);
      case 'condition':
        return this.evaluate(step.if);
      case 'delay':
        return step.duration !== undefined ? { duration: step.duration } : { until: await this.evaluate(step.until) };
      default:
        throw ApplicationFailure.nonRetryable(`step type "${step.type}" is not supported by this worker yet`, 'UnsupportedStep');
    }
  }

  private async perform(id: string, step: Step, input: unknown): Promise<unknown> {
    switch (step.type) {
      case 'http':
        return this.httpActivity(step.timeout).httpRequest(input as HttpRequest);
      case 'transform':
        return input;
      case 'condition': {
        if (typeof input !== 'boolean') {
          throw ApplicationFailure.nonRetryable(`condition "if" evaluated to ${JSON.stringify(input ?? null)}, not a boolean`, 'ExpressionError');
        }
        // The scheduler reads the branch taken from this output.
        return { result: input, branch: input ? 'then' : 'else' };
      }
      case 'delay':
        return this.delay(input as { duration: string } | { until: unknown });
      default:
        throw ApplicationFailure.nonRetryable(`step type "${step.type}" is not supported by this worker yet`, 'UnsupportedStep');
    }
  }

  private async resolveHttp(id: string, action: HttpStep | CompensateAction): Promise<HttpRequest> {
    if (action.type !== 'http') throw ApplicationFailure.nonRetryable(`"${action.type}" actions are not supported yet`, 'UnsupportedStep');
    const [method, url, query, headers, body] = await Promise.all([
      this.evaluate(action.method ?? 'GET'),
      this.evaluate(action.url),
      this.evaluate(action.query),
      this.evaluate(action.headers),
      this.evaluate(action.body),
    ]);
    if (typeof method !== 'string') throw ApplicationFailure.nonRetryable(`method evaluated to ${JSON.stringify(method)}, not a string`, 'ExpressionError');
    if (typeof url !== 'string') throw ApplicationFailure.nonRetryable(`url evaluated to ${JSON.stringify(url)}, not a string`, 'ExpressionError');
    const request: HttpRequest = { method, url, idempotencyKey: `${this.snapshot.runId}:${id}` };
    if (query !== undefined && query !== null) request.query = query as Record<string, unknown>;
    if (headers !== undefined && headers !== null) request.headers = stringifyValues(headers as Record<string, unknown>);
    if (body !== undefined) request.body = body;
    if ('expectStatus' in action && action.expectStatus !== undefined) request.expectStatus = action.expectStatus;
    return request;
  }

  private httpActivity(stepTimeout: string | undefined) {
    const timeout = stepTimeout ?? this.definition.defaults?.timeout ?? DEFAULT_TIMEOUT;
    return proxyActivities<Activities>({
      startToCloseTimeout: parseDuration(timeout) ?? parseDuration(DEFAULT_TIMEOUT)!,
      // The interpreter retries, not Temporal: every attempt then has its own audit events.
      retry: { maximumAttempts: 1 },
    });
  }

  private async delay(input: { duration: string } | { until: unknown }): Promise<unknown> {
    if ('duration' in input) {
      const ms = parseDuration(input.duration);
      if (ms === undefined) throw ApplicationFailure.nonRetryable(`invalid duration "${input.duration}"`, 'InvalidDuration');
      await sleep(ms);
      return { waitedMs: ms };
    }
    const until = typeof input.until === 'number' ? input.until : Date.parse(String(input.until));
    if (Number.isNaN(until)) throw ApplicationFailure.nonRetryable(`"until" evaluated to ${JSON.stringify(input.until)}, not a timestamp`, 'InvalidTimestamp');
    const ms = Math.max(0, until - Date.now());
    if (ms > 0) await sleep(ms);
    return { until: new Date(until).toISOString(), waitedMs: ms };
  }

  private async skip(id: string, reason: string): Promise<void> {
    this.scheduler.markSkipped(id);
    await this.emit({ type: 'STEP_SKIPPED', stepId: id, stepType: this.scheduler.step(id).type, stepStatus: 'SKIPPED', message: reason });
  }

  private async runOutput(): Promise<unknown> {
    if (this.definition.output !== undefined) return this.evaluate(this.definition.output);
    const output: Record<string, unknown> = {};
    for (const id of this.scheduler.sinks()) {
      const state = this.scheduler.state(id);
      if (state.status === 'SUCCEEDED') output[id] = state.output;
    }
    return output;
  }

  /** Rolls back succeeded steps in reverse completion order, then fails the run. */
  private async failed(failure: StepFailure): Promise<never> {
    const toCompensate = this.scheduler.compensationOrder();
    let status: RunStatus = 'FAILED';
    const error: ErrorInfo = { ...failure.info, message: failure.stepId ? `step "${failure.stepId}" failed: ${failure.info.message}` : failure.info.message };
    if (toCompensate.length > 0) {
      await this.emit({ type: 'COMPENSATION_STARTED', runStatus: 'COMPENSATING', message: `compensating ${toCompensate.join(', ')}` });
      let allCompensated = true;
      for (const id of toCompensate) allCompensated = (await this.compensate(id)) && allCompensated;
      status = allCompensated ? 'COMPENSATED' : 'FAILED';
    }
    await this.emit({ type: 'RUN_FAILED', runStatus: status, error, message: status === 'COMPENSATED' ? 'failed; every compensation succeeded' : error.message });
    throw ApplicationFailure.create({ message: error.message, type: 'RunFailed', nonRetryable: true, details: [{ status, error }] });
  }

  /** Runs a step's `compensate` action with its own guard, retry policy and timeout. */
  private async compensate(id: string): Promise<boolean> {
    const step = this.scheduler.step(id);
    const action = step.compensate!;
    const policy = { ...DEFAULT_RETRY, ...this.definition.defaults?.retry, ...action.retry };
    try {
      if (action.if !== undefined && (await this.evaluate(action.if)) === false) {
        await this.emit({ type: 'STEP_COMPENSATED', stepId: id, stepType: step.type, message: 'nothing to compensate: the guard "if" evaluated to false' });
        return true;
      }
      const request = await this.resolveHttp(id, action);
      request.idempotencyKey = `${this.snapshot.runId}:${id}:compensate`;
      for (let attempt = 1; ; attempt++) {
        try {
          const output = await this.httpActivity(action.timeout).httpRequest(request);
          this.scheduler.markCompensated(id, true);
          await this.emit({ type: 'STEP_COMPENSATED', stepId: id, stepType: step.type, stepStatus: 'COMPENSATED', attempt, input: request, output });
          return true;
        } catch (err) {
          const info = toErrorInfo(err);
          if (info.retryable === false || attempt >= policy.maxAttempts) throw new StepFailure(id, info);
          await sleep(backoff(policy, attempt));
        }
      }
    } catch (err) {
      const info = err instanceof StepFailure ? err.info : toErrorInfo(err);
      this.scheduler.markCompensated(id, false);
      await this.emit({ type: 'COMPENSATION_FAILED', stepId: id, stepType: step.type, stepStatus: 'COMPENSATION_FAILED', error: info, message: `compensation of "${id}" failed: ${info.message}` });
      return false;
    }
  }

  private evaluate(value: unknown): Promise<unknown> {
    const steps: Record<string, { output: unknown; status: string }> = {};
    for (const [id, state] of this.scheduler.states) steps[id] = { output: state.output ?? null, status: state.status };
    const info = workflowInfo();
    return evaluateTemplate(value, {
      input: this.snapshot.input,
      steps,
      run: {
        id: this.snapshot.runId,
        definition: this.snapshot.definitionName,
        version: this.snapshot.definitionVersion,
        startedAt: new Date(info.startTime).toISOString(),
        attempt: info.attempt,
      },
    }, { maxSteps: MAX_EXPRESSION_STEPS });
  }

  /** Records an audit event before the run moves on; never cancelled, so a cancelled run still records why. */
  private emit(event: Omit<AuditEventInput, 'runId' | 'tenantId' | 'seq' | 'at' | 'actor'>): Promise<void> {
    const full: AuditEventInput = {
      ...event,
      runId: this.snapshot.runId,
      tenantId: this.snapshot.tenantId,
      seq: ++this.seq,
      at: new Date().toISOString(),
      actor: this.snapshot.trigger,
    };
    return CancellationScope.nonCancellable(() => audit.recordAuditEvent(full));
  }
}

function backoff(policy: Required<RetryPolicy>, attempt: number): number {
  const initial = parseDuration(policy.initialInterval) ?? 1000;
  const max = parseDuration(policy.maxInterval) ?? 60_000;
  return Math.min(max, Math.round(initial * policy.backoffCoefficient ** (attempt - 1)));
}

function stringifyValues(record: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(record)) {
    if (value === undefined || value === null) continue;
    out[key] = typeof value === 'string' ? value : JSON.stringify(value);
  }
  return out;
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Turns whatever a step threw into the plain error the audit trail and GraphQL show. */
export function toErrorInfo(err: unknown): ErrorInfo {
  if (err instanceof ActivityFailure && err.cause) return toErrorInfo(err.cause);
  if (err instanceof TimeoutFailure) return { message: `timed out (${err.timeoutType ?? 'timeout'})`, type: 'Timeout', retryable: true };
  if (err instanceof ApplicationFailure) {
    const info: ErrorInfo = { message: err.message, type: err.type ?? 'Error', retryable: !err.nonRetryable };
    if (err.details && err.details.length > 0) info.details = err.details[0];
    return info;
  }
  if (err instanceof Error) {
    // Expression errors are deterministic: retrying would fail the same way.
    return { message: err.message, type: err.name === 'Error' ? 'Error' : err.name, retryable: err.name !== 'ExpressionError' };
  }
  return { message: String(err), type: 'Error', retryable: true };
}
