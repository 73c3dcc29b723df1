import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { Resource } from '@opentelemetry/resources';
import { BatchSpanProcessor, ConsoleSpanExporter, SimpleSpanProcessor, type SpanExporter, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { OpenTelemetryActivityInboundInterceptor, OpenTelemetryWorkflowClientInterceptor, makeWorkflowExporter } from '@temporalio/interceptors-opentelemetry';
import type { WorkflowClientInterceptor } from '@temporalio/client';
import type { InjectedSinks, WorkerInterceptors } from '@temporalio/worker';
import type { OperationsConfig } from '../operations-config';

/** The name of Trellis's own tracer (API requests, outbound HTTP calls). */
export const TRACER_NAME = 'trellis';

/**
 * The workflow interceptors of `@temporalio/interceptors-opentelemetry`, bundled into the
 * interpreter's workflow code when tracing is on: they continue the starting request's trace in
 * the workflow and hand it on to each activity through a Temporal header. Headers do not go
 * through the payload codec: the header holds the W3C `traceparent` (trace and span ids) only,
 * readable in the history.
 */
export const WORKFLOW_TRACING_INTERCEPTORS = require.resolve('@temporalio/interceptors-opentelemetry/lib/workflow-interceptors');

/**
 * Tracing as a process uses it: the registered provider (the API's spans and the activities'
 * outbound calls find it through `@opentelemetry/api`), the Temporal client interceptor, and what
 * a worker adds (activity interceptors, the workflow interceptor module, and the sink that exports
 * the spans workflow code makes inside the sandbox).
 */
export type Tracing = {
  clientInterceptors: WorkflowClientInterceptor[];
  worker: { interceptors: WorkerInterceptors; sinks: InjectedSinks<any>; workflowModules: string[] };
  /** Exports what is pending and stops the provider. */
  shutdown(): Promise<void>;
};

/**
 * Starts tracing with the exporters `OTEL_*` asked for (`config`: see `operations-config.ts`), or
 * with `exporter` (tests: an in-memory exporter). `undefined` when tracing is off, the default:
 * then nothing is registered and every span Trellis asks for is a no-op.
 *
 * OTLP goes out as http/protobuf to `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, or
 * `OTEL_EXPORTER_OTLP_ENDPOINT` + `/v1/traces` (default `http://localhost:4318/v1/traces`); the
 * exporter itself reads `OTEL_EXPORTER_OTLP_HEADERS`, `…_TIMEOUT` and `…_COMPRESSION`, and the
 * provider reads `OTEL_TRACES_SAMPLER` and `OTEL_TRACES_SAMPLER_ARG`.
 */
export function startTracing(config: OperationsConfig['tracing'], role: string, exporter?: SpanExporter): Tracing | undefined {
  if (config === undefined && exporter === undefined) return undefined;
  const resource = new Resource({ 'service.name': config?.serviceName ?? 'trellis', 'trellis.role': role });
  const processors: SpanProcessor[] = [];
  if (exporter) processors.push(new SimpleSpanProcessor(exporter));
  for (const name of config?.exporters ?? []) {
    processors.push(name === 'console' ? new SimpleSpanProcessor(new ConsoleSpanExporter()) : new BatchSpanProcessor(new OTLPTraceExporter(config?.otlpTracesUrl ? { url: config.otlpTracesUrl } : {})));
  }
  const provider = new NodeTracerProvider({ resource, spanProcessors: processors });
  // The global provider, AsyncLocalStorage context and W3C trace-context propagation.
  provider.register();
  // Workflow spans are exported from the worker's side of the sandbox, through the same processors.
  const workflowSpans: SpanProcessor = {
    onStart: (span, context) => processors.forEach((processor) => processor.onStart(span, context)),
    onEnd: (span) => processors.forEach((processor) => processor.onEnd(span)),
    forceFlush: async () => void (await Promise.all(processors.map((processor) => processor.forceFlush()))),
    shutdown: async () => undefined,
  };
  return {
    clientInterceptors: [new OpenTelemetryWorkflowClientInterceptor()],
    worker: {
      interceptors: { activity: [(ctx) => ({ inbound: new OpenTelemetryActivityInboundInterceptor(ctx) })] },
      sinks: { exporter: makeWorkflowExporter(workflowSpans, resource) },
      workflowModules: [WORKFLOW_TRACING_INTERCEPTORS],
    },
    shutdown: () => provider.shutdown(),
  };
}
