import { lazy, Suspense, useEffect, useState } from 'react';
import { apiKey } from './api-key';
import { ApiKeyPrompt } from './api-key-prompt';
import { onUnauthenticated } from './graphql';
import { DefinitionPage } from './pages/definition-page';
import { DefinitionsPage } from './pages/definitions-page';
import { RunPage } from './pages/run-page';
import { RunsPage } from './pages/runs-page';
import { Link, routeOf, useLocation } from './router';

// The editor (CodeMirror, the JSON Schema, YAML) loads only when it is opened.
const EditorPage = lazy(() => import('./pages/editor-page'));

/** The dashboard: a header, the key prompt when the API asks for one, and the page of the path. */
export function App() {
  const { pathname } = useLocation();
  const route = routeOf(pathname);
  const [askKey, setAskKey] = useState(false);
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
        {route.page === 'run' && <RunPage key={route.id} id={route.id} />}
        {route.page === 'definitions' && <DefinitionsPage />}
        {route.page === 'definition' && <DefinitionPage key={route.name} name={route.name} />}
        {route.page === 'editor' && (
          <Suspense fallback={<p className="muted pad">Loading the editor…</p>}>
            <EditorPage key={route.name ?? ''} name={route.name} />
          </Suspense>
        )}
        {route.page === 'not-found' && <p className="pad">No page here. <Link href="/">Back to the runs</Link></p>}
      </main>
    </div>
  );
}
