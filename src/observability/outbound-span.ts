import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { TRACER_NAME } from './tracing';

/**
 * Runs one outbound HTTP call (redirects it follows included) inside a client span, a child of
 * the activity's span: method, the URL without its query (which may hold credentials), the
 * status, or the error's class (never its message). A no-op span while tracing is off.
 */
export function withOutboundSpan<T extends { status: number }>(method: string, url: URL, call: () => Promise<T>): Promise<T> {
  return trace.getTracer(TRACER_NAME).startActiveSpan(
    `HTTP ${method}`,
    {
      kind: SpanKind.CLIENT,
      attributes: {
        'http.request.method': method,
        'url.full': `${url.origin}${url.pathname}`,
        'server.address': url.hostname,
        'server.port': Number(url.port) || (url.protocol === 'https:' ? 443 : 80),
      },
    },
    async (span) => {
      try {
        const response = await call();
        span.setAttribute('http.response.status_code', response.status);
        if (response.status >= 400) span.setStatus({ code: SpanStatusCode.ERROR });
        return response;
      } catch (err) {
        span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.name : 'Error' });
        throw err;
      } finally {
        span.end();
      }
    },
  );
}
