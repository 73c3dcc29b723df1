import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import fastifyApollo, { fastifyApolloDrainPlugin } from '@as-integrations/fastify';
import Fastify, { type FastifyInstance } from 'fastify';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import { contextFor, runServiceFor, type ApiServices, type GraphQLContext } from '../../graphql/context';
import { formatError, toGraphQLError, toSocketError } from '../../graphql/errors';
import { PARSE_OPTIONS, documentRules, operationCostPlugin, subscribeWithLimits } from '../../graphql/operation-limits';
import { refuseDeeplyNestedOperations } from '../../graphql/operation-text-limits';
import { createSchema } from '../../graphql/schema';
import { subscribeSharingResults } from '../../graphql/shared-subscription-results';
import type { ApiLimits } from '../config';
import { PgListener } from '../db/pg-listener';
import { API_KEYS_CHANNEL } from './api-keys';
import { apiErrorHandler } from './api-error-handler';
import { quietClientSocketErrors } from './client-socket-errors';
import { shareResultJson, sharedNextPayload } from './shared-messages';
import type { HealthReport } from './health';
import { registerCodecRoutes, type CodecRoutesOptions } from './codec-routes';
import { dashboardRoutes } from './dashboard-routes';
import { explorerLandingPage } from './explorer-landing-page';
import { OriginPolicy, type OriginPolicyOptions } from './origin-policy';
import { RequestGuard, type GuardExtra } from './request-guard';
import { MAX_REQUEST_BYTES } from './request-size-limit';
import { CHAIN_HEADER } from '../triggers/trigger-chain';
import { WebhookIntake } from '../triggers/webhook-intake';
import { registerWebhookRoutes } from './webhook-routes';
import { registerEventRoutes } from './event-routes';
import { EventDispatcher } from '../triggers/event-dispatcher';
import { EventService } from '../triggers/event.service';
import { observeApi } from '../observability/api-observer';
import { logger } from '../observability/logger';
import { registerMetricsRoute } from '../observability/metrics-endpoint';

export type ApiServerOptions = {
  services: ApiServices;
  health: () => Promise<HealthReport>;
  /** Serve non-loopback clients while no API keys exist. @default false */
  allowRemote?: boolean;
  /**
   * Development mode: introspection and the GraphQL explorer (GraphiQL) on `GET /graphql`. Otherwise
   * introspection is refused and `GET /graphql` serves no page. @default false
   */
  development?: boolean;
  /** The database's URL, for the connection that listens to API key changes. */
  databaseUrl: string;
  /** `Host` and `Origin` keyless mode serves (see {@link OriginPolicy}). */
  origins?: OriginPolicyOptions;
  limits: Readonly<ApiLimits>;
  /** Serve the codec endpoint (`/codec/encode`, `/codec/decode`) for the Temporal Web UI. @default not served */
  codec?: Omit<CodecRoutesOptions, 'authenticate'>;
  /** `GET /metrics` for operators (see `registerMetricsRoute`). @default not served */
  metrics?: { operatorTenant: string | undefined; sdkMetricsUrl: string | undefined };
};

export type ApiServer = {
  app: FastifyInstance;
  /** Starts listening; resolves with the GraphQL URL. */
  listen(port: number, host?: string): Promise<string>;
  close(): Promise<void>;
};

/**
 * One HTTP port for everything: `POST /graphql` (Apollo Server), the graphql-ws protocol on the
 * same path (subscriptions), `GET /health`, and the web dashboard (`GET /`, see dashboard-routes.ts).
 */
