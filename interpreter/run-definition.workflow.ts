import { ActivityFailure, ApplicationFailure, CancellationScope, CancelledFailure, condition, patched, proxyLocalActivities, setHandler, sleep, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { CompensateAction } from '../definition/definition-schema';
import { parseDuration } from '../definition/duration';
import type { RunStatus } from '../definition/step-types';
import { GraphRunner, syncExpressionBudget, type GraphEvent } from './graph-runner';
import { resolveHttpRequest } from './http-request';
import { runAttempts, type ActionCall } from './action-runner';
import { actionRules, failedRunStatus, mustCompensate, rollBackOutcome, type RollBack } from './attempt-decisions';
import { effectivePolicy } from './retry-policy';
import type { RunContext } from './run-context';
import { AUDIT_WRITE_FAILED, AUDIT_WRITE_REFUSED, type AuditEventInput, type ErrorInfo, type RunSnapshot, type StepProgress } from './run-types';
import { SignalInbox } from './signal-inbox';
import { cancelRequestedSignal, type CancelRequest } from './signals';
import { StepActions } from './step-actions';
import { stepQueue } from './step-queue';
import { StepFailure, errorMessage, toErrorInfo } from './step-failure';

export { MAX_EXPRESSION_STEPS, MAX_OUTPUT_CHARS } from './graph-runner';
export { DEFAULT_RETRY } from './retry-policy';
export { DEFAULT_TIMEOUT } from './step-actions';
export { toErrorInfo } from './step-failure';

/** What the interpreter workflow returns when a run completes. */
export type RunResult = { status: RunStatus; output: unknown };


const ROLL_BACK_OUTCOME: Record<RollBack, string> = {
  nothing: '',
  compensated: '; every compensation succeeded',
  incomplete: '; some compensations failed (see COMPENSATION_FAILED)',
};

const AUDIT_OPTIONS = {
  startToCloseTimeout: '15s',
  // No attempt limit: while PostgreSQL is unreachable the run waits here and loses nothing. What
  // retrying cannot fix, the sink throws as a non-retryable AUDIT_WRITE_REFUSED (see emit).
  retry: { initialInterval: '500ms', backoffCoefficient: 2, maximumInterval: '30s' },
} as const;
const audit = proxyLocalActivities<Activities>(AUDIT_OPTIONS);

/** A promise that never settles: what waits for it, waits until the workflow ends. */
const never = (): Promise<never> => new Promise<never>(() => undefined);

/**
 * The one generic workflow that runs any definition: records the run's start, runs its graph
 * ({@link GraphRunner}), and on a failure compensates succeeded steps in reverse order of
 * completion before failing the run. Every transition is recorded before the run moves on.
 */
export async function trellisRun(snapshot: RunSnapshot): Promise<RunResult> {
  return new RunInterpreter(snapshot).run();
}

class RunInterpreter {
  private readonly context: RunContext;
  private readonly actions: StepActions;
  private readonly graph: GraphRunner;
  /** The last audit write; each waits for the one before it (see emit). */
  private auditChain: Promise<unknown> = Promise.resolve();
  private cancelRequest: CancelRequest | undefined;
  /** The event the audit sink refused for good, and why; the run is then ending (see run). */
  private auditRefusal: { event: GraphEvent; cause: string } | undefined;
  private onAuditRefusal: () => void = () => undefined;
  /**
   * Whether this execution batches its audit writes per activation (see emitBatched): asked once,
   * at the first event, so a run keeps the way it started with for its whole execution.
   */
  private batchedAudit: boolean | undefined;
  /** Events emitted and not yet handed to the sink, with the writers waiting for them. */
  private readonly pendingAudit: PendingAuditEvent[] = [];
  /** Map progress not yet handed to the sink: the latest per step, written with the next batch. */
  private readonly pendingProgress = new Map<string, StepProgress>();
  private auditFlusher = false;

  constructor(private readonly snapshot: RunSnapshot) {
    const info = workflowInfo();
    this.context = {
      runId: snapshot.runId,
      tenantId: snapshot.tenantId,
      // The id the run was started with (see workflowIdOf); replays see the same one.
      workflowId: `${snapshot.tenantId}/${snapshot.definitionName}/${snapshot.runId}`,
      input: snapshot.input,
      run: {
        id: snapshot.runId,
        definition: snapshot.definitionName,
        version: snapshot.definitionVersion,
        startedAt: new Date(info.startTime).toISOString(),
        attempt: info.attempt,
      },
      defaults: snapshot.definition.defaults,
      library: snapshot.library ?? {},
      depth: snapshot.depth ?? 1,
      actor: snapshot.trigger,
      ...(snapshot.variables ? { variables: snapshot.variables } : {}),
      ...(snapshot.stepQueues ? { stepQueues: snapshot.stepQueues } : {}),
    };
    this.actions = new StepActions(this.context);
    const syncExpressions = syncExpressionBudget();
    setHandler(cancelRequestedSignal, (request) => {
      this.cancelRequest = request;
    });
    this.graph = new GraphRunner({
      steps: snapshot.definition.steps,
      context: this.context,
      actions: this.actions,
      emit: (event) => this.emit(event),
      keyPrefix: `${snapshot.runId}:`,
      inbox: new SignalInbox().listen(),
      mocks: snapshot.mocks,
      syncExpressions,
      progress: (stepId, done, total) => this.progress(stepId, done, total),
    });
  }

  /**
   * Runs the run to its end; or, as soon as the audit trail refuses an event for good, stops it
   * where it stands and fails it (see {@link auditRefused}). Whatever was waiting for an audit
   * write then waits for ever, so nothing moves on without its record.
   */
  async run(): Promise<RunResult> {
    const refused = new Promise<'refused'>((resolve) => (this.onAuditRefusal = () => resolve('refused')));
    const outcome = await Promise.race([this.runToEnd(), refused]);
    return outcome === 'refused' ? this.auditRefused() : outcome;
  }

  private async runToEnd(): Promise<RunResult> {
    await this.emit({ type: 'RUN_STARTED', runStatus: 'RUNNING', input: this.snapshot.input, run: this.runRecord(this.snapshot.input) });
    if (this.snapshot.reuse) await this.graph.restore(this.snapshot.reuse);
    const timedOut = await this.runGraph();
    if (CancellationScope.current().consideredCancelled) return this.cancelled();
    if (timedOut) return this.timedOut();
    if (this.graph.failure) return this.failed(this.graph.failure);
    let output: unknown;
    try {
      const definitionOutput = this.snapshot.definition.output;
      output = definitionOutput !== undefined ? await this.graph.evaluate(definitionOutput) : this.graph.sinkOutputs();
    } catch (err) {
      return this.failed(new StepFailure('', { ...toErrorInfo(err), message: `run output: ${errorMessage(err)}` }));
    }
    await this.emit({ type: 'RUN_COMPLETED', runStatus: 'COMPLETED', output });
    return { status: 'COMPLETED', output };
  }

  /** What RUN_STARTED records of the run, so the run index has it even when no API process created it. */
  private runRecord(input: unknown): NonNullable<AuditEventInput['run']> {
    const info = workflowInfo();
    return {
      definitionName: this.snapshot.definitionName,
      definitionVersion: this.snapshot.definitionVersion,
      input,
      trigger: this.snapshot.trigger,
      workflowId: info.workflowId,
      temporalRunId: info.runId,
      startedAt: this.context.run.startedAt,
      ...(this.snapshot.variables ? { variables: this.snapshot.variables } : {}),
    };
  }

  /**
   * The audit trail refused an event for good (PostgreSQL rejected it for a reason retrying
   * cannot fix): the run cannot move on without its record. Running steps are cancelled, nothing
   * more is compensated (a roll-back could not be recorded either), and the run fails with error type
   * {@link AUDIT_WRITE_FAILED} naming the event and the cause. A RUN_FAILED without the refused
   * event's values is recorded if PostgreSQL takes it; if not, the run ends all the same.
   */
  private async auditRefused(): Promise<never> {
    const { event, cause } = this.auditRefusal!;
    const what = event.stepId ? `${event.type} of step "${event.stepId}"` : event.type;
    const error: ErrorInfo = { message: `the audit trail could not record ${what}: ${cause}`, type: AUDIT_WRITE_FAILED, retryable: false };
    this.graph.stop(`cancelled: ${error.message}`);
    const record: AuditEventInput = {
      type: 'RUN_FAILED',
      runStatus: 'FAILED',
      error,
      message: `${error.message}; the run stopped where it stood: nothing more ran or was compensated`,
      runId: this.snapshot.runId,
      tenantId: this.snapshot.tenantId,
      at: new Date().toISOString(),
      actor: this.snapshot.trigger,
      // The run's row may not exist yet (a child run's RUN_STARTED refused): without its input.
      run: this.runRecord(null),
    };
    try {
      await CancellationScope.nonCancellable(() => audit.recordAuditEvent(record));
    } catch {
      // Refused too: Temporal still records how the run ended.
    }
    throw ApplicationFailure.create({ message: error.message, type: AUDIT_WRITE_FAILED, nonRetryable: true, details: [{ status: 'FAILED', error }] });
  }

  /**
   * Runs the graph, within the definition's `timeout` when it sets one: when the timer fires
   * first, the graph stops (running steps are cancelled). Says whether the run timed out.
   */
  private async runGraph(): Promise<boolean> {
    const timeout = this.snapshot.definition.timeout;
    const ms = timeout === undefined ? undefined : parseDuration(timeout);
    if (ms === undefined) {
      await this.graph.run();
      return false;
    }
    let timedOut = false;
    const timer = new CancellationScope();
    const expiry = timer.run(() => sleep(ms, { summary: `run timeout ${timeout}` })).then(
      () => {
        timedOut = true;
        this.graph.stop(`cancelled: the run exceeded its timeout of ${timeout}`);
      },
      () => undefined, // the graph settled first and cancelled the timer, or the run was cancelled
    );
    await this.graph.run();
    if (!timedOut) timer.cancel();
    await expiry;
    return timedOut;
  }

  /** Rolls back succeeded steps in reverse completion order, then fails the run. */
  private async failed(failure: StepFailure): Promise<never> {
    const error: ErrorInfo = { ...failure.info, message: failure.stepId ? `step "${failure.stepId}" failed: ${failure.info.message}` : failure.info.message };
    const rollBack = await this.rollBack();
    const status: RunStatus = failedRunStatus(rollBack);
    await this.emit({ type: 'RUN_FAILED', runStatus: status, error, message: status === 'COMPENSATED' ? 'failed; every compensation succeeded' : error.message });
    throw ApplicationFailure.create({ message: error.message, type: 'RunFailed', nonRetryable: true, details: [{ status, error }] });
  }

  /** The definition's `timeout` expired: the graph has stopped; roll back, then end TIMED_OUT. */
  private async timedOut(): Promise<never> {
    const error: ErrorInfo = { message: `the run exceeded its timeout of ${this.snapshot.definition.timeout}`, type: 'RunTimedOut', retryable: false };
    const rollBack = await this.rollBack();
    await this.emit({ type: 'RUN_FAILED', runStatus: 'TIMED_OUT', error, message: `${error.message}${ROLL_BACK_OUTCOME[rollBack]}` });
    throw ApplicationFailure.create({ message: error.message, type: 'RunTimedOut', nonRetryable: true, details: [{ status: 'TIMED_OUT', error }] });
  }

  /** `cancelRun` reached the run: the graph has stopped; roll back, then end CANCELLED. */
  private async cancelled(): Promise<never> {
    const by = this.cancelRequest;
    let message = by ? `cancelled by ${by.actor.type} ${by.actor.id}${by.reason ? `: ${by.reason}` : ''}` : 'run cancelled';
    // Runs cancelled before cancellation rolled back replay without rolling back.
    if (patched('trellis-cancel-compensates')) {
      // The run's scope is cancelled: only a non-cancellable scope can still call anything.
      message += ROLL_BACK_OUTCOME[await CancellationScope.nonCancellable(() => this.rollBack())];
    }
    await this.emit({ type: 'RUN_CANCELLED', runStatus: 'CANCELLED', message });
    throw new CancelledFailure('run cancelled');
  }

  /**
   * The saga: compensates every succeeded step that has a `compensate` action, most recently
   * finished first, one at a time; a compensation that fails for good does not stop the others.
   */
  private async rollBack(): Promise<RollBack> {
    const toCompensate = this.graph.scheduler.compensationOrder();
    if (!mustCompensate(toCompensate)) return 'nothing';
    await this.emit({ type: 'COMPENSATION_STARTED', runStatus: 'COMPENSATING', message: `compensating ${toCompensate.join(', ')}` });
    const compensated: boolean[] = [];
    for (const id of toCompensate) compensated.push(await this.compensate(id));
    return rollBackOutcome(compensated);
  }

  /** Runs a step's `compensate` action with its own guard, retry policy and timeout. */
  private async compensate(id: string): Promise<boolean> {
    const scheduler = this.graph.scheduler;
    const step = scheduler.step(id);
    const action: CompensateAction = step.compensate!;
    const policy = effectivePolicy(this.context.defaults, action.retry);
    const actions = this.actions.on(stepQueue(step, this.context));
    try {
      if (this.graph.isMocked(id)) {
        scheduler.markCompensated(id, true);
        await this.emit({ type: 'STEP_COMPENSATED', stepId: id, stepType: step.type, stepStatus: 'COMPENSATED', message: 'mocked step: its compensation was not performed' });
        return true;
      }
      if (action.if !== undefined && (await this.graph.evaluate(action.if)) === false) {
        await this.emit({ type: 'STEP_COMPENSATED', stepId: id, stepType: step.type, message: 'nothing to compensate: the guard "if" evaluated to false' });
        return true;
      }
      // Ends the attempts: a compensation that failed for good is not retried by anything else.
      const fail = (info: ErrorInfo): StepFailure => new StepFailure(id, { ...info, retryable: false });
      const what = `${id} (compensate)`;
      let input: unknown;
      let call: ActionCall;
      if (action.type === 'http') {
        const bindings = this.graph.bindings();
        const request = await resolveHttpRequest(action, (value) => this.graph.evaluate(value, bindings), bindings, `${this.snapshot.runId}:${id}:compensate`);
        input = request;
        call = { type: 'http', request, timeout: action.timeout, what, local: action.local };
      } else {
        input = { definition: action.definition, version: action.version ?? 'latest', input: (await this.graph.evaluate(action.input)) ?? {} };
        call = { type: 'workflow', reference: action, input: (input as { input: unknown }).input, what: `${id}:compensate` };
      }
      let attempts = 0;
      const output = await runAttempts({ rules: actionRules(policy), what, fail }, (n) => ((attempts = n), actions.run(call)));
      scheduler.markCompensated(id, true);
      await this.emit({ type: 'STEP_COMPENSATED', stepId: id, stepType: step.type, stepStatus: 'COMPENSATED', attempt: attempts, input, output });
      return true;
    } catch (err) {
      const info = toErrorInfo(err);
      scheduler.markCompensated(id, false);
      await this.emit({ type: 'COMPENSATION_FAILED', stepId: id, stepType: step.type, stepStatus: 'COMPENSATION_FAILED', error: info, message: `compensation of "${id}" failed: ${info.message}` });
      return false;
    }
  }

  /**
   * Records an audit event before the run moves on; never cancelled, so a cancelled run still
   * records why. Writes go one at a time, in emission order: when parallel steps each wait for their
   * own write, a replay may resolve several local activities in one activation where the first
   * execution resolved them in several, and the steps would then issue their commands in
   * another order (a nondeterminism error). One write at a time resolves the same way in both.
   */
  private emit(event: GraphEvent): Promise<void> {
    const full: AuditEventInput = {
      ...event,
      runId: this.snapshot.runId,
      tenantId: this.snapshot.tenantId,
      at: new Date().toISOString(),
      actor: this.snapshot.trigger,
    };
    this.batchedAudit ??= patched('trellis-batched-audit');
    if (this.batchedAudit) return this.emitBatched(full, event);
    const record = (): Promise<void> => {
      // Once an event was refused for good nothing more is written: the run is ending (see run).
      if (this.auditRefusal) return never();
      return CancellationScope.nonCancellable(() => audit.recordAuditEvent(full)).catch((err: unknown) => this.refused(err, event));
    };
    // Runs started before writes were serialised replay their concurrent writes as they were.
    if (!patched('trellis-serial-audit')) return record();
    const write = this.auditChain.then(record);
    this.auditChain = write.catch(() => undefined);
    return write;
  }

  /**
   * Queues an event for the next batch: every event the workflow emits in one activation (until
   * its microtasks have run dry) goes to PostgreSQL in ONE local activity, one transaction, in
   * emission order; the writers resume, in that order, once it has committed. One batch is in
   * flight at a time, so events emitted meanwhile form the next batch: which events share a batch
   * depends only on what the workflow did, and a replay forms the same batches.
   */
  private emitBatched(full: AuditEventInput, event: GraphEvent): Promise<void> {
    // Once an event was refused for good nothing more is written: the run is ending (see run).
    if (this.auditRefusal) return never();
    return new Promise<void>((resolve, reject) => {
      this.pendingAudit.push({ full, event, resolve, reject });
      this.startAuditFlusher();
    });
  }

  /**
   * Records how far a map step is with the next audit batch, waiting for nothing: nobody waits
   * for progress, so it changes no command order. Only with batched audit writes.
   */
  private progress(stepId: string, done: number, total: number): void {
    if (!this.batchedAudit || this.auditRefusal) return;
    this.pendingProgress.set(stepId, { runId: this.snapshot.runId, tenantId: this.snapshot.tenantId, stepId, done, total });
    this.startAuditFlusher();
  }

  private startAuditFlusher(): void {
    if (this.auditFlusher) return;
    this.auditFlusher = true;
    // Never cancelled: a cancelled run still records why. Never rejects (see flushAudit).
    void CancellationScope.nonCancellable(() => this.flushAudit());
  }

  /**
   * Writes the queued events batch after batch. `condition` is checked once the activation's
   * microtasks have run, so a batch holds everything the activation emitted so far.
   */
  private async flushAudit(): Promise<void> {
    for (;;) {
      await condition(() => this.pendingAudit.length > 0 || this.pendingProgress.size > 0);
      const batch = this.pendingAudit.splice(0);
      const progress = [...this.pendingProgress.values()];
      this.pendingProgress.clear();
      try {
        const summary = batch.length > 0 ? auditSummary(batch) : `progress: ${progress.map((p) => `${p.stepId} ${p.done}/${p.total}`).join(', ')}`;
        await audit.recordAuditEvents.executeWithOptions({ ...AUDIT_OPTIONS, summary }, [batch.map((pending) => pending.full), progress]);
      } catch (err) {
        const refusal = refusalOf(err);
        if (refusal === undefined) {
          for (const pending of batch) pending.reject(err);
          continue;
        }
        // Progress alone refused: it is dropped; the step's end records its items all the same.
        if (batch.length === 0) continue;
        const index = (refusal.details?.[0] as { index?: number } | undefined)?.index ?? 0;
        if (!this.auditRefusal) {
          this.auditRefusal = { event: (batch[index] ?? batch[0]!).event, cause: refusal.message };
          this.onAuditRefusal();
        }
        // Nothing of the batch was stored: its writers, and all that come after, wait for ever.
        return;
      }
      for (const pending of batch) pending.resolve();
    }
  }

  /** A write failed: when the sink refused it for good, the run ends (see run) and the writer waits for ever. */
  private refused(err: unknown, event: GraphEvent): Promise<never> {
    const cause = refusalOf(err)?.message;
    if (cause === undefined) throw err;
    if (!this.auditRefusal) {
      this.auditRefusal = { event, cause };
      this.onAuditRefusal();
    }
    return never();
  }
}

/** An event waiting for its batch to be written, and its writer. */
type PendingAuditEvent = { full: AuditEventInput; event: GraphEvent; resolve: () => void; reject: (err: unknown) => void };

/** The sink's refusal for good ({@link AUDIT_WRITE_REFUSED}) inside a failed write, if it is one. */
function refusalOf(err: unknown): ApplicationFailure | undefined {
  // A local activity's failure may come wrapped in an ActivityFailure or as it was thrown.
  const failure = err instanceof ActivityFailure ? err.cause : err;
  return failure instanceof ApplicationFailure && failure.type === AUDIT_WRITE_REFUSED ? failure : undefined;
}

/** What Temporal's UI shows for an audit batch: its event types and steps (never their data). */
function auditSummary(batch: PendingAuditEvent[]): string {
  const shown = batch.slice(0, 4).map(({ full }) => (full.stepId ? `${full.type} ${full.stepId}` : full.type));
  return `audit: ${shown.join(', ')}${batch.length > shown.length ? ` +${batch.length - shown.length}` : ''}`;
}
