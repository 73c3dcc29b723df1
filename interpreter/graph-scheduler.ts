import type { Step } from '../definition/definition-schema';
import type { StepStatus } from '../definition/step-types';
import type { ErrorInfo } from './run-types';

/** What the interpreter knows about one step of a run. */
export type StepState = {
  status: StepStatus;
  attempts: number;
  output?: unknown;
  error?: ErrorInfo;
  /** Position among the steps that finished, in the order they finished (saga order). */
  finishedOrder?: number;
};

/** A step the scheduler decided not to run, and why (for the audit trail). */
export type SkipDecision = { stepId: string; reason: string };

const SETTLED: ReadonlySet<StepStatus> = new Set(['SUCCEEDED', 'FAILED', 'SKIPPED', 'CANCELLED']);

/**
 * The DAG scheduler: which steps may start, which must be skipped, and in which order succeeded
 * steps finished. Pure and synchronous, with no knowledge of Temporal, so every rule is unit
 * tested without a server; the workflow drives it and performs the steps.
 *
 * Rules: a step is considered once all of its `needs` are settled. A step listed in the branch a
 * `condition` did not take is skipped, whatever its `join`. Otherwise, with `join: "all"`
 * (default) it runs when every need succeeded; with `join: "any"` when at least one did; else it
 * is skipped, and so, in turn, is what depends only on skipped steps. The branch a condition took
 * is read from its output (`{result, branch}`), so restored state needs nothing else.
 */
export class GraphScheduler {
  readonly states = new Map<string, StepState>();
  private finishedCount = 0;

  constructor(private readonly definition: { readonly steps: Readonly<Record<string, Step>> }) {
    for (const id of Object.keys(definition.steps)) this.states.set(id, { status: 'PENDING', attempts: 0 });
  }

  step(id: string): Step {
    const step = this.definition.steps[id];
    if (!step) throw new Error(`unknown step "${id}"`);
    return step;
  }

  state(id: string): StepState {
    const state = this.states.get(id);
    if (!state) throw new Error(`unknown step "${id}"`);
    return state;
  }

  /**
   * Steps whose needs are settled and that have not been decided yet: `start` may run now,
   * `skip` must be recorded as skipped. Call again after recording skips: they may settle more.
   */
  next(): { start: string[]; skip: SkipDecision[] } {
    const start: string[] = [];
    const skip: SkipDecision[] = [];
    for (const [id, state] of this.states) {
      if (state.status !== 'PENDING') continue;
      const step = this.step(id);
      const needs = step.needs ?? [];
      if (!needs.every((need) => SETTLED.has(this.state(need).status))) continue;
      const branchNotTaken = needs.find((need) => this.branchNotTaken(need)?.includes(id));
      if (branchNotTaken !== undefined) {
        skip.push({ stepId: id, reason: `skipped: condition "${branchNotTaken}" took its ${this.branchTaken(branchNotTaken)} branch` });
        continue;
      }
      const blocked = needs.filter((need) => this.state(need).status !== 'SUCCEEDED');
      const runs = (step.join ?? 'all') === 'any' ? blocked.length < needs.length || needs.length === 0 : blocked.length === 0;
      if (runs) start.push(id);
      else skip.push({ stepId: id, reason: this.skipReason(id, blocked) });
    }
    return { start, skip };
  }

  markRunning(id: string, attempt: number): void {
    const state = this.state(id);
    state.status = 'RUNNING';
    state.attempts = attempt;
  }

  markSucceeded(id: string, output: unknown): void {
    Object.assign(this.state(id), { status: 'SUCCEEDED', output, error: undefined, finishedOrder: ++this.finishedCount });
  }

  markFailed(id: string, error: ErrorInfo): void {
    Object.assign(this.state(id), { status: 'FAILED', error, finishedOrder: ++this.finishedCount });
  }

  markSkipped(id: string): void {
    this.state(id).status = 'SKIPPED';
  }

  markCompensated(id: string, succeeded: boolean): void {
    this.state(id).status = succeeded ? 'COMPENSATED' : 'COMPENSATION_FAILED';
  }

  markCancelled(id: string): void {
    this.state(id).status = 'CANCELLED';
  }

  /** True when no step can make progress any more (every step settled or never reachable). */
  isIdle(): boolean {
    const { start, skip } = this.next();
    return start.length === 0 && skip.length === 0 && ![...this.states.values()].some((s) => s.status === 'RUNNING');
  }

  /** Succeeded steps that declare a `compensate` action, most recently finished first. */
  compensationOrder(): string[] {
    return [...this.states]
      .filter(([id, s]) => s.status === 'SUCCEEDED' && this.step(id).compensate !== undefined)
      .sort(([, a], [, b]) => (b.finishedOrder ?? 0) - (a.finishedOrder ?? 0))
      .map(([id]) => id);
  }

  /** Steps nothing else needs: their outputs make the run's default output. */
  sinks(): string[] {
    const needed = new Set(Object.values(this.definition.steps).flatMap((s) => s.needs ?? []));
    return Object.keys(this.definition.steps).filter((id) => !needed.has(id));
  }

  /** The branch a succeeded condition took, from its output. */
  private branchTaken(id: string): 'then' | 'else' | undefined {
    const state = this.state(id);
    if (state.status !== 'SUCCEEDED' || this.step(id).type !== 'condition') return undefined;
    const branch = (state.output as { branch?: unknown } | undefined)?.branch;
    return branch === 'then' || branch === 'else' ? branch : undefined;
  }

  /** The steps a succeeded condition did not take; undefined for any other step. */
  private branchNotTaken(id: string): readonly string[] | undefined {
    const taken = this.branchTaken(id);
    const step = this.step(id);
    if (taken === undefined || step.type !== 'condition') return undefined;
    return (taken === 'then' ? step.else : step.then) ?? [];
  }

  private skipReason(stepId: string, blocked: string[]): string {
    const parts = blocked.map((need) => `"${need}" ${this.state(need).status.toLowerCase()}`);
    const join = this.step(stepId).join ?? 'all';
    return `skipped: ${parts.join(', ')}${join === 'any' ? ' (join: any, no need succeeded)' : ''}`;
  }
}
