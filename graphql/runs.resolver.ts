import type { Definition } from '../definition/definition-schema';
import { FINAL_AUDIT_EVENT_TYPES, FINAL_RUN_STATUSES } from '../definition/step-types';
import type { AuditEventRow, RunRow, RunStepRow } from '../src/db/database';
import type { RetryPreview } from '../src/runs/run.service';
import { readSpecDocument } from './definitions.resolver';
import { findVersion } from '../src/db/definitions.repository';
import { countRunsByStatus, findRun, listEvents, listRunSteps, listRuns, type RunFilter } from '../src/db/runs.repository';
import { RUN_STATUSES } from '../definition/step-types';
import { BadUserInputError, NotFoundError } from '../src/errors';
import type { Actor } from '../interpreter/run-types';
import type { GraphQLContext } from './context';
import { toGraphQLError } from './errors';
import { closeableStream, type Wakeup } from './audit-event-hub';
import { connection, decodeCursor, encodeCursor, pageSize } from './pagination';
import { sharedRunReads } from './shared-run-reads';
import { sharedPayload } from './shared-subscription-results';
import type { GraphQLResolveInfo } from 'graphql';
import type { LogLevel } from '../definition/log-levels';
import { levelsFrom, passesLevel } from '../src/runs/log-level-filter';


export const eventNode = (row: AuditEventRow) => ({
  seq: row.seq,
  at: row.at,
  type: row.type,
  stepId: row.step_id,
  attempt: row.attempt,
  inputHash: row.input_hash,
  output: row.output,
  error: row.error,
  message: row.message,
  level: row.level,
  actor: row.actor,
  superseded: row.superseded,
});

const eventNodes = new WeakMap<AuditEventRow, ReturnType<typeof eventNode>>();

/** {@link eventNode}, the same object for the same row (subscribers given one row share its result). */
function sharedEventNode(row: AuditEventRow): ReturnType<typeof eventNode> {
  let node = eventNodes.get(row);
  if (!node) eventNodes.set(row, (node = eventNode(row)));
  return node;
}

/** The Temporal Web UI page of a run's workflow. */
export function temporalUiUrl(base: string | undefined, namespace: string, workflowId: string, runId: string | null): string | null {
  if (!base) return null;
  const path = `${base.replace(/\/$/, '')}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(workflowId)}`;
  return runId ? `${path}/${runId}/history` : path;
}

