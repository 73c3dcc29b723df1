import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { ApolloServerPluginLandingPageLocalDefault } from '@apollo/server/plugin/landingPage/default';
import fastifyApollo, { fastifyApolloDrainPlugin } from '@as-integrations/fastify';
import Fastify, { type FastifyInstance } from 'fastify';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import { contextFor, type ApiServices, type GraphQLContext } from '../../graphql/context';
import { formatError, toGraphQLError } from '../../graphql/errors';
import { documentRules, operationCostPlugin, subscribeWithLimits } from '../../graphql/operation-limits';
import { createSchema } from '../../graphql/schema';
import type { HealthReport } from './health';
import { MAX_REQUEST_BYTES, requestTooLargeHandler } from './request-size-limit';
import { authenticate, type Caller } from './authenticate';
import { registerCodecRoutes, type CodecRoutesOptions } from './codec-routes';

export type ApiServerOptions = {
  services: ApiServices;
  health: () => Promise<HealthReport>;
  /** Serve non-loopback clients while no API keys exist. @default false */
  allowRemote?: boolean;
  /**
   * Development mode: introspection and the Apollo Sandbox on `GET /graphql`. Otherwise
   * introspection is refused and `GET /graphql` serves no page. @default false
   */
  development?: boolean;
  /** Serve the codec endpoint (`/codec/encode`, `/codec/decode`) for the Temporal Web UI. @default not served */
  codec?: Omit<CodecRoutesOptions, 'db'>;
};

export type ApiServer = {
  app: FastifyInstance;
  /** Starts listening; resolves with the GraphQL URL. */
  listen(port: number, host?: string): Promise<string>;
  close(): Promise<void>;
};

/**
 * One HTTP port for everything: `POST /graphql` (Apollo Server), the graphql-ws protocol on the
 * same path (subscriptions) and `GET /health`.
 */
export async function createApiServer(options: ApiServerOptions): Promise<ApiServer> {
  const allowRemote = options.allowRemote ?? false;
  const schema = createSchema();
  const development = options.development ?? false;
  const app = Fastify({ logger: false, bodyLimit: MAX_REQUEST_BYTES });
  app.setErrorHandler(requestTooLargeHandler);
  // A larger message closes the socket with 1009 (Message Too Big).
  const wsServer = new WebSocketServer({ server: app.server, path: '/graphql', maxPayload: MAX_REQUEST_BYTES });
  const { services } = options;
  const wsCleanup = useServer<Record<string, unknown> | undefined, { request: { socket: { remoteAddress?: string } }; caller?: Caller }>(
    {
      schema,
      onSubscribe: subscribeWithLimits(schema, { development }),
      // The key travels in the connection's init payload: {"Authorization": "Bearer <key>"}.
      onConnect: async (ctx) => {
        const params = ctx.connectionParams ?? {};
        const header = params.Authorization ?? params.authorization;
        try {
          ctx.extra.caller = await authenticate(services.db, typeof header === 'string' ? header : undefined, ctx.extra.request.socket.remoteAddress, { allowRemote });
          return true;
        } catch {
          return false; // closes the socket with 4403 Forbidden
        }
      },
      context: (ctx): GraphQLContext => contextFor(services, ctx.extra.caller!),
      onError: (_ctx, _id, _payload, errors) => errors.map((e) => toGraphQLError(e.originalError ?? e)),
    },
    wsServer,
  );

  const apollo = new ApolloServer<GraphQLContext>({
    schema,
    formatError,
    // The process owns shutdown (src/main.ts stops every part in order); Apollo's own signal
    // handlers would race it and, with a terminal's Ctrl+C, leave stop() waiting forever.
    stopOnTerminationSignals: false,
    // Allowed here, refused outside development by documentRules, which name NODE_ENV (Apollo's
    // own refusal would tell clients to "pass introspection: true to ApolloServer").
    introspection: true,
    validationRules: documentRules({ development }),
    plugins: [
      operationCostPlugin(),
      development ? ApolloServerPluginLandingPageLocalDefault({ embed: true }) : ApolloServerPluginLandingPageDisabled(),
      fastifyApolloDrainPlugin(app),
      { serverWillStart: async () => ({ drainServer: async () => wsCleanup.dispose() }) },
    ],
  });
  await apollo.start();
  await app.register(fastifyApollo(apollo), {
    path: '/graphql',
    context: async (request) => {
      try {
        return contextFor(services, await authenticate(services.db, request.headers.authorization, request.socket.remoteAddress, { allowRemote }));
      } catch (err) {
        throw toGraphQLError(err);
      }
    },
  });

  if (options.codec) registerCodecRoutes(app, { ...options.codec, db: services.db });

  app.get('/health', async (_request, reply) => {
    const report = await options.health();
    return reply.code(report.status === 'ok' ? 200 : 503).send(report);
  });

  return {
    app,
    async listen(port, host = '127.0.0.1') {
      await app.listen({ port, host });
      const address = app.server.address();
      const actualPort = typeof address === 'object' && address ? address.port : port;
      return `http://${host === '0.0.0.0' ? 'localhost' : host}:${actualPort}/graphql`;
    },
    async close() {
      await apollo.stop();
      wsServer.close();
      await app.close();
    },
  };
}
