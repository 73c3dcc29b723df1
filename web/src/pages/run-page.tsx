import { useEffect, useMemo, useRef, useState } from 'react';
import { subscribe } from '../graphql';
import { durationBetween, formatClock, formatDuration, formatTime, pretty, shortId } from '../format';
import { RunGraph } from '../graph/run-graph';
import { RUN, RUN_WATCH } from '../queries';
import { Link } from '../router';
import { mergeRunUpdate } from '../run-updates';
import { StatusBadge } from '../status-badge';
import { stepHistories, type StepHistory } from '../step-history';
import type { AuditEvent, Run, StepState } from '../types';
import { RunLog } from './run-log';
import { useNow } from '../use-now';
import { useQuery } from '../use-query';
import { CancelDialog, RetryDialog, SignalDialog } from './run-actions';

const FINAL = new Set(['COMPLETED', 'FAILED', 'COMPENSATED', 'CANCELLED', 'TIMED_OUT', 'TERMINATED']);

type Dialog = { kind: 'cancel' } | { kind: 'retry'; fromStep?: string } | { kind: 'signal'; stepId: string; signal: string; approve: boolean } | null;

/**
 * One run: its graph coloured by step status and the audit trail beside it, both updated live
 * from one stream (runWatch), the selected step's details, and the actions.
 */
