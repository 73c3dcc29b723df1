import type { RunStatus, RunSummary } from '../types';

/** The runs list's filter, as the URL's query string holds it. */
export type RunsFilter = {
  definition?: string;
  status: RunStatus[];
  trigger?: string;
  startedAfter?: string;
  startedBefore?: string;
  waiting: boolean;
};

export function filterFromSearch(search: URLSearchParams): RunsFilter {
  return {
    definition: search.get('definition') || undefined,
    status: (search.get('status') ?? '').split(',').filter(Boolean) as RunStatus[],
    trigger: search.get('trigger') || undefined,
    startedAfter: search.get('after') || undefined,
    startedBefore: search.get('before') || undefined,
    waiting: search.get('waiting') === '1',
  };
}

export function searchFromFilter(filter: RunsFilter): URLSearchParams {
  const search = new URLSearchParams();
  if (filter.definition) search.set('definition', filter.definition);
  if (filter.status.length) search.set('status', filter.status.join(','));
  if (filter.trigger) search.set('trigger', filter.trigger);
  if (filter.startedAfter) search.set('after', filter.startedAfter);
  if (filter.startedBefore) search.set('before', filter.startedBefore);
  if (filter.waiting) search.set('waiting', '1');
  return search;
}

/** A datetime-local value (local time, no zone) as an ISO instant. */
function instant(local: string | undefined): string | undefined {
  if (!local) return undefined;
  const time = new Date(local);
  return Number.isNaN(time.getTime()) ? undefined : time.toISOString();
}

/** The API's RunFilter; `withStatus: false` leaves the status out (to count every status). */
export function apiFilter(filter: RunsFilter, withStatus = true): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (filter.definition) out.definition = filter.definition;
  if (withStatus && filter.status.length) out.status = filter.status;
  if (filter.trigger) out.trigger = filter.trigger;
  const after = instant(filter.startedAfter);
  const before = instant(filter.startedBefore);
  if (after) out.startedAfter = after;
  if (before) out.startedBefore = before;
  if (filter.waiting) out.waiting = true;
  return out;
}

/** Whether a run that arrived live belongs in the list, as the API's filter would decide. */
export function matchesFilter(run: RunSummary, filter: RunsFilter): boolean {
  if (filter.definition && run.definition !== filter.definition) return false;
  if (filter.status.length && !filter.status.includes(run.status)) return false;
  if (filter.trigger && run.trigger?.type !== filter.trigger) return false;
  const after = instant(filter.startedAfter);
  const before = instant(filter.startedBefore);
  if (after && run.startedAt < after) return false;
  if (before && run.startedAt >= before) return false;
  if (filter.waiting && !(run.steps ?? []).some((step) => step.status === 'WAITING')) return false;
  return true;
}

/** Newest first, as the API orders runs (by startedAt, then id). */
export function newestFirst(a: RunSummary, b: RunSummary): number {
  return a.startedAt === b.startedAt ? (a.id < b.id ? 1 : -1) : a.startedAt < b.startedAt ? 1 : -1;
}
