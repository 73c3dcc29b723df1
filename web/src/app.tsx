import { lazy, Suspense, useEffect, useMemo, useState } from 'react';
import { apiKey } from './api-key';
import { ApiKeyPrompt } from './api-key-prompt';
import { onUnauthenticated } from './graphql';
import { DefinitionsPage } from './pages/definitions-page';
import { RunsPage } from './pages/runs-page';
import { RUN } from './queries';
import { Link, routeOf, useLocation } from './router';
import { prefetchQuery } from './use-query';

// The runs list (the first page) needs neither the graph (React Flow, dagre) nor the editor
// (CodeMirror, the JSON Schema, YAML): pages that do load them when they are opened.
const EditorPage = lazy(() => import('./pages/editor-page'));
const RunPage = lazy(() => import('./pages/run-page').then((m) => ({ default: m.RunPage })));
const DefinitionPage = lazy(() => import('./pages/definition-page').then((m) => ({ default: m.DefinitionPage })));
const loading = <p className="muted pad">Loading…</p>;

/** The dashboard: a header, the key prompt when the API asks for one, and the page of the path. */
export function App() {
  const { pathname } = useLocation();
  const route = routeOf(pathname);
  const [askKey, setAskKey] = useState(false);
  // A run's answer comes while its page's code (the graph) loads, not after: asked once per run shown.
  const runId = route.page === 'run' ? route.id : undefined;
  useMemo(() => runId !== undefined && prefetchQuery(RUN, { id: runId }), [runId]);
  useEffect(() => onUnauthenticated(() => setAskKey(true)), []);
  const section = route.page === 'run' ? 'runs' : route.page === 'definition' ? 'definitions' : route.page;
  return (
    <div className="app">
      <header className="top">
        <Link href="/" className="brand">
          Trellis
        </Link>
        <nav>
          <Link href="/runs" className={section === 'runs' ? 'active' : ''}>
            Runs
          </Link>
          <Link href="/definitions" className={section === 'definitions' ? 'active' : ''}>
            Definitions
          </Link>
          <Link href="/editor" className={section === 'editor' ? 'active' : ''}>
            Editor
          </Link>
        </nav>
        <span className="spacer" />
        <a href="/graphql" className="explorer-link">
          GraphQL explorer
        </a>
        <button type="button" className="link" onClick={() => setAskKey(true)}>
          {apiKey() ? 'API key ✓' : 'API key'}
        </button>
      </header>
      {askKey && <ApiKeyPrompt onClose={() => setAskKey(false)} />}
      <main>
        {route.page === 'runs' && <RunsPage />}
        {route.page === 'run' && (
          <Suspense fallback={loading}>
            <RunPage key={route.id} id={route.id} />
          </Suspense>
        )}
        {route.page === 'definitions' && <DefinitionsPage />}
        {route.page === 'definition' && (
          <Suspense fallback={loading}>
            <DefinitionPage key={route.name} name={route.name} />
          </Suspense>
        )}
        {route.page === 'editor' && (
          <Suspense fallback={loading}>
            <EditorPage key={route.name ?? ''} name={route.name} />
          </Suspense>
        )}
        {route.page === 'not-found' && <p className="pad">No page here. <Link href="/">Back to the runs</Link></p>}
      </main>
    </div>
  );
}