export async function createApiServer(options: ApiServerOptions): Promise<ApiServer> {
  const allowRemote = options.allowRemote ?? false;
  const schema = createSchema();
  const development = options.development ?? false;
  const app = Fastify({ logger: false, bodyLimit: MAX_REQUEST_BYTES });
  app.setErrorHandler(apiErrorHandler);
  // Request metrics and the request's trace span, before any other hook.
  const observer = observeApi(app, { sockets: () => wsServer.clients.size, subscriptions: () => services.hub.subscriberCount });
  // Before Apollo Server parses an operation, whose parser would overflow its stack.
  app.addHook('preHandler', refuseDeeplyNestedOperations);
  const { services } = options;
  const listeningPort = (): number => {
    const address = app.server.address();
    return typeof address === 'object' && address ? address.port : 0;
  };
  const guard = new RequestGuard({
    db: services.db,
    policy: { allowRemote, origins: new OriginPolicy(options.origins ?? {}, listeningPort) },
    limits: options.limits,
  });
  // Every API process hears of every key change, whoever made it, and closes the sockets it concerns.
  const keyChanges = new PgListener(options.databaseUrl, API_KEYS_CHANNEL, {
    notification: (payload) => guard.sockets.notified(payload),
    reconnected: () => void guard.sockets.revalidate().catch(() => undefined),
  });
  // A larger message closes the socket with 1009 (Message Too Big).
  const wsServer = new WebSocketServer({ server: app.server, path: '/graphql', maxPayload: MAX_REQUEST_BYTES, verifyClient: guard.verifyUpgrade });
  const wsCleanup = useServer<Record<string, unknown> | undefined, GuardExtra>(
    {
      schema,
      // Subscribers of one tenant running the same operation share each event's execution.
      subscribe: subscribeSharingResults,
      // Never an error's message in a close reason (graphql-ws shows it unless in production).
      isProd: true,
      // The key travels in the connection's init payload: {"Authorization": "Bearer <key>"}.
      ...guard.socketHooks({
        schema,
        prepare: subscribeWithLimits(schema, { development }),
        // A socket's Trellis-Chain travels in its connection parameters, as its key does.
        contextFor: (caller, ctx): GraphQLContext => {
          const params = ctx.connectionParams ?? {};
          const chain = params[CHAIN_HEADER] ?? params[CHAIN_HEADER.toLowerCase()];
          return contextFor(services, caller, {
            chainHeader: typeof chain === 'string' ? chain : chain === undefined ? undefined : [],
            baseUrl: baseUrlOf(ctx.extra.request.headers.host, false),
          });
        },
      }),
      // Each result is serialized once for all the sockets it goes to (shared-messages.ts).
      onNext: sharedNextPayload,
      onError: (_ctx, _id, _payload, errors) => errors.map((e) => toSocketError(e.originalError ?? e)),
    },
    wsServer,
  );
  quietClientSocketErrors(wsServer);
  shareResultJson(wsServer);

  const apollo = new ApolloServer<GraphQLContext>({
    schema,
    formatError,
    // The process owns shutdown (src/main.ts stops every part in order); Apollo's own signal
    // handlers would race it and, with a terminal's Ctrl+C, leave stop() waiting forever.
    stopOnTerminationSignals: false,
    // Stack traces stay in the server's log (formatError), in development too.
    includeStacktraceInErrorResponses: false,
    parseOptions: PARSE_OPTIONS,
    // Allowed here, refused outside development by documentRules, which name NODE_ENV (Apollo's
    // own refusal would tell clients to "pass introspection: true to ApolloServer").
    introspection: true,
    validationRules: documentRules({ development }),
    plugins: [
      operationCostPlugin<GraphQLContext>({
        admit: (context, measure) => {
          try {
            guard.admitMeasured(context.caller, measure);
          } catch (err) {
            throw toGraphQLError(err);
          }
        },
      }),
      development ? explorerLandingPage() : ApolloServerPluginLandingPageDisabled(),
      observer.apolloPlugin,
      fastifyApolloDrainPlugin(app),
      { serverWillStart: async () => ({ drainServer: async () => wsCleanup.dispose() }) },
    ],
  });
  await apollo.start();
  await app.register(fastifyApollo(apollo), {
    path: '/graphql',
    context: async (request) => {
      try {
        const caller = await guard.admitHttp(request);
        return contextFor(services, caller, { chainHeader: request.headers[CHAIN_HEADER.toLowerCase()], baseUrl: baseUrlOf(request.headers.host, request.protocol === 'https') });
      } catch (err) {
        throw toGraphQLError(err);
      }
    },
  });

  await registerWebhookRoutes(app, {
    intake: new WebhookIntake({
      owner: services.db,
      tenantDb: (tenantId) => services.tenants.for(tenantId),
      runsFor: (tenantId) => runServiceFor(services, services.tenants.for(tenantId)),
      sealed: services.triggers.sealed,
      chains: services.triggers.chains,
      toleranceMs: services.triggers.settings.webhookToleranceMs,
    }),
    settings: services.triggers.settings,
    failuresPerMinute: options.limits.authFailuresPerMinute,
  });
  const eventsFor = (tenantId: string) => {
    const db = services.tenants.for(tenantId);
    return new EventService({ db, runs: runServiceFor(services, db) });
  };
  await registerEventRoutes(app, { admit: (request) => guard.admitHttp(request), eventsFor, chains: services.triggers.chains });
  // Events publishEvent stored but could not dispatch (Temporal unreachable…) are retried here.
  const dispatcher = new EventDispatcher({
    owner: services.db,
    eventsFor,
    intervalMs: services.triggers.settings.eventRetryIntervalMs,
    // A pass that fails (PostgreSQL or Temporal away) is retried at the next interval: a warning.
    log: (message) => logger.warn({ component: 'event-dispatcher' }, message),
  });
  await app.register(dashboardRoutes);
  if (options.codec) registerCodecRoutes(app, { ...options.codec, authenticate: (request) => guard.authenticateOperator(request) });
  if (options.metrics) registerMetricsRoute(app, { ...options.metrics, authenticate: (request) => guard.authenticateOperator(request) });

  app.get('/health', async (_request, reply) => {
    const report = await options.health();
    return reply.code(report.status === 'ok' ? 200 : 503).send(report);
  });

  await keyChanges.start();
  guard.start();
  dispatcher.start();

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
      guard.stop();
      await dispatcher.stop();
      await keyChanges.stop();
      observer.stop();
    },
  };
}

/** `<protocol>://<host>` a request reached the API at; undefined without a usable `Host`. */
function baseUrlOf(host: string | undefined, https: boolean): string | undefined {
  return host && /^[A-Za-z0-9.:[\]-]+$/.test(host) ? `${https ? 'https' : 'http'}://${host}` : undefined;
}