export const runsResolvers = {
  Query: {
    async runs(_: unknown, args: { filter?: RunFilter | null; first?: number | null; after?: string | null }, ctx: GraphQLContext) {
      const size = pageSize(args.first);
      let after: { startedAt: Date; id: string } | undefined;
      if (args.after) {
        const [startedAt, id] = decodeCursor(args.after, ['s', 's']) as [string, string];
        after = { startedAt: new Date(startedAt), id };
        // A forged cursor's parts would reach PostgreSQL as an invalid date or uuid.
        if (Number.isNaN(after.startedAt.getTime()) || !isUuid(id)) throw new BadUserInputError('invalid cursor', [{ path: '/after', message: 'is not a cursor this API returned' }]);
      }
      const rows = await listRuns(ctx.db, ctx.tenantId, args.filter ?? {}, { after, limit: size + 1 });
      return connection(rows, size, (row) => encodeCursor(row.started_at.toISOString(), row.id), (row) => row);
    },
    run(_: unknown, args: { id: string }, ctx: GraphQLContext) {
      return isUuid(args.id) ? findRun(ctx.db, ctx.tenantId, args.id) : null;
    },
    async runCounts(_: unknown, args: { filter?: RunFilter | null }, ctx: GraphQLContext) {
      const counts = await countRunsByStatus(ctx.db, ctx.tenantId, args.filter ?? {});
      const order = (status: string) => (RUN_STATUSES as readonly string[]).indexOf(status);
      return counts.sort((a, b) => order(a.status) - order(b.status));
    },
  },
  Mutation: {
    startRun(
      _: unknown,
      args: { definition: string; version?: number | null; input?: unknown; idempotencyKey?: string | null },
      ctx: GraphQLContext,
    ) {
      // A step that calls this API from a run sends its chain: a loop is refused here too.
      const chain = ctx.services.triggers.chains.parse(ctx.request.chainHeader);
      return ctx.runs.startRun(ctx.tenantId, { ...args, trigger: ctx.actor, chain });
    },
    cancelRun(_: unknown, args: { id: string; reason?: string | null }, ctx: GraphQLContext) {
      if (!isUuid(args.id)) throw new NotFoundError(`run "${args.id}"`);
      const actor = ctx.actor;
      return ctx.runs.cancelRun(ctx.tenantId, args.id, args.reason ? { reason: args.reason, actor } : { actor });
    },
    retryRun(_: unknown, args: { id: string; fromStep?: string | null; dryRun?: boolean | null }, ctx: GraphQLContext) {
      if (!isUuid(args.id)) throw new NotFoundError(`run "${args.id}"`);
      return ctx.runs.retryRun(ctx.tenantId, args.id, { fromStep: args.fromStep, dryRun: args.dryRun, actor: ctx.actor });
    },
    async testRun(_: unknown, args: { spec: unknown; input?: unknown; mocks?: unknown }, ctx: GraphQLContext) {
      const actor: Actor = { ...ctx.actor, type: 'test' };
      return ctx.runs.testRun(ctx.tenantId, { spec: await readSpecDocument(args.spec), input: args.input, mocks: args.mocks, actor });
    },
    signalRun(_: unknown, args: { id: string; signal: string; payload?: unknown }, ctx: GraphQLContext) {
      if (!isUuid(args.id)) throw new NotFoundError(`run "${args.id}"`);
      return ctx.runs.signalRun(ctx.tenantId, args.id, { signal: args.signal, payload: args.payload, actor: ctx.actor });
    },
  },
  Subscription: {
    runEvents: {
      async subscribe(_: unknown, args: { runId: string; afterSeq?: number | null; level?: LogLevel | null }, ctx: GraphQLContext) {
        const afterSeq = afterSeqOf(args.afterSeq);
        const run = await runToWatch(ctx, args.runId);
        return closeableStream((wakeup) => streamEvents(ctx, wakeup, run.row.id, afterSeq, args.level));
      },
    },
    runEventBatches: {
      async subscribe(_: unknown, args: { runId: string; afterSeq?: number | null }, ctx: GraphQLContext) {
        const afterSeq = afterSeqOf(args.afterSeq);
        const run = await runToWatch(ctx, args.runId);
        return closeableStream((wakeup) => mapBatches(streamEventBatches(ctx, wakeup, run.row.id, afterSeq)));
      },
    },
    runUpdated: {
      async subscribe(_: unknown, args: { runId: string; changedStepsOnly?: boolean | null }, ctx: GraphQLContext) {
        const run = await runToWatch(ctx, args.runId);
        return closeableStream((wakeup) => streamRunUpdates(ctx, wakeup, run, args.changedStepsOnly === true));
      },
    },
    runWatch: {
      async subscribe(_: unknown, args: { runId: string; afterSeq?: number | null }, ctx: GraphQLContext) {
        const afterSeq = afterSeqOf(args.afterSeq);
        const run = await runToWatch(ctx, args.runId);
        return closeableStream((wakeup) => streamRunWatch(ctx, wakeup, run, afterSeq));
      },
    },
    runsChanged: {
      subscribe(_: unknown, args: { definition?: string | null; includeTests?: boolean | null }, ctx: GraphQLContext) {
        return closeableStream((wakeup) => streamRunsChanged(ctx, wakeup, args.definition ?? undefined, args.includeTests === true));
      },
    },
  },
  Run: {
    definition: (run: RunRow) => run.definition_name,
    version: (run: RunRow) => run.definition_version,
    startedAt: (run: RunRow) => run.started_at,
    finishedAt: (run: RunRow) => run.finished_at,
    retryOf: (run: RunRow) => run.retry_of,
    retryPlan: (run: RunRow) => run.retry_plan,
    variables: (run: RunRow) => run.variables,
    temporal: (run: RunRow, _: unknown, ctx: GraphQLContext) => ({
      workflowId: run.workflow_id,
      runId: run.temporal_run_id,
      uiUrl: temporalUiUrl(ctx.temporal.uiUrl, ctx.temporal.namespace, run.workflow_id, run.temporal_run_id),
    }),
    spec: async (run: RunRow | RetryPreview, _: unknown, ctx: GraphQLContext) => (await runDefinition(run, ctx)) ?? {},
    async steps(run: RunRow | RetryPreview | ChangedStepsView, _: unknown, ctx: GraphQLContext, info: GraphQLResolveInfo) {
      // runUpdated(changedStepsOnly): the stream has read the steps and chosen which to send.
      if (CHANGED_STEPS in run) return run[CHANGED_STEPS];
      if ('preview' in run) return stepStates(...(await Promise.all([runDefinition(run, ctx), previewSteps(run)])));
      // Subscribers that got this read of the run share the read of its steps (readAfterRun); queries read their own.
      const [definition, rows] =
        info.operation.operation === 'subscription' ? await sharedStepsRead(ctx, run) : await Promise.all([runDefinition(run, ctx), listRunSteps(ctx.db, run.id)]);
      return stepStates(definition, rows);
    },
    async events(run: RunRow, args: { first?: number | null; after?: string | null; level?: LogLevel | null }, ctx: GraphQLContext) {
      const size = pageSize(args.first, 100);
      const afterSeq = args.after ? (decodeCursor(args.after, ['n'])[0] as number) : 0;
      const rows = await listEvents(ctx.db, run.id, { afterSeq, limit: size + 1, ...(args.level ? { passLevels: levelsFrom(args.level) } : {}) });
      return connection(rows, size, (row) => encodeCursor(row.seq), eventNode);
    },
    async logs(run: RunRow, args: { level?: LogLevel | null; first?: number | null; after?: string | null }, ctx: GraphQLContext) {
      const size = pageSize(args.first, 100);
      const afterSeq = args.after ? (decodeCursor(args.after, ['n'])[0] as number) : 0;
      const rows = await listEvents(ctx.db, run.id, { afterSeq, limit: size + 1, logLevels: levelsFrom(args.level) });
      return connection(rows, size, (row) => encodeCursor(row.seq), eventNode);
    },
  },
};

