import { useState } from 'react';
import { formatTime } from '../format';
import { DEFINITIONS } from '../queries';
import { Link } from '../router';
import { useQuery } from '../use-query';

type DefinitionsAnswer = {
  definitions: {
    edges: Array<{ node: { name: string; description: string | null; latestVersion: number; archived: boolean; updatedAt: string } }>;
    pageInfo: { hasNextPage: boolean; endCursor: string | null };
  };
};

/** The tenant's definitions by name, searchable, page by page. */
export function DefinitionsPage() {
  const [search, setSearch] = useState('');
  const [cursors, setCursors] = useState<Array<string | null>>([null]);
  const after = cursors[cursors.length - 1] ?? null;
  const list = useQuery<DefinitionsAnswer>(DEFINITIONS, { first: 50, after, search: search || null }, `${search}|${after}`);
  return (
    <div className="page">
      <div className="page-head">
        <h1>Definitions</h1>
        <input
          type="search"
          placeholder="search name or description"
          value={search}
          onChange={(event) => {
            setSearch(event.target.value);
            setCursors([null]);
          }}
        />
        <span className="spacer" />
        <Link href="/editor" className="button primary">
          New definition
        </Link>
      </div>
      {list.error && <p className="error">{list.error.message}</p>}
      <table className="definitions">
        <thead>
          <tr>
            <th>Name</th>
            <th>Description</th>
            <th>Latest</th>
            <th>Updated</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {list.data?.definitions.edges.map(({ node }) => (
            <tr key={node.name} data-definition={node.name}>
              <td>
                <Link href={`/definitions/${encodeURIComponent(node.name)}`}>{node.name}</Link>
                {node.archived && <span className="muted"> (archived)</span>}
              </td>
              <td>{node.description}</td>
              <td>v{node.latestVersion}</td>
              <td>{formatTime(node.updatedAt)}</td>
              <td>
                <Link href={`/runs?definition=${encodeURIComponent(node.name)}`}>runs</Link> ·{' '}
                <Link href={`/editor/${encodeURIComponent(node.name)}`}>edit</Link>
              </td>
            </tr>
          ))}
          {list.data?.definitions.edges.length === 0 && (
            <tr>
              <td colSpan={5} className="muted">
                No definitions{search ? ' match' : ' yet: write one in the editor or apply one with the CLI'}.
              </td>
            </tr>
          )}
        </tbody>
      </table>
      <div className="pager">
        {cursors.length > 1 && (
          <button type="button" onClick={() => setCursors((old) => old.slice(0, -1))}>
            ← Previous
          </button>
        )}
        {list.data?.definitions.pageInfo.hasNextPage && (
          <button type="button" onClick={() => setCursors((old) => [...old, list.data!.definitions.pageInfo.endCursor])}>
            Next →
          </button>
        )}
      </div>
    </div>
  );
}