export function RunPage({ id }: { id: string }) {
  const loaded = useQuery<{ run: Run | null }>(RUN, { id }, id);
  const [live, setLive] = useState<Run | null>(null);
  const [events, setEvents] = useState<AuditEvent[]>([]);
  const [selected, setSelected] = useState<string | null>(null);
  const [dialog, setDialog] = useState<Dialog>(null);
  const run: Run | null = live ? { ...live, input: loaded.data?.run?.input, spec: loaded.data?.run?.spec } : (loaded.data?.run ?? null);

  useEffect(() => {
    // afterSeq follows what arrived, so a reconnect resumes after the last event: no gap, no
    // duplicate (its first answer lists every step again, which the merge takes as it is).
    const variables = { runId: id, afterSeq: 0 };
    // What arrives together is drawn once, on the next frame.
    let latest: Run | undefined;
    let buffer: AuditEvent[] = [];
    let frame = 0;
    const stop = subscribe<{ runWatch: { run: Run; events: AuditEvent[] } }>(RUN_WATCH, variables, {
      next: ({ runWatch }) => {
        latest = mergeRunUpdate(latest, runWatch.run);
        variables.afterSeq = runWatch.events.at(-1)?.seq ?? variables.afterSeq;
        buffer.push(...runWatch.events);
        frame ||= requestAnimationFrame(() => {
          frame = 0;
          const batch = buffer;
          buffer = [];
          setLive(latest ?? null);
          if (batch.length > 0) setEvents((old) => [...old, ...batch]);
        });
      },
    });
    return () => {
      stop();
      cancelAnimationFrame(frame);
    };
  }, [id]);

  const histories = useMemo(() => stepHistories(events), [events]);
  const notes = useMemo(() => stepNotes(run?.steps ?? [], histories), [run?.steps, histories]);
  const now = useNow(run !== null && !FINAL.has(run.status));

  if (loaded.error) return <p className="error pad">{loaded.error.message}</p>;
  if (loaded.data && !loaded.data.run) return <p className="pad">No run {id} (or it belongs to another tenant). <Link href="/runs">All runs</Link></p>;
  if (!run) return <p className="muted pad">Loading…</p>;

  const step = selected ? run.steps.find((s) => s.id === selected) : undefined;
  const waiting = run.steps.filter((s) => s.status === 'WAITING');
  const finished = FINAL.has(run.status);
  return (
    <div className="page run-page" data-run-status={run.status}>
      <div className="page-head">
        <h1>
          <Link href={`/definitions/${encodeURIComponent(run.definition)}`}>{run.definition}</Link>{' '}
          <span className="muted">{run.version === 0 ? 'test run' : `v${run.version}`}</span>
        </h1>
        <StatusBadge status={run.status} />
        <span className="mono muted" title={run.id}>
          {shortId(run.id)}
        </span>
        <span className="muted">
          started {formatTime(run.startedAt)} · {durationBetween(run.startedAt, run.finishedAt, now)} · {run.trigger.type}
          {run.trigger.type === 'workflow' && (
            <>
              {' '}
              of <Link href={`/runs/${run.trigger.id}`}>{shortId(run.trigger.id)}</Link>
            </>
          )}
          {run.retryOf && (
            <>
              {' '}
              · retries <Link href={`/runs/${run.retryOf}`}>{shortId(run.retryOf)}</Link>
            </>
          )}
        </span>
        <span className="spacer" />
        {run.temporal.uiUrl && (
          <a href={run.temporal.uiUrl} target="_blank" rel="noreferrer" className="temporal-link">
            Open in Temporal UI ↗
          </a>
        )}
      </div>
      <div className="toolbar">
        {run.status === 'RUNNING' && (
          <button type="button" className="danger" onClick={() => setDialog({ kind: 'cancel' })}>
            Cancel run…
          </button>
        )}
        {finished && run.trigger.type !== 'test' && (
          <button type="button" onClick={() => setDialog({ kind: 'retry', fromStep: selected ?? undefined })}>
            Retry…
          </button>
        )}
        {run.status === 'RUNNING' &&
          waiting.map((s) => {
            const signal = String(run.spec?.steps?.[s.id]?.signal ?? '');
            return (
              <span key={s.id} className="waiting-actions" data-waiting={s.id}>
                <b>{s.id}</b> waits for <code>{signal}</code>
                <button type="button" className="primary" onClick={() => setDialog({ kind: 'signal', stepId: s.id, signal, approve: true })}>
                  Approve…
                </button>
                <button type="button" onClick={() => setDialog({ kind: 'signal', stepId: s.id, signal, approve: false })}>
                  Reject…
                </button>
              </span>
            );
          })}
      </div>
      <div className="run-body">
        <section className="graph-pane" aria-label="graph">
          {run.spec ? <RunGraph spec={run.spec} steps={run.steps} notes={notes} selected={selected} onSelect={(stepId) => setSelected(stepId === selected ? null : stepId)} /> : <p className="muted pad">Loading the graph…</p>}
        </section>
        <section className="details-pane" aria-label="details">
          {step ? (
            <StepDetails step={step} history={histories.get(step.id)} onClose={() => setSelected(null)} />
          ) : (
            <RunDetails run={run} />
          )}
        </section>
        <section className="trail-pane" aria-label="audit trail">
          <h2>Audit trail</h2>
          <AuditTrail events={events} onSelect={setSelected} />
          <h2>Log</h2>
          <section aria-label="log">
            <RunLog events={events} onSelect={setSelected} />
          </section>
        </section>
      </div>
      {dialog?.kind === 'cancel' && <CancelDialog run={run} onClose={() => setDialog(null)} />}
      {dialog?.kind === 'retry' && <RetryDialog run={run} initialStep={dialog.fromStep} onClose={() => setDialog(null)} />}
      {dialog?.kind === 'signal' && (
        <SignalDialog run={run} stepId={dialog.stepId} signal={dialog.signal} approve={dialog.approve} onClose={() => setDialog(null)} />
      )}
    </div>
  );
}

/** The line under each step on the graph: why it was skipped, its error, its compensation. */
function stepNotes(steps: readonly StepState[], histories: Map<string, StepHistory>): Map<string, string> {
  const notes = new Map<string, string>();
  for (const step of steps) {
    const history = histories.get(step.id);
    if (step.status === 'SKIPPED' && history?.skipped) notes.set(step.id, history.skipped);
    else if ((step.status === 'FAILED' || step.status === 'COMPENSATION_FAILED') && step.error) notes.set(step.id, step.error.message);
    else if (step.status === 'COMPENSATED' && history?.compensation?.message) notes.set(step.id, history.compensation.message);
    else if (step.status === 'RUNNING' && step.error) notes.set(step.id, `retrying: ${step.error.message}`);
  }
  return notes;
}

function Json({ value, label }: { value: unknown; label: string }) {
  if (value === undefined || value === null) return null;
  return (
    <details open className="json">
      <summary>{label}</summary>
      <pre>{pretty(value)}</pre>
    </details>
  );
}