/**
 * The run a subscription asks for, as the subscriber's tenant sees it (undefined: not the tenant's).
 * Subscribers of one tenant arriving together (dashboards opened on one run) share the read, and
 * then runUpdated's first answer.
 */
function subscribedRun(ctx: GraphQLContext, runId: string): Promise<RunRow | undefined> {
  return sharedRunReads(ctx.hub).read(ctx.tenantId, runId, 'run', () => findRun(ctx.db, ctx.tenantId, runId));
}

/**
 * A run subscription's `afterSeq` (0 when omitted). Events are numbered from 1, and a stream
 * resumes after the seq given only when the next one follows it: after a negative one nothing
 * would ever be sent, and the subscription would stay open.
 * @throws BAD_USER_INPUT at /afterSeq when negative
 */
function afterSeqOf(afterSeq: number | null | undefined): number {
  const after = afterSeq ?? 0;
  if (after < 0) {
    throw toGraphQLError(
      new BadUserInputError(`afterSeq ${after} is negative: events are numbered from 1 (0 or none: from the first)`, [{ path: '/afterSeq', message: 'must be 0 or more' }]),
    );
  }
  return after;
}

/** A run as a subscription read it before subscribing, with the run's notification generation at that read. */
type WatchedRun = { row: RunRow; generation: string };

/** The run a subscription watches, read as {@link subscribedRun}. @throws NOT_FOUND when the tenant has no such run */
async function runToWatch(ctx: GraphQLContext, runId: string): Promise<WatchedRun> {
  if (!isUuid(runId)) throw toGraphQLError(new NotFoundError(`run "${runId}"`));
  const generation = sharedRunReads(ctx.hub).generation(runId);
  const row = await subscribedRun(ctx, runId);
  if (!row) throw toGraphQLError(new NotFoundError(`run "${runId}"`));
  return { row, generation };
}

