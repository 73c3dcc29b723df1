
import type { Definition } from '../definition/definition-schema';
import type { AuditEventRow, RunRow } from '../src/db/database';
import { findVersion } from '../src/db/definitions.repository';
import { findRun, listEvents, listRunSteps } from '../src/db/runs.repository';
import { BadUserInputError, NotFoundError } from '../src/errors';
import type { Actor } from '../interpreter/run-types';
import type { GraphQLContext } from './context';
import { toGraphQLError } from './errors';
import { Wakeup } from './audit-event-hub';

const MAX_PAGE = 1000;
const FINAL_EVENTS = new Set(['RUN_COMPLETED', 'RUN_FAILED', 'RUN_CANCELLED']);

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
  actor: row.actor,
});

const encodeCursor = (seq: number) => Buffer.from(`seq:${seq}`).toString('base64url');

function decodeCursor(cursor: string): number {
  const match = /^seq:(\d+)$/.exec(Buffer.from(cursor, 'base64url').toString());
  if (!match) throw new BadUserInputError('invalid cursor', [{ path: '/after', message: 'is not a cursor this API returned' }]);
  return Number(match[1]);
}

/** The Temporal Web UI page of a run's workflow. */
export function temporalUiUrl(base: string | undefined, namespace: string, workflowId: string, runId: string | null): string | null {
  if (!base) return null;
  const path = `${base.replace(/\/$/, '')}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(workflowId)}`;
  return runId ? `${path}/${runId}/history` : path;
}

export const runsResolvers = {
  Query: {
    run(_: unknown, args: { id: string }, ctx: GraphQLContext) {
      return isUuid(args.id) ? findRun(ctx.db, ctx.tenantId, args.id) : null;
    },
  },
  Mutation: {
    startRun(
      _: unknown,
      args: { definition: string; version?: number | null; input?: unknown; idempotencyKey?: string | null },
      ctx: GraphQLContext,
    ) {
      const trigger: Actor = { type: 'api', id: ctx.tenantId };
      return ctx.runs.startRun(ctx.tenantId, { ...args, trigger });
    },
    cancelRun(_: unknown, args: { id: string }, ctx: GraphQLContext) {
      if (!isUuid(args.id)) throw new NotFoundError(`run "${args.id}"`);
      return ctx.runs.cancelRun(ctx.tenantId, args.id);
    },
  },
  Subscription: {
    runEvents: {
      async subscribe(_: unknown, args: { runId: string; afterSeq?: number | null }, ctx: GraphQLContext) {
        const run = isUuid(args.runId) ? await findRun(ctx.db, ctx.tenantId, args.runId) : undefined;
        if (!run) throw toGraphQLError(new NotFoundError(`run "${args.runId}"`));
        return streamEvents(ctx, run.id, args.afterSeq ?? 0);
      },
    },
  },
  Run: {
    definition: (run: RunRow) => run.definition_name,
    version: (run: RunRow) => run.definition_version,
    startedAt: (run: RunRow) => run.started_at,
    finishedAt: (run: RunRow) => run.finished_at,
    temporal: (run: RunRow, _: unknown, ctx: GraphQLContext) => ({
      workflowId: run.workflow_id,
      runId: run.temporal_run_id,
      uiUrl: temporalUiUrl(ctx.temporal.uiUrl, ctx.temporal.namespace, run.workflow_id, run.temporal_run_id),
    }),
    async steps(run: RunRow, _: unknown, ctx: GraphQLContext) {
      const [version, rows] = await Promise.all([
        findVersion(ctx.db, run.tenant_id, run.definition_name, run.definition_version),
        listRunSteps(ctx.db, run.id),
      ]);
      const byId = new Map(rows.map((row) => [row.step_id, row]));
      const steps = (version?.spec as Definition | undefined)?.steps ?? {};
      return Object.entries(steps).map(([id, step]) => {
        const row = byId.get(id);
        return {
          id,
          type: step.type,
          status: row?.status ?? 'PENDING',
          attempts: row?.attempts ?? 0,
          startedAt: row?.started_at ?? null,
          finishedAt: row?.finished_at ?? null,
          output: row?.output ?? null,
          error: row?.error ?? null,
        };
      });
    },
    async events(run: RunRow, args: { first?: number | null; after?: string | null }, ctx: GraphQLContext) {
      const first = args.first ?? 100;
      if (first < 0 || first > MAX_PAGE) throw new BadUserInputError('invalid page size', [{ path: '/first', message: `must be between 0 and ${MAX_PAGE}` }]);
      const afterSeq = args.after ? decodeCursor(args.after) : 0;
      const rows = await listEvents(ctx.db, run.id, { afterSeq, limit: first + 1 });
      const page = rows.slice(0, first);
      return {
        edges: page.map((row) => ({ cursor: encodeCursor(row.seq), node: eventNode(row) })),
        pageInfo: { hasNextPage: rows.length > first, endCursor: page.length > 0 ? encodeCursor(page[page.length - 1]!.seq) : null },
      };
    },
  },
};

/**
 * Yields a run's events after `afterSeq` in `seq` order, then live ones, and ends after the run's
 * final event. Events committed out of order (parallel steps) are held back until the gap before
 * them is filled, so subscribers never see a gap or a duplicate.
 */
async function* streamEvents(ctx: GraphQLContext, runId: string, afterSeq: number): AsyncGenerator<{ runEvents: ReturnType<typeof eventNode> }> {
  const wakeup = new Wakeup();
  // Subscribe before the first read: an event committed in between then still wakes us.
  const unsubscribe = ctx.hub.subscribe(runId, wakeup);
  try {
    let last = afterSeq;
    for (;;) {
      const rows = await listEvents(ctx.db, runId, { afterSeq: last, limit: 500 });
      let contiguous = true;
      for (const row of rows) {
        if (row.seq !== last + 1) {
          contiguous = false;
          break;
        }
        last = row.seq;
        yield { runEvents: eventNode(row) };
        if (FINAL_EVENTS.has(row.type)) return;
      }
      if (contiguous && rows.length === 500) continue;
      await wakeup.wait();
    }
  } finally {
    unsubscribe();
  }
}

function isUuid(id: string): boolean {
  return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id);
}

