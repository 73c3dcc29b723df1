import { ApolloServer } from '@apollo/server';
import fastifyApollo, { fastifyApolloDrainPlugin } from '@as-integrations/fastify';
import Fastify, { type FastifyInstance } from 'fastify';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import type { ApiServices, GraphQLContext } from '../../graphql/context';
import { formatError, toGraphQLError } from '../../graphql/errors';
import { createSchema } from '../../graphql/schema';
import type { HealthReport } from './health';
import { resolveTenant } from './tenant';

export type ApiServerOptions = {
  services: ApiServices;
  health: () => Promise<HealthReport>;
  /** Serve non-loopback clients while no API keys exist. @default false */
  allowRemote?: boolean;
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
  const app = Fastify({ logger: false });
  const wsServer = new WebSocketServer({ server: app.server, path: '/graphql' });
  const wsCleanup = useServer<Record<string, unknown> | undefined, { request: { socket: { remoteAddress?: string } } }>(
    {
      schema,
      onConnect: (ctx) => {
        try {
          resolveTenant(ctx.extra.request.socket.remoteAddress, { allowRemote });
          return true;
        } catch {
          return false;
        }
      },
      context: (ctx): GraphQLContext => ({
        ...options.services,
        tenantId: resolveTenant(ctx.extra.request.socket.remoteAddress, { allowRemote }),
      }),
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
    plugins: [
      fastifyApolloDrainPlugin(app),
      { serverWillStart: async () => ({ drainServer: async () => wsCleanup.dispose() }) },
    ],
  });
  await apollo.start();
  await app.register(fastifyApollo(apollo), {
    path: '/graphql',
    context: async (request) => {
      try {
        return { ...options.services, tenantId: resolveTenant(request.socket.remoteAddress, { allowRemote }) };
      } catch (err) {
        throw toGraphQLError(err);
      }
    },
  });

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