/**
 * The watched run as it is once its subscriber has subscribed to the run's notifications. The row
 * read before is current unless a notification of the run came between that read and the
 * subscription: that one woke nobody, so the run is read again (a run finished in between would
 * otherwise be sent as running, and its watcher wait for a notification that already came).
 */
async function runOnceSubscribed(ctx: GraphQLContext, watched: WatchedRun): Promise<RunRow | undefined> {
  if (sharedRunReads(ctx.hub).generation(watched.row.id) === watched.generation) return watched.row;
  return subscribedRun(ctx, watched.row.id);
}

/** Reads made after a read of a run, by that read's row, then by what they read. */
const readsAfterRun = new WeakMap<RunRow, Map<string, Promise<unknown>>>();

/**
 * `load()` started after `run` was read, once for every subscriber that got this row (the
 * subscribers woken together that shared its read, see SharedRunReads). Started after the row
 * was read, it is never older than the row: a read shared by run and generation alone could have
 * started before a change that the row already shows (a finished run sent with running steps, or
 * without its final event).
 */
function readAfterRun<T>(run: RunRow, what: string, load: () => Promise<T>): Promise<T> {
  let reads = readsAfterRun.get(run);
  if (!reads) readsAfterRun.set(run, (reads = new Map()));
  let read = reads.get(what) as Promise<T> | undefined;
  if (!read) reads.set(what, (read = load()));
  return read;
}

/** A run's definition and step rows, read after the run (see {@link readAfterRun}). */
function sharedStepsRead(ctx: GraphQLContext, run: RunRow): Promise<[Definition | undefined, RunStepRow[]]> {
  return readAfterRun(run, 'steps', () => Promise.all([runDefinition(run, ctx), listRunSteps(ctx.db, run.id)]));
}

/** The definition a run executes: a test run's own document, else its pinned version. */
async function runDefinition(run: RunRow | RetryPreview, ctx: GraphQLContext): Promise<Definition | undefined> {
  if (run.spec !== null) return run.spec as Definition;
  const version = await findVersion(ctx.db, run.tenant_id, run.definition_name, run.definition_version);
  return version?.spec as Definition | undefined;
}

/** The steps of a retry preview as the plan has them: reused ones SUCCEEDED with their outputs, the rest PENDING. */
function previewSteps(preview: RetryPreview): Array<Pick<RunStepRow, 'step_id' | 'status' | 'attempts' | 'started_at' | 'finished_at' | 'input' | 'output' | 'error'>> {
  return (preview.retry_plan?.reused ?? []).map(({ stepId, output }) => ({
    step_id: stepId,
    status: 'SUCCEEDED',
    attempts: 0,
    started_at: null,
    finished_at: null,
    input: null,
    output,
    error: null,
  }));
}

type EventNode = ReturnType<typeof eventNode>;

/** Batches already cut from a shared read's rows, by the rows, then by the seq they follow. */
const batches = new WeakMap<readonly AuditEventRow[], Map<number, readonly EventNode[]>>();

/**
 * The events of `rows` that follow `after` without a gap, up to and with the run's final event;
 * the same array for the same rows and `after` (subscribers at one place in the trail share it).
 */
function nextBatch(rows: readonly AuditEventRow[], after: number): readonly EventNode[] {
  let byAfter = batches.get(rows);
  if (!byAfter) batches.set(rows, (byAfter = new Map()));
  let batch = byAfter.get(after);
  if (!batch) {
    const nodes: EventNode[] = [];
    for (const row of rows) {
      if (row.seq !== after + nodes.length + 1) break;
      nodes.push(sharedEventNode(row));
      if (isFinalEvent(row)) break;
    }
    byAfter.set(after, (batch = nodes));
  }
  return batch;
}

type StepState = ReturnType<typeof stepState>;

function stepState(id: string, type: string, row: Partial<RunStepRow> | undefined) {
  return {
    id,
    type,
    status: row?.status ?? 'PENDING',
    attempts: row?.attempts ?? 0,
    input: row?.input ?? null,
    items: row?.items_total != null ? { done: row.items_done ?? 0, total: row.items_total } : null,
    startedAt: row?.started_at ?? null,
    finishedAt: row?.finished_at ?? null,
    output: row?.output ?? null,
    error: row?.error ?? null,
  };
}

