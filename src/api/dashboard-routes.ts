import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';

/** Where the built dashboard lives (scripts/build-dashboard.mjs builds web/ into it). */
export const DASHBOARD_DIST = path.join(__dirname, '../../web/dist');

/** The published definition JSON Schema, served at /schema/definition.json. */
const DEFINITION_SCHEMA = path.join(__dirname, '../../schema/definition.schema.json');

/** Paths the dashboard's own router draws; each answers its index.html. */
const PAGES = ['/', '/runs', '/runs/*', '/definitions', '/definitions/*', '/editor', '/editor/*'];

/**
 * The page's security headers: scripts, styles and connections from this origin only (the
 * graphql-ws socket included), inline style attributes (React Flow positions nodes with them),
 * and no framing, so another site cannot overlay the dashboard's approve and cancel buttons.
 */
const PAGE_HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-cache',
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

const NOT_BUILT = `<!doctype html><meta charset="utf-8"><title>Trellis</title>
<p>The dashboard is not built. <code>npm start</code> builds it when Vite is installed (<code>npm install</code>
with dev dependencies), or run <code>npm run build:web</code>. The GraphQL API is at <a href="/graphql">/graphql</a>.</p>`;

/** Content types of the files Vite emits into web/dist/assets. */
const ASSET_TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
  '.woff': 'font/woff',
  '.ttf': 'font/ttf',
  '.wasm': 'application/wasm',
};

/** An asset's name: Vite writes them flat into assets/, so anything with a slash or `..` is refused. */
const ASSET_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

/** The built page `file` of web/dist, or undefined when the dashboard is not built. */
export async function builtPage(file: string): Promise<string | undefined> {
  try {
    return await readFile(path.join(DASHBOARD_DIST, file), 'utf8');
  } catch {
    return undefined;
  }
}

async function sendPage(reply: FastifyReply): Promise<FastifyReply> {
  const html = await builtPage('index.html');
  return reply.code(html ? 200 : 503).headers(PAGE_HEADERS).send(html ?? NOT_BUILT);
}

/**
 * The web dashboard on the API's port: its pages (`/`, `/runs/…`, `/definitions/…`, `/editor/…`),
 * its content-hashed assets under `/assets/` (cached for a year), and `/schema/definition.json`.
 * The dashboard reads data only through the public GraphQL API, like any other client.
 */
export const dashboardRoutes: FastifyPluginAsync = async (app) => {
  app.get<{ Params: { name: string } }>('/assets/:name', async (request, reply) => {
    const { name } = request.params;
    const type = ASSET_TYPES[path.extname(name)];
    if (!ASSET_NAME.test(name) || name.includes('..') || !type) return reply.code(404).send({ error: 'no such asset' });
    let body: Buffer;
    try {
      body = await readFile(path.join(DASHBOARD_DIST, 'assets', name));
    } catch {
      return reply.code(404).send({ error: 'no such asset' });
    }
    // Names carry a hash of their content: a new build has new names, so a copy never goes stale.
    return reply.headers({ 'content-type': type, 'cache-control': 'public, max-age=31536000, immutable', 'x-content-type-options': 'nosniff' }).send(body);
  });
  for (const url of PAGES) app.get(url, (_request, reply) => sendPage(reply));
  app.get('/schema/definition.json', async (_request, reply) => {
    const schema = await readFile(DEFINITION_SCHEMA, 'utf8');
    // The language's schema is public; editors on other origins may fetch it.
    return reply.headers({ 'content-type': 'application/schema+json', 'cache-control': 'no-cache', 'access-control-allow-origin': '*' }).send(schema);
  });
};