function RunDetails({ run }: { run: Run }) {
  return (
    <div className="details" data-details="run">
      <h2>Run</h2>
      <p className="muted">Click a step on the graph for its input, output, attempts and compensation.</p>
      <Json label="Input" value={run.input} />
      <Json label="Output" value={run.output} />
      {run.error && (
        <div className="error-box">
          <b>{run.error.type ?? 'Error'}</b>: {run.error.message}
        </div>
      )}
      <p className="muted small">
        Temporal workflow <code>{run.temporal.workflowId}</code>
      </p>
    </div>
  );
}

function StepDetails({ step, history, onClose }: { step: StepState; history: StepHistory | undefined; onClose: () => void }) {
  return (
    <div className="details" data-details="step" data-step-details={step.id}>
      <div className="details-head">
        <h2>{step.id}</h2>
        <span className="muted">{step.type}</span>
        <StatusBadge status={step.status} />
        <span className="spacer" />
        <button type="button" className="link" onClick={onClose} aria-label="close">
          ×
        </button>
      </div>
      {step.items && (
        <p>
          Items: {step.items.done} of {step.items.total} done
        </p>
      )}
      {history?.skipped && <p className="skip-reason">Skipped: {history.skipped}</p>}
      {step.error && (
        <div className="error-box" data-step-error>
          <b>{step.error.type ?? 'Error'}</b>: {step.error.message}
          {step.error.details !== undefined && <pre>{pretty(step.error.details)}</pre>}
        </div>
      )}
      <Json label="Resolved input" value={step.input} />
      <Json label="Output" value={step.output} />
      {history?.signal && <Json label={`Signal (${history.signal.message ?? ''})`} value={history.signal.payload ?? null} />}
      {history && history.attempts.length > 0 && (
        <>
          <h3>Attempts</h3>
          <table className="attempts">
            <tbody>
              {history.attempts.map((attempt) => (
                <tr key={`${attempt.attempt}-${attempt.startedAt}`} className={`outcome-${attempt.outcome}`}>
                  <td>#{attempt.attempt}</td>
                  <td>{formatClock(attempt.startedAt)}</td>
                  <td>{attempt.finishedAt ? formatDuration(Date.parse(attempt.finishedAt) - Date.parse(attempt.startedAt)) : '…'}</td>
                  <td>
                    {attempt.outcome}
                    {attempt.error && <div className="small">{attempt.error.message}</div>}
                    {attempt.message && !attempt.error && <div className="small muted">{attempt.message}</div>}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
      {history?.compensation && (
        <>
          <h3>Compensation</h3>
          <p className={history.compensation.ok ? '' : 'error'}>
            {history.compensation.ok ? 'rolled back' : 'failed'} at {formatClock(history.compensation.at)}
            {history.compensation.message ? `: ${history.compensation.message}` : ''}
          </p>
          {history.compensation.error && <p className="error">{history.compensation.error.message}</p>}
          <Json label="Compensation output" value={history.compensation.output} />
        </>
      )}
      <p className="muted small">
        {step.startedAt ? `started ${formatTime(step.startedAt)}` : 'not started'}
        {step.finishedAt ? ` · settled ${formatTime(step.finishedAt)}` : ''}
      </p>
    </div>
  );
}

function AuditTrail({ events, onSelect }: { events: readonly AuditEvent[]; onSelect: (stepId: string) => void }) {
  const end = useRef<HTMLLIElement>(null);
  useEffect(() => {
    // Braces matter: recent Chromium's scrollIntoView returns a promise, which React would take for a clean-up.
    void end.current?.scrollIntoView({ block: 'nearest' });
  }, [events.length]);
  return (
    <ol className="trail">
      {events.map((event) => (
        <li key={event.seq} className={`event type-${event.type.toLowerCase()}`} data-seq={event.seq}>
          <span className="seq">#{event.seq}</span>
          <span className="at">{formatClock(event.at)}</span>
          <span className="type">{event.type}</span>
          {event.stepId && (
            <button type="button" className="link step-ref" onClick={() => onSelect(event.stepId!)}>
              {event.stepId}
            </button>
          )}
          {event.attempt != null && event.attempt > 1 && <span className="muted">attempt {event.attempt}</span>}
          {(event.message || event.error) && <div className="event-message">{event.error?.message ?? event.message}</div>}
        </li>
      ))}
      <li ref={end} className="trail-end" aria-hidden />
    </ol>
  );
}