/** Every top-level step of the definition, in its order, with what its row says (PENDING without one). */
function stepStates(definition: Definition | undefined, rows: ReadonlyArray<Partial<RunStepRow> & { step_id: string }>): StepState[] {
  const byId = new Map(rows.map((row) => [row.step_id, row]));
  return Object.entries(definition?.steps ?? {}).map(([id, step]) => stepState(id, step.type, byId.get(id)));
}

/** The steps a runUpdated(changedStepsOnly) answer lists, on the run row it answers with. */
const CHANGED_STEPS = Symbol('changedSteps');
type ChangedStepsView = RunRow & { [CHANGED_STEPS]: readonly StepState[] };

/**
 * One read of a run's steps, as every subscriber woken by the same notification got it (shared
 * reads return one array): the states, each with its JSON (what a subscriber compares with what
 * it sent), and the views built from it, by run row (subscribers woken together share one) and
 * the steps they list.
 */
type StepsRead = { states: StepState[]; prints: string[]; views: WeakMap<RunRow, Map<string, ChangedStepsView>> };
const stepsReads = new WeakMap<object, StepsRead>();

function stepsRead(definition: Definition | undefined, rows: readonly RunStepRow[]): StepsRead {
  let read = stepsReads.get(rows);
  if (!read) {
    const states = stepStates(definition, rows);
    stepsReads.set(rows, (read = { states, prints: states.map((state) => JSON.stringify(state)), views: new WeakMap() }));
  }
  return read;
}

/** Positions of the steps whose state differs from what was `sent` (every step when nothing was). */
function changedSteps(read: StepsRead, sent: readonly string[] | undefined): number[] {
  return read.states.flatMap((_, i) => (sent?.[i] === read.prints[i] ? [] : [i]));
}

/** `run` listing the steps at the `changed` positions: one object for every subscriber sending the same. */
function changedStepsView(read: StepsRead, run: RunRow, changed: readonly number[]): ChangedStepsView {
  let views = read.views.get(run);
  if (!views) read.views.set(run, (views = new Map()));
  const key = changed.join(',');
  let view = views.get(key);
  if (!view) views.set(key, (view = { ...run, [CHANGED_STEPS]: changed.map((i) => read.states[i]!) }));
  return view;
}

/** Events read at once for a subscriber; more after them are read without waiting. */
const EVENT_READ_LIMIT = 500;

/**
 * The events after `after` that can be sent now ({@link nextBatch}), from a read that the run's
 * subscribers woken together share (`afterRun`: that read the run as this row, see
 * {@link readAfterRun}); `stored`: how many the read found after `after`, `full`: it found as
 * many as it may read and all could be sent, so more may be stored after them.
 */
async function readEventBatch(
  ctx: GraphQLContext,
  runId: string,
  after: number,
  afterRun?: RunRow,
): Promise<{ events: readonly EventNode[]; stored: number; full: boolean }> {
  const load = () => listEvents(ctx.db, runId, { afterSeq: after, limit: EVENT_READ_LIMIT });
  const what = `events>${after}`;
  const rows = await (afterRun ? readAfterRun(afterRun, what, load) : sharedRunReads(ctx.hub).read(ctx.tenantId, runId, what, load));
  const events = nextBatch(rows, after);
  return { events, stored: rows.length, full: events.length === rows.length && rows.length === EVENT_READ_LIMIT };
}

const isFinalEvent = (event: Pick<AuditEventRow, 'type' | 'superseded'>) => FINAL_AUDIT_EVENT_TYPES.has(event.type) && !event.superseded;

/**
 * Whether nothing will follow `after` in the run's trail: the run is gone, or finished with no
 * event stored after `after` (a subscriber resumed after the final event, or a run whose end no
 * event records). The events are read on their own, after the run: a shared read under way could
 * be older than the finished run, and miss its final event.
 */
