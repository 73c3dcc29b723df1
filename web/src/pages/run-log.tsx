import { useMemo, useState } from 'react';
import { formatClock } from '../format';
import type { AuditEvent } from '../types';

/** The log levels, lowest first, as the API names them (LogLevel). */
const LEVELS = ['debug', 'info', 'warn', 'error'] as const;
type Level = (typeof LEVELS)[number];

/**
 * The run's log: its LOG events of the chosen level and above, from the events the page already
 * streams (runEvents), so lines appear live with the trail. Clicking a line's step selects it.
 */
export function RunLog({ events, onSelect }: { events: readonly AuditEvent[]; onSelect: (stepId: string) => void }) {
  const [minimum, setMinimum] = useState<Level>('debug');
  const lines = useMemo(() => {
    const from = LEVELS.indexOf(minimum);
    return events.filter((event) => event.type === 'LOG' && LEVELS.indexOf((event.level ?? 'info') as Level) >= from);
  }, [events, minimum]);
  return (
    <div className="run-log">
      <label className="log-filter">
        Level{' '}
        <select aria-label="log level" value={minimum} onChange={(change) => setMinimum(change.target.value as Level)}>
          {LEVELS.map((level) => (
            <option key={level} value={level}>
              {level === 'debug' ? 'all' : `${level} and above`}
            </option>
          ))}
        </select>
      </label>
      {lines.length === 0 ? (
        <p className="muted">No log lines{minimum === 'debug' ? '' : ` of level ${minimum} or above`}.</p>
      ) : (
        <ol className="log-lines">
          {lines.map((line) => (
            <li key={line.seq} className={`log-line level-${line.level ?? 'info'}`} data-seq={line.seq} data-level={line.level ?? 'info'}>
              <span className="at">{formatClock(line.at)}</span>
              <span className="level">{(line.level ?? 'info').toUpperCase()}</span>
              {line.stepId && (
                <button type="button" className="link step-ref" onClick={() => onSelect(line.stepId!)}>
                  {line.stepId}
                </button>
              )}
              {line.attempt != null && line.attempt > 1 && <span className="muted">attempt {line.attempt}</span>}
              <pre className="log-message">{line.message}</pre>
            </li>
          ))}
        </ol>
      )}
    </div>
  );
}
