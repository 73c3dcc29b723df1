import type { Client } from '@temporalio/client';
import type { Kysely } from 'kysely';
import { IN_FLIGHT_RUN_STATUSES } from '../../definition/step-types';
import type { Database } from '../db/database';
import { LeaderLock, lockKeyOf } from '../db/leader-lock';
import { findRun } from '../db/runs.repository';
import { RunReconciler } from './run-reconciler';

/** Options of {@link TemporalReconciler}. */
export type TemporalReconcilerOptions = {
  db: Kysely<Database>;
  /** A client with Trellis's data converter (an unrecorded end's result is read through it). */
  client: Client;
  /** The database whose advisory lock elects the leader: one reconciler per deployment. */
  databaseUrl: string;
  /** The interpreter's task queue: only this deployment's runs are looked at. */
  taskQueue: string;
  /** How often the leader asks Temporal which runs ended; how often the others try to lead. */
  intervalMs: number;
  /** How often the leader compares every run in flight with the executions Temporal runs. */
  sweepIntervalMs: number;
  log: (message: string) => void;
};

/** The advisory lock namespace of Trellis's reconciler ("trls"); the id within it is the task queue's. */
const LOCK_NAMESPACE = 0x74726c73 | 0;
/** How far visibility (Elasticsearch in production) may lag behind a close; closes this recent are looked at again. */
const VISIBILITY_LAG_MS = 10_000;
/** Runs started this recently are left out of a sweep: visibility may not list them yet. */
const SWEEP_GRACE_MS = 5_000;
/** Workflow ids per database query when matching closed executions with runs. */
const MATCH_CHUNK = 500;
/** The same error is logged at most once per this long. */
const LOG_EVERY_MS = 60_000;

/**
 * Keeps runs in step with Temporal when something outside Trellis ends or resets their
 * workflows (Temporal's Web UI or CLI: terminate, reset, delete; a workflow execution timeout).
 * Every process runs one; a PostgreSQL advisory lock makes one of them the leader, which:
 *
 * - every `intervalMs`, asks Temporal's visibility for this task queue's `trellisRun` executions
 *   that were terminated or timed out since its watermark, and reconciles the runs still in
 *   flight at those executions (a reset terminates the execution it replaces, so resets show up
 *   here too) — one query per interval for the deployment, not one per run;
 * - every `sweepIntervalMs` (and when it becomes leader), lists the executions Temporal runs and
 *   reconciles each run in flight whose execution is not among them: a deleted workflow leaves
 *   no close behind, and ends missed while no process led are found this way.
 *
 * Each suspect is confirmed with Temporal (one describe) before anything is recorded, and
 * recording is idempotent, so two leaders for a moment (a lock connection lost unnoticed) cost
 * work, not correctness. See {@link RunReconciler} for what is recorded.
 */
export class TemporalReconciler {
  private readonly lock: LeaderLock;
  private readonly runs: RunReconciler;
  private readonly taskQueueFilter: string;
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;
  private stopped = false;
  /** Closes after this time are looked at; unset until this process leads (then it sweeps first). */
  private watermark: Date | undefined;
  private lastSweep = 0;
  private readonly logged = new Map<string, number>();

  constructor(private readonly options: TemporalReconcilerOptions) {
    this.lock = new LeaderLock(options.databaseUrl, [LOCK_NAMESPACE, lockKeyOf(options.taskQueue)]);
    this.runs = new RunReconciler(options.db, options.client);
    // A name that would need escaping in a visibility query is not filtered on there; the runs
    // table (this deployment's own) filters it anyway.
    this.taskQueueFilter = /^[^'"\\]+$/.test(options.taskQueue) ? ` AND TaskQueue = '${options.taskQueue}'` : '';
  }

  /** Starts trying to lead, and reconciling while it does. */
  start(): void {
    this.schedule(0);
  }

  /** Stops after the pass in progress, and gives up leadership. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.ticking;
    await this.lock.release();
  }

  private schedule(delayMs: number): void {
    this.timer = setTimeout(() => {
      this.ticking = this.tick().finally(() => {
        this.ticking = undefined;
        if (!this.stopped) this.schedule(this.options.intervalMs);
      });
    }, delayMs);
  }

  /** One pass: lead if possible, then sweep when due, then reconcile recent closes. Never rejects. */
  private async tick(): Promise<void> {
    if (!(await this.lock.tryLead())) {
      // Another process leads (or PostgreSQL is unreachable): sweep first if this one leads later.
      this.watermark = undefined;
      return;
    }
    try {
      const now = Date.now();
      if (this.watermark === undefined || now - this.lastSweep >= this.options.sweepIntervalMs) {
        await this.sweep();
        this.lastSweep = now;
        this.watermark ??= new Date(now - VISIBILITY_LAG_MS);
      }
      await this.reconcileClosed();
    } catch (err) {
      this.logThrottled(`reconciling runs with Temporal failed (will try again): ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  /** Reconciles the runs in flight at executions that were terminated or timed out since the watermark. */
  private async reconcileClosed(): Promise<void> {
    const queriedAt = Date.now();
    const since = this.watermark!.toISOString();
    const query = `WorkflowType = 'trellisRun'${this.taskQueueFilter} AND ExecutionStatus IN ('Terminated', 'TimedOut') AND CloseTime > '${since}'`;
    const closed = new Map<string, Set<string>>();
    for await (const execution of this.options.client.workflow.list({ query })) {
      const runIds = closed.get(execution.workflowId) ?? new Set<string>();
      runIds.add(execution.runId);
      closed.set(execution.workflowId, runIds);
    }
    const workflowIds = [...closed.keys()];
    for (let i = 0; i < workflowIds.length; i += MATCH_CHUNK) {
      const rows = await this.options.db
        .selectFrom('runs')
        .selectAll()
        .where('workflow_id', 'in', workflowIds.slice(i, i + MATCH_CHUNK))
        .where('status', 'in', [...IN_FLIGHT_RUN_STATUSES])
        .execute();
      for (const row of rows) {
        if (row.temporal_run_id && closed.get(row.workflow_id)?.has(row.temporal_run_id)) await this.runs.reconcile(row);
      }
    }
    this.watermark = new Date(Math.max(this.watermark!.getTime(), queriedAt - VISIBILITY_LAG_MS));
  }

  /** Reconciles every run in flight whose execution Temporal does not list as running. */
  private async sweep(): Promise<void> {
    const startedBefore = new Date(Date.now() - SWEEP_GRACE_MS);
    const inFlight = await this.options.db
      .selectFrom('runs')
      .select(['id', 'tenant_id', 'workflow_id', 'temporal_run_id'])
      .where('status', 'in', [...IN_FLIGHT_RUN_STATUSES])
      .where('temporal_run_id', 'is not', null)
      .where('started_at', '<', startedBefore)
      .execute();
    if (inFlight.length === 0) return;
    const running = new Set<string>();
    const query = `WorkflowType = 'trellisRun'${this.taskQueueFilter} AND ExecutionStatus = 'Running'`;
    for await (const execution of this.options.client.workflow.list({ query })) running.add(`${execution.workflowId}\n${execution.runId}`);
    for (const suspect of inFlight) {
      if (running.has(`${suspect.workflow_id}\n${suspect.temporal_run_id}`)) continue;
      const row = await findRun(this.options.db, suspect.tenant_id, suspect.id);
      if (row) await this.runs.reconcile(row);
    }
  }

  private logThrottled(message: string): void {
    const now = Date.now();
    if (now - (this.logged.get(message) ?? 0) < LOG_EVERY_MS) return;
    this.logged.set(message, now);
    this.options.log(message);
  }
}