async function nothingToFollow(ctx: GraphQLContext, runId: string, after: number): Promise<boolean> {
  const run = await subscribedRun(ctx, runId);
  if (!run) return true;
  if (!FINAL_RUN_STATUSES.has(run.status)) return false;
  return (await listEvents(ctx.db, runId, { afterSeq: after, limit: 1 })).length === 0;
}

/**
 * Yields a run's events after `afterSeq` in `seq` order, in batches (what one read found), then
 * live ones, and ends after the run's final event, or when the run has finished and nothing
 * follows `afterSeq`. Events committed out of order (parallel steps) are held back until the gap
 * before them is filled, so subscribers never see a gap or a duplicate.
 */
async function* streamEventBatches(ctx: GraphQLContext, wakeup: Wakeup, runId: string, afterSeq: number): AsyncGenerator<readonly EventNode[]> {
  // Subscribe before the first read: an event committed in between then still wakes us. Paced:
  // events that come close together are read (once for every subscriber) and sent in one batch.
  const unsubscribe = ctx.hub.subscribe(runId, wakeup, { paced: true });
  try {
    let last = afterSeq;
    for (;;) {
      const { events: batch, stored, full } = await readEventBatch(ctx, runId, last);
      if (batch.length > 0) {
        last = batch.at(-1)!.seq;
        yield batch;
        if (isFinalEvent(batch.at(-1)!)) return;
      }
      if (full) continue;
      // An event stored after this read has woken us already, or will.
      if (stored === 0 && (await nothingToFollow(ctx, runId, last))) return;
      await wakeup.wait();
      if (wakeup.closed) return;
    }
  } finally {
    unsubscribe();
  }
}

/** {@link streamEventBatches} as runEventBatches payloads. */
async function* mapBatches(batches: AsyncGenerator<readonly EventNode[]>): AsyncGenerator<{ runEventBatches: readonly EventNode[] }> {
  for await (const batch of batches) yield sharedPayload('runEventBatches', batch);
}

/** {@link streamEventBatches} one event at a time (runEvents), LOG events below `level` left out. */
async function* streamEvents(
  ctx: GraphQLContext,
  wakeup: Wakeup,
  runId: string,
  afterSeq: number,
  level?: LogLevel | null,
): AsyncGenerator<{ runEvents: EventNode }> {
  for await (const batch of streamEventBatches(ctx, wakeup, runId, afterSeq)) {
    // Filtered here, not in the read: subscribers of one run share it, and the gap check needs every seq.
    for (const node of batch) if (passesLevel(node, level)) yield sharedPayload('runEvents', node);
  }
}

/**
 * The run now, then as it is after changes to it or its steps, until it has finished. Paced: of
 * changes that come close together only the latest state is sent (the final one always is).
 * With `changedStepsOnly`, each answer after the first lists only the steps whose state differs
 * from what this subscriber was last sent: a long run's watchers get a few steps per answer, not
 * all of them. Subscribers woken together with the same steps to send get the same object, and so
 * share its execution (shared-subscription-results.ts).
 */
async function* streamRunUpdates(ctx: GraphQLContext, wakeup: Wakeup, watched: WatchedRun, changedStepsOnly: boolean): AsyncGenerator<{ runUpdated: RunRow }> {
  const runId = watched.row.id;
  const unsubscribe = ctx.hub.subscribe(runId, wakeup, { paced: true });
  // What this subscriber was last sent of each step (its JSON), by position in the definition.
  let sent: readonly string[] | undefined;
  try {
    let run = await runOnceSubscribed(ctx, watched);
    for (;;) {
      if (!run) return;
      if (changedStepsOnly) {
        // Read after the run: steps are never older than the run they come with.
        const current: RunRow = run;
        const read = stepsRead(...(await sharedStepsRead(ctx, current)));
        const changed = changedSteps(read, sent);
        sent = read.prints;
        yield sharedPayload('runUpdated', changedStepsView(read, current, changed));
      } else {
        yield sharedPayload('runUpdated', run);
      }
      if (FINAL_RUN_STATUSES.has(run.status)) return;
      await wakeup.wait();
      if (wakeup.closed) return;
      run = await subscribedRun(ctx, runId);
    }
  } finally {
    unsubscribe();
  }
}

