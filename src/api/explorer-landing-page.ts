import type { ApolloServerPlugin } from '@apollo/server';
import { builtPage } from './dashboard-routes';

const NOT_BUILT = `<!doctype html><meta charset="utf-8"><title>Trellis GraphQL explorer</title>
<p>The GraphQL explorer is built with the dashboard: <code>npm start</code> builds it when Vite is installed,
or run <code>npm run build:web</code>. POST your queries to this URL meanwhile.</p>`;

/**
 * Apollo's landing page in development: GraphiQL bundled with the dashboard (web/explorer.html),
 * so `GET /graphql` in a browser works offline, unlike Apollo's CDN-loaded Sandbox.
 * Subscriptions go over graphql-ws on the same path.
 */
export function explorerLandingPage(): ApolloServerPlugin {
  return {
    async serverWillStart() {
      return {
        async renderLandingPage() {
          return { html: async () => (await builtPage('explorer.html')) ?? NOT_BUILT };
        },
      };
    },
  };
}
