import 'graphiql/setup-workers/vite';
import 'graphiql/style.css';
import { createGraphiQLFetcher } from '@graphiql/toolkit';
import { GraphiQL } from 'graphiql';
import { createClient } from 'graphql-ws';
import { createRoot } from 'react-dom/client';
import { authorization } from '../api-key';

/**
 * The offline GraphQL explorer served on GET /graphql in development: GraphiQL bundled with
 * Trellis (no CDN), queries over HTTP and subscriptions over graphql-ws on the same path, with the
 * dashboard's API key (this tab's sessionStorage) when one is set.
 */
const url = `${location.origin}/graphql`;
const auth = authorization();
const wsClient = createClient({
  url: url.replace(/^http/, 'ws'),
  lazy: true,
  connectionParams: () => (auth ? { Authorization: auth } : {}),
});
const fetcher = createGraphiQLFetcher({ url, wsClient, headers: auth ? { Authorization: auth } : {} });

const DEFAULT_QUERY = `# Trellis GraphQL explorer. Docs: the book icon on the left. Run with Ctrl+Enter.
query RecentRuns {
  runs(first: 10) {
    edges { node { id definition version status startedAt } }
  }
  runCounts { status count }
}

# Subscriptions work too:
# subscription { runsChanged { id definition status } }
`;

createRoot(document.getElementById('explorer')!).render(<GraphiQL fetcher={fetcher} defaultQuery={DEFAULT_QUERY} />);