type RunWatchUpdate = { run: ChangedStepsView; events: readonly EventNode[] };

/** runWatch answers by their run view, then by their events: subscribers sending the same share one. */
const watchUpdates = new WeakMap<ChangedStepsView, WeakMap<readonly EventNode[], RunWatchUpdate>>();

function watchUpdate(run: ChangedStepsView, events: readonly EventNode[]): RunWatchUpdate {
  let byEvents = watchUpdates.get(run);
  if (!byEvents) watchUpdates.set(run, (byEvents = new WeakMap()));
  let update = byEvents.get(events);
  if (!update) byEvents.set(events, (update = { run, events }));
  return update;
}

/**
 * runWatch: {@link streamRunUpdates} with changed steps only and {@link streamEventBatches} on
 * one hub subscription, one read of each per wake-up (shared with every subscriber woken by it),
 * and one answer. Each wake-up reads the run, then its steps, then its events (shared with the
 * subscribers that got the same read of the run, see {@link readAfterRun}), so neither is older
 * than the run it comes with. Answers with nothing new (the run not updated, no changed step, no
 * event) are not sent. Ends once the run has finished and its final event has been sent, or
 * nothing is stored after the last event sent (resumed past the end, or an end no event records).
 */
async function* streamRunWatch(ctx: GraphQLContext, wakeup: Wakeup, watched: WatchedRun, afterSeq: number): AsyncGenerator<{ runWatch: RunWatchUpdate }> {
  const runId = watched.row.id;
  const unsubscribe = ctx.hub.subscribe(runId, wakeup, { paced: true });
  let sent: readonly string[] | undefined;
  let sentRunAt: number | undefined;
  let last = afterSeq;
  try {
    let run = await runOnceSubscribed(ctx, watched);
    for (;;) {
      if (!run) return;
      const current: RunRow = run;
      const read = stepsRead(...(await sharedStepsRead(ctx, current)));
      const { events, stored, full } = await readEventBatch(ctx, current.id, last, current);
      const changed = changedSteps(read, sent);
      const runChanged = current.updated_at.getTime() !== sentRunAt;
      if (sent === undefined || runChanged || changed.length > 0 || events.length > 0) {
        yield sharedPayload('runWatch', watchUpdate(changedStepsView(read, current, changed), events));
      }
      sent = read.prints;
      sentRunAt = current.updated_at.getTime();
      if (events.length > 0) last = events.at(-1)!.seq;
      const finalSent = events.length > 0 && isFinalEvent(events.at(-1)!);
      const finished = FINAL_RUN_STATUSES.has(current.status);
      if (finished && (finalSent || stored === 0)) return;
      // More is readable now: a full read (more stored after it), or the final event read with a
      // run read before it was written (a read now finds the run finished).
      if (!full && !(finalSent && !finished)) {
        await wakeup.wait();
        if (wakeup.closed) return;
      }
      run = await subscribedRun(ctx, runId);
    }
  } finally {
    unsubscribe();
  }
}

/**
 * Each run of the caller's tenant (of one definition, when given; test runs only when
 * `includeTests`) whose events change, as it is after the change. Runs that change while one is
 * being read are queued once each.
 */
async function* streamRunsChanged(ctx: GraphQLContext, wakeup: Wakeup, definition: string | undefined, includeTests: boolean): AsyncGenerator<{ runsChanged: RunRow }> {
  const pending = new Set<string>();
  const stop = ctx.hub.watchAll((note) => {
    if (!note || note.tenantId !== ctx.tenantId) return;
    pending.add(note.runId);
    wakeup.notify();
  });
  try {
    for (;;) {
      await wakeup.wait();
      if (wakeup.closed) return;
      const ids = [...pending];
      pending.clear();
      for (const id of ids) {
        const run = await findRun(ctx.db, ctx.tenantId, id);
        if (!run || (definition !== undefined && run.definition_name !== definition)) continue;
        if (!includeTests && (run.trigger as { type?: string } | null)?.type === 'test') continue;
        yield { runsChanged: run };
      }
    }
  } finally {
    stop();
  }
}

export function isUuid(id: string): boolean {
  return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id);
}

