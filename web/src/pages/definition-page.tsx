import { diffLines } from 'diff';
import { useMemo, useState } from 'react';
import { formatTime, pretty } from '../format';
import { RunGraph } from '../graph/run-graph';
import { DEFINITION } from '../queries';
import { Link } from '../router';
import type { DefinitionDocument } from '../types';
import { useQuery } from '../use-query';

type Version = { version: number; contentHash: string; createdAt: string; spec: DefinitionDocument };
type DefinitionAnswer = {
  definition: { name: string; description: string | null; latestVersion: number; archived: boolean; versions: Version[] } | null;
};

/** A definition: its versions, the graph of one, and a line diff between two. */
export function DefinitionPage({ name }: { name: string }) {
  const answer = useQuery<DefinitionAnswer>(DEFINITION, { name }, name);
  const definition = answer.data?.definition;
  const [shown, setShown] = useState<number | null>(null);
  const [base, setBase] = useState<number | null>(null);
  const versions = definition?.versions ?? [];
  const current = versions.find((v) => v.version === (shown ?? definition?.latestVersion)) ?? versions[0];
  const compared = versions.find((v) => v.version === (base ?? (current ? current.version - 1 : 0)));
  const diff = useMemo(() => (current && compared ? diffLines(pretty(compared.spec), pretty(current.spec)) : []), [current, compared]);

  if (answer.error) return <p className="error pad">{answer.error.message}</p>;
  if (answer.data && !definition) return <p className="pad">No definition named “{name}”. <Link href="/definitions">All definitions</Link></p>;
  if (!definition || !current) return <p className="muted pad">Loading…</p>;
  return (
    <div className="page definition-page">
      <div className="page-head">
        <h1>{definition.name}</h1>
        {definition.archived && <span className="badge">archived</span>}
        <span className="muted">{definition.description}</span>
        <span className="spacer" />
        <Link href={`/runs?definition=${encodeURIComponent(name)}`}>Runs</Link>
        <Link href={`/editor/${encodeURIComponent(name)}`} className="button primary">
          Edit
        </Link>
      </div>
      <div className="definition-body">
        <aside className="versions">
          <h2>Versions</h2>
          <ol>
            {versions.map((v) => (
              <li key={v.version} className={v.version === current.version ? 'on' : ''}>
                <button type="button" className="link" onClick={() => setShown(v.version)} data-version={v.version}>
                  v{v.version}
                </button>{' '}
                <span className="muted small">{formatTime(v.createdAt)}</span>
                <div className="mono small muted">{v.contentHash.slice(0, 12)}</div>
              </li>
            ))}
          </ol>
        </aside>
        <section className="graph-pane" aria-label="graph">
          <RunGraph spec={current.spec} />
        </section>
        <section className="diff-pane">
          <h2>
            v{current.version} against{' '}
            <select value={compared?.version ?? ''} onChange={(event) => setBase(Number(event.target.value) || null)} name="compare">
              <option value="">—</option>
              {versions
                .filter((v) => v.version !== current.version)
                .map((v) => (
                  <option key={v.version} value={v.version}>
                    v{v.version}
                  </option>
                ))}
            </select>
          </h2>
          {compared ? (
            <pre className="diff" data-diff>
              {diff.map((part, index) => (
                <span key={index} className={part.added ? 'added' : part.removed ? 'removed' : 'same'}>
                  {part.value
                    .replace(/\n$/, '')
                    .split('\n')
                    .map((line) => `${part.added ? '+ ' : part.removed ? '- ' : '  '}${line}\n`)
                    .join('')}
                </span>
              ))}
            </pre>
          ) : (
            <pre className="diff">{pretty(current.spec)}</pre>
          )}
        </section>
      </div>
    </div>
  );
}
