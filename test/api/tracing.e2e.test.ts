import { randomUUID } from 'node:crypto';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { Worker } from '@temporalio/worker';
import { WORKFLOW_TRACING_INTERCEPTORS } from '../../src/observability/tracing';
import { trellisDataConverter } from '../../src/temporal/data-converter';
import { bundleInterpreter } from '../../src/temporal/worker';
import { HttpStub } from '../support/http-stub';
import { finished, save, startRunOf } from '../support/runs';
import { createTestContext, type TestContext } from '../support/test-context';
import { until } from '../support/until';

/**
 * OpenTelemetry traces (issue 14, item 3): one trace from the GraphQL request that starts a run,
 * through the workflow (Temporal's interceptors), to each activity and the HTTP call it makes. Spans go to an in-memory
 * exporter; the worker bundles the workflow interceptors as a deployment with OTEL_* set does.
 */

const exporter = new InMemorySpanExporter();
let ctx: TestContext;
let stub: HttpStub;

beforeAll(async () => {
  [ctx, stub] = await Promise.all([createTestContext({ spanExporter: exporter }), new HttpStub().start()]);
  stub.on('GET /stock', { status: 200, body: { inStock: 3 } });
}, 120_000);

afterAll(async () => {
  await Promise.all([ctx?.stop(), stub?.stop()]);
});

/** The span and its ancestors, nearest first. */
function ancestry(span: ReadableSpan, spans: readonly ReadableSpan[]): ReadableSpan[] {
  const chain = [span];
  for (let parent = span.parentSpanId; parent !== undefined; ) {
    const next = spans.find((candidate) => candidate.spanContext().spanId === parent);
    if (!next) break;
    chain.push(next);
    parent = next.parentSpanId;
  }
  return chain;
}

it('follows a run from the GraphQL request through the workflow and its activity to the HTTP call', async () => {
  const run = await startRunOf(ctx, { name: `traced-${randomUUID().slice(0, 8)}`, steps: { stock: { type: 'http', method: 'GET', url: `${stub.url}/stock` } } });
  expect((await finished(ctx, run)).status).toBe('COMPLETED');

  let call: ReadableSpan | undefined;
  await until('the HTTP call and the workflow are exported', () => {
    const spans = exporter.getFinishedSpans();
    call = spans.find((span) => span.name === 'HTTP GET' && span.attributes['url.full'] === `${stub.url}/stock`);
    return call !== undefined && spans.some((span) => span.name === 'RunWorkflow:trellisRun');
  });
  const spans = exporter.getFinishedSpans();
  const chain = ancestry(call!, spans);
  expect(chain.map((span) => span.name)).toEqual([
    'HTTP GET',
    'RunActivity:httpRequest',
    'StartActivity:httpRequest',
    'RunWorkflow:trellisRun',
    'StartWorkflow:trellisRun',
    'graphql mutation',
  ]);
  expect(new Set(chain.map((span) => span.spanContext().traceId)).size).toBe(1);
  expect(chain.at(-1)!.parentSpanId).toBeUndefined();
  expect(call!.attributes['http.response.status_code']).toBe(200);

}, 120_000);

it('hands the trace on in a Temporal header that holds the W3C trace context and nothing else', async () => {
  // Temporal headers do not go through the payload codec: what they hold is readable in the history.
  const run = await startRunOf(ctx, { name: `traced-${randomUUID().slice(0, 8)}`, steps: { stock: { type: 'http', method: 'GET', url: `${stub.url}/stock` } } });
  await finished(ctx, run);
  const history = await ctx.trellis.client.workflow.getHandle(run.temporal.workflowId).fetchHistory();
  const started = history.events![0]!.workflowExecutionStartedEventAttributes!;
  const headers = Object.entries(started.header?.fields ?? {}).map(([name, payload]) => [name, JSON.parse(Buffer.from(payload.data!).toString())]);
  expect(headers).toEqual([['_tracer-data', { traceparent: expect.stringMatching(/^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/) }]]);
  // The run's input itself stays encrypted.
  expect(Buffer.from(started.input!.payloads![0]!.metadata!.encoding!).toString()).toBe('binary/encrypted');
}, 120_000);

it('replays a traced run that started a child run on a worker traced all along', async () => {
  // Tracing's span ids and child runs' ids share the sandbox's random numbers: deterministic as
  // long as the bundle does not change under a run (see test/histories/replay-traced.test.ts).
  const child = `traced-child-${randomUUID().slice(0, 8)}`;
  await save(ctx, { name: child, output: '{% $input.n * 10 %}', steps: { noop: { type: 'transform', value: null } } });
  const run = await startRunOf(ctx, { name: `traced-parent-${randomUUID().slice(0, 8)}`, steps: { child: { type: 'workflow', definition: child, input: { n: 4 } } } });
  expect((await finished(ctx, run)).status).toBe('COMPLETED');
  const history = await ctx.trellis.client.workflow.getHandle(run.temporal.workflowId).fetchHistory();
  const modules = [WORKFLOW_TRACING_INTERCEPTORS];
  const options = { workflowBundle: await bundleInterpreter(modules), interceptors: { workflowModules: modules }, dataConverter: trellisDataConverter(ctx.trellis.codec) };
  await expect(Worker.runReplayHistory(options, history, run.temporal.workflowId)).resolves.toBeUndefined();
}, 120_000);
