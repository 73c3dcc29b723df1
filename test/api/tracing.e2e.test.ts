import { randomUUID } from 'node:crypto';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { HttpStub } from '../support/http-stub';
import { finished, startRunOf } from '../support/runs';
import { createTestContext, type TestContext } from '../support/test-context';
import { until } from '../support/until';

/**
 * OpenTelemetry traces (issue 14, item 3): one trace from the GraphQL request that starts a run,
 * through the workflow (Temporal's interceptors, their headers encrypted by the payload codec
 * like every payload), to each activity and the HTTP call it makes. Spans go to an in-memory
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
