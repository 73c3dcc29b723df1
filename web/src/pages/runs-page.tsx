import { useEffect, useMemo, useState } from 'react';
import { subscribe } from '../graphql';
import { DEFINITION_NAMES, RUN_COUNTS, RUNS, runsChanged } from '../queries';
import { Link, replaceSearch, useLocation } from '../router';
import { StatusBadge } from '../status-badge';
import { durationBetween, formatTime, shortId } from '../format';
import { RUN_STATUSES, TRIGGER_TYPES, type RunStatus, type RunSummary } from '../types';
import { useNow } from '../use-now';
import { useQuery } from '../use-query';
import { apiFilter, filterFromSearch, matchesFilter, newestFirst, searchFromFilter, type RunsFilter } from './runs-filter';

const PAGE_SIZE = 50;

type RunsAnswer = {
  runs: { edges: Array<{ node: RunSummary }>; pageInfo: { hasNextPage: boolean; endCursor: string | null } };
};

/**
 * Runs, newest first, live: runsChanged is opened first, then the page is loaded, and what
 * arrives is merged by id (new runs on top of the first page), as the README's "A dashboard of
 * runs" describes. Filters live in the query string, so a filtered view can be shared.
 */
export function RunsPage() {
  const { search } = useLocation();
  const filter = filterFromSearch(search);
  const filterKey = searchFromFilter(filter).toString();
  const [cursors, setCursors] = useState<Array<string | null>>([null]);
  const after = cursors[cursors.length - 1] ?? null;
  const firstPage = cursors.length === 1;
  const [live, setLive] = useState<Map<string, RunSummary>>(new Map());
  const [countsVersion, setCountsVersion] = useState(0);

  useEffect(() => {
    setCursors([null]);
    setLive(new Map());
  }, [filterKey]);

  // Subscribe before loading the page, so nothing that changes in between is missed.
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const stop = subscribe<{ runsChanged: RunSummary }>(runsChanged(filter.waiting), { definition: filter.definition ?? null, includeTests: filter.trigger === 'test' }, {
      next: ({ runsChanged: run }) => {
        setLive((old) => new Map(old).set(run.id, run));
        // Counts follow changes, at most twice a second.
        timer ??= setTimeout(() => {
          timer = undefined;
          setCountsVersion((n) => n + 1);
        }, 500);
      },
    });
    return () => {
      stop();
      if (timer) clearTimeout(timer);
    };
  }, [filterKey]);

  const variables = { filter: apiFilter(filter), first: PAGE_SIZE, after };
  const page = useQuery<RunsAnswer>(RUNS, variables, `${filterKey}|${after}`);
  // Counts of every status under the other filters (the status chips are themselves the status filter).
  const countsFilter = apiFilter(filter, false);
  const counts = useQuery<{ runCounts: Array<{ status: RunStatus; count: number }> }>(RUN_COUNTS, { filter: countsFilter }, `${JSON.stringify(countsFilter)}|${countsVersion}`);
  const names = useQuery<{ definitions: { edges: Array<{ node: { name: string } }> } }>(DEFINITION_NAMES, {}, 'names');

  const rows = useMemo(() => {
    const loaded = page.data?.runs.edges.map((edge) => edge.node) ?? [];
    const merged = new Map(loaded.map((run) => [run.id, live.get(run.id) ?? run]));
    if (firstPage) {
      const oldest = loaded.length === PAGE_SIZE ? loaded[loaded.length - 1] : undefined;
      for (const run of live.values()) {
        if (!merged.has(run.id) && (!oldest || newestFirst(run, oldest) < 0)) merged.set(run.id, run);
      }
    }
    return [...merged.values()].filter((run) => matchesFilter(run, filter)).sort(newestFirst);
  }, [page.data, live, firstPage, filterKey]);

  const allCounts = counts.data?.runCounts;
  const now = useNow(rows.some((run) => !run.finishedAt));

  const update = (change: Partial<RunsFilter>) => replaceSearch(searchFromFilter({ ...filter, ...change }));
  const toggleStatus = (status: RunStatus) =>
    update({ status: filter.status.includes(status) ? filter.status.filter((s) => s !== status) : [...filter.status, status] });

  return (
    <div className="page runs-page">
      <div className="page-head">
        <h1>Runs</h1>
        <div className="counts" aria-label="runs by status">
          {RUN_STATUSES.map((status) => {
            const count = allCounts?.find((c) => c.status === status)?.count ?? 0;
            return (
              <button
                type="button"
                key={status}
                className={`badge count status-${status.toLowerCase()} ${filter.status.includes(status) ? "on" : ""}`}
                onClick={() => toggleStatus(status)}
                data-count={status}
                title={`show only ${status} runs (click again to clear)`}
              >
                {status.replace('_', ' ')} <b>{count}</b>
              </button>
            );
          })}
        </div>
      </div>
      <form className="filters" onSubmit={(event) => event.preventDefault()}>
        <label>
          Definition
          <select value={filter.definition ?? ''} onChange={(event) => update({ definition: event.target.value || undefined })} name="definition">
            <option value="">all</option>
            {names.data?.definitions.edges.map(({ node }) => (
              <option key={node.name} value={node.name}>
                {node.name}
              </option>
            ))}
            {filter.definition && !names.data?.definitions.edges.some(({ node }) => node.name === filter.definition) && (
              <option value={filter.definition}>{filter.definition}</option>
            )}
          </select>
        </label>
        <label>
          Trigger
          <select value={filter.trigger ?? ''} onChange={(event) => update({ trigger: event.target.value || undefined })} name="trigger">
            <option value="">any</option>
            {TRIGGER_TYPES.map((type) => (
              <option key={type} value={type}>
                {type}
              </option>
            ))}
          </select>
        </label>
        <label>
          Started after
          <input type="datetime-local" value={filter.startedAfter ?? ''} onChange={(event) => update({ startedAfter: event.target.value || undefined })} />
        </label>
        <label>
          before
          <input type="datetime-local" value={filter.startedBefore ?? ''} onChange={(event) => update({ startedBefore: event.target.value || undefined })} />
        </label>
        <label className="check">
          <input type="checkbox" checked={filter.waiting} onChange={(event) => update({ waiting: event.target.checked })} name="waiting" />
          waiting for a signal
        </label>
        {filterKey && (
          <button type="button" className="link" onClick={() => replaceSearch(new URLSearchParams())}>
            clear filters
          </button>
        )}
      </form>
      {page.error && <p className="error">{page.error.message}</p>}
      <table className="runs">
        <thead>
          <tr>
            <th>Status</th>
            <th>Definition</th>
            <th>Run</th>
            <th>Trigger</th>
            <th>Started</th>
            <th>Duration</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((run) => (
            <tr key={run.id} data-run={run.id}>
              <td>
                <StatusBadge status={run.status} />
              </td>
              <td>
                <Link href={`/definitions/${encodeURIComponent(run.definition)}`}>{run.definition}</Link>{' '}
                <span className="muted">{run.version === 0 ? 'test' : `v${run.version}`}</span>
              </td>
              <td>
                <Link href={`/runs/${run.id}`} className="mono">
                  {shortId(run.id)}
                </Link>
              </td>
              <td>{run.trigger?.type}</td>
              <td>{formatTime(run.startedAt)}</td>
              <td>{durationBetween(run.startedAt, run.finishedAt, now)}</td>
            </tr>
          ))}
          {!page.loading && rows.length === 0 && (
            <tr>
              <td colSpan={6} className="muted">
                No runs{filterKey ? ' match these filters' : ' yet: start one with the CLI, GraphQL or the editor’s test run'}.
              </td>
            </tr>
          )}
        </tbody>
      </table>
      <div className="pager">
        {!firstPage && (
          <button type="button" onClick={() => setCursors((old) => old.slice(0, -1))}>
            ← Newer
          </button>
        )}
        {page.data?.runs.pageInfo.hasNextPage && (
          <button type="button" onClick={() => setCursors((old) => [...old, page.data!.runs.pageInfo.endCursor])}>
            Older →
          </button>
        )}
        {!firstPage && <span className="muted">page {cursors.length} (not live: new runs appear on the first page)</span>}
      </div>
    </div>
  );
}
