import type { ApolloServerPlugin } from '@apollo/server';
import { context as otelContext, SpanKind, SpanStatusCode, trace, type Span } from '@opentelemetry/api';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { BoundedLabel, metrics } from './metrics';
import { TRACER_NAME } from './tracing';

/** What the API observes: its request metrics, its trace spans and its live counts. */
export type ApiObserver = {
  /** Counts GraphQL operations over HTTP by type and outcome, and names the request's span. */
  apolloPlugin: ApolloServerPlugin<any>;
  /** Stops reporting this server's live counts. */
  stop(): void;
};

/** Error codes are ours and Apollo's, a short fixed list; anything else is counted as `OTHER`. */
const ERROR_CODE = /^[A-Z][A-Z_]{0,39}$/;

/**
 * Observes an API server: every HTTP request is counted and timed by route pattern (never the raw
 * URL, whose ids would make a series per run), method and status; every request runs inside a
 * server span, so the GraphQL operation's spans and the workflows it starts (their client
 * interceptor reads the active span) are its children. The span is a no-op while tracing is off.
 */
export function observeApi(app: FastifyInstance, live: { sockets: () => number; subscriptions: () => number }): ApiObserver {
  const tracer = trace.getTracer(TRACER_NAME);
  const spans = new WeakMap<FastifyRequest, Span>();
  const outcomes = new BoundedLabel(50);
  metrics.liveCounts.sockets.add(live.sockets);
  metrics.liveCounts.subscriptions.add(live.subscriptions);

  // The callback form: `done` runs the rest of the request (hooks, handler) synchronously, so the
  // span is the active context for everything that follows, promises included.
  app.addHook('onRequest', (request, _reply, done) => {
    const route = request.routeOptions.url ?? 'unmatched';
    const span = tracer.startSpan(`${request.method} ${route}`, {
      kind: SpanKind.SERVER,
      attributes: { 'http.request.method': request.method, 'http.route': route, 'url.path': request.url.split('?')[0] },
    });
    spans.set(request, span);
    otelContext.with(trace.setSpan(otelContext.active(), span), done);
  });
  app.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url ?? 'unmatched';
    const status = reply.statusCode;
    metrics.httpRequests.inc({ route, method: request.method, status: String(status) });
    metrics.httpDuration.observe({ route, method: request.method }, reply.elapsedTime / 1000);
    const span = spans.get(request);
    if (span) {
      span.setAttribute('http.response.status_code', status);
      if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    }
    done();
  });

  const apolloPlugin: ApolloServerPlugin<any> = {
    async requestDidStart() {
      const startedAt = process.hrtime.bigint();
      return {
        async didResolveOperation(requestContext) {
          const span = trace.getActiveSpan();
          const type = requestContext.operation?.operation;
          if (span && type) {
            span.setAttribute('graphql.operation.type', type);
            if (requestContext.operationName) span.setAttribute('graphql.operation.name', requestContext.operationName);
            span.updateName(`graphql ${type}${requestContext.operationName ? ` ${requestContext.operationName}` : ''}`);
          }
        },
        async willSendResponse(requestContext) {
          const operation = requestContext.operation?.operation ?? 'unknown';
          const body = requestContext.response.body;
          const errors = body.kind === 'single' ? body.singleResult.errors : undefined;
          const code = errors?.[0]?.extensions?.code;
          const outcome = errors === undefined || errors.length === 0 ? 'ok' : typeof code === 'string' && ERROR_CODE.test(code) ? outcomes.value(code) : 'OTHER';
          metrics.graphqlOperations.inc({ operation, outcome });
          metrics.graphqlDuration.observe({ operation }, Number(process.hrtime.bigint() - startedAt) / 1e9);
        },
      };
    },
  };

  return {
    apolloPlugin,
    stop() {
      metrics.liveCounts.sockets.delete(live.sockets);
      metrics.liveCounts.subscriptions.delete(live.subscriptions);
    },
  };
}
