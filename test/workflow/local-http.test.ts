import { randomUUID } from 'node:crypto';
import { temporal } from '@temporalio/proto';
import { HttpStub } from '../support/http-stub';
import { captureOutput, leaks, placesOf } from '../support/leak-search';
import { eventTrail, runToEnd, stepOf, type RunView } from '../support/runs';
import { createTestContext, type TestContext } from '../support/test-context';

// `"local": true` on http steps and actions (issue 11, item 5): the same request, retries, audit
// trail and failures as a regular activity, run as a Temporal local activity.

let ctx: TestContext;
let stub: HttpStub;
let output: ReturnType<typeof captureOutput>;

const TOKEN = 'tok_live_4c9e1a7b3f2d8e6a';

beforeAll(async () => {
  output = captureOutput();
  [ctx, stub] = await Promise.all([createTestContext({ env: { TRELLIS_SECRET_TOKEN: TOKEN } }), new HttpStub().start()]);
});

afterAll(async () => {
  await Promise.all([ctx?.stop(), stub?.stop()]);
  output?.restore();
});

const { EventType } = temporal.api.enums.v1;

/** How the run's http calls were scheduled: activity tasks (regular) and markers (local activities, audit batches included). */
async function scheduling(run: RunView): Promise<{ activityTasks: string[]; markers: number }> {
  const history = await ctx.trellis.client.workflow.getHandle(run.temporal.workflowId).fetchHistory();
  const events = history.events ?? [];
  return {
    activityTasks: events.filter((e) => e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED).map((e) => String(e.activityTaskScheduledEventAttributes?.activityType?.name)),
    markers: events.filter((e) => e.eventType === EventType.EVENT_TYPE_MARKER_RECORDED).length,
  };
}

/** Runs the same one-step definition with and without `local`, returning both runs. */
async function bothWays(route: string, step: Record<string, unknown>): Promise<{ local: RunView; regular: RunView }> {
  const name = `local-http-${randomUUID().slice(0, 8)}`;
  const spec = (local: boolean) => ({ name: `${name}-${local ? 'local' : 'regular'}`, steps: { call: { type: 'http', method: 'POST', url: `${stub.url}${route}`, timeout: '5s', ...step, ...(local ? { local: true } : {}) } } });
  const local = await runToEnd(ctx, spec(true));
  const regular = await runToEnd(ctx, spec(false));
  return { local, regular };
}

describe('an http step with "local": true', () => {
  it('calls the target once with its Idempotency-Key, as a local activity, and records the same audit trail as a regular step', async () => {
    stub.on('POST /ok', (request) => ({ body: { got: request.body } }));
    const { local, regular } = await bothWays('/ok', { body: { n: 1 } });
    expect(local.status).toBe('COMPLETED');
    expect(stepOf(local, 'call')).toMatchObject({ status: 'SUCCEEDED', attempts: 1, output: { status: 200, body: { got: { n: 1 } } } });
    expect(eventTrail(local)).toEqual(eventTrail(regular));
    const keys = stub.received('POST /ok').map((request) => request.headers['idempotency-key']);
    expect(keys).toEqual([`${local.id}:call`, `${regular.id}:call`]);
    // No activity task: the call is a marker in the history, beside the audit batches'.
    expect(await scheduling(local)).toMatchObject({ activityTasks: [] });
    expect((await scheduling(regular)).activityTasks).toEqual(['httpRequest']);
  });

  it('is retried after a 5xx by its retry policy, with the same key and one STEP_STARTED/STEP_FAILED per attempt', async () => {
    stub.on('POST /flaky', (request, index) => (index % 3 < 2 ? { status: 503, body: { error: 'busy' } } : { body: { attempt: index, key: request.headers['idempotency-key'] } }));
    const { local, regular } = await bothWays('/flaky', { retry: { maxAttempts: 3, initialInterval: '100ms' } });
    expect(local.status).toBe('COMPLETED');
    expect(stepOf(local, 'call')).toMatchObject({ status: 'SUCCEEDED', attempts: 3 });
    expect(eventTrail(local)).toEqual(eventTrail(regular));
    expect(local.events.filter((event) => event.type === 'STEP_FAILED').map((event) => [event.attempt, event.error.type, event.error.retryable])).toEqual([
      [1, 'HttpStatusError', true],
      [2, 'HttpStatusError', true],
    ]);
    const localKeys = stub.received('POST /flaky').slice(0, 3).map((request) => request.headers['idempotency-key']);
    expect(localKeys).toEqual([`${local.id}:call`, `${local.id}:call`, `${local.id}:call`]);
  });

  it('fails for good on a 4xx after one attempt, as a regular step does', async () => {
    stub.on('POST /bad', { status: 422, body: { error: 'no such order' } });
    const { local, regular } = await bothWays('/bad', { retry: { maxAttempts: 3, initialInterval: '100ms' } });
    expect(local.status).toBe('FAILED');
    expect(stepOf(local, 'call')).toMatchObject({ status: 'FAILED', attempts: 1, error: { retryable: false } });
    expect(stepOf(local, 'call').error).toEqual(stepOf(regular, 'call').error);
    expect(eventTrail(local)).toEqual(eventTrail(regular));
    expect(stub.received('POST /bad')).toHaveLength(2);
  });

  it("is refused Trellis's own infrastructure by the egress policy, without a retry", async () => {
    const api = new URL(ctx.graphqlUrl);
    const run = await runToEnd(ctx, {
      name: `local-http-egress-${randomUUID().slice(0, 8)}`,
      steps: { call: { type: 'http', local: true, timeout: '5s', method: 'POST', url: `http://127.0.0.1:${api.port}/graphql`, body: { query: '{ runs { id } }' }, retry: { maxAttempts: 3, initialInterval: '100ms' } } },
    });
    expect(run.status).toBe('FAILED');
    expect(stepOf(run, 'call')).toMatchObject({
      status: 'FAILED',
      attempts: 1,
      error: { type: 'EgressDenied', retryable: false, message: expect.stringContaining("which is part of Trellis's own infrastructure") },
    });
  });

  it('sends $secret() values to the target and keeps them out of history, the audit trail, logs and GraphQL', async () => {
    stub.on('POST /echo-secret', (request) => ({ body: { echoed: request.headers.authorization } }));
    const run = await runToEnd(ctx, {
      name: `local-http-secret-${randomUUID().slice(0, 8)}`,
      steps: { call: { type: 'http', local: true, method: 'POST', url: `${stub.url}/echo-secret`, headers: { Authorization: "Bearer {% $secret('TOKEN') %}" }, body: { sig: "{% $uppercase($secret('TOKEN')) %}" } } },
    });
    expect(run.status).toBe('COMPLETED');
    const [request] = stub.received('POST /echo-secret');
    expect(request!.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(request!.body).toEqual({ sig: TOKEN.toUpperCase() });
    expect(stepOf(run, 'call').output.body).toEqual({ echoed: 'Bearer [secret TOKEN]' });
    expect(leaks(await placesOf(ctx, run, output.text()), [TOKEN, TOKEN.toUpperCase()])).toEqual([]);
  });

  it('also runs map actions and compensations as local activities', async () => {
    stub.on('POST /item', (request) => ({ body: { doubled: (request.body as { n: number }).n * 2 } }));
    stub.on('POST /undo', { body: { undone: true } });
    stub.on('POST /boom', { status: 400, body: { error: 'refused' } });
    const run = await runToEnd(ctx, {
      name: `local-http-actions-${randomUUID().slice(0, 8)}`,
      steps: {
        each: {
          type: 'map',
          items: '{% [1, 2, 3] %}',
          do: { type: 'http', local: true, method: 'POST', url: `${stub.url}/item`, body: { n: '{% $item %}' } },
          compensate: { type: 'http', local: true, method: 'POST', url: `${stub.url}/undo` },
        },
        boom: { type: 'http', needs: ['each'], method: 'POST', url: `${stub.url}/boom` },
      },
    });
    expect(stepOf(run, 'each').output.map((response: { body: unknown }) => response.body)).toEqual([{ doubled: 2 }, { doubled: 4 }, { doubled: 6 }]);
    expect(run.status).toBe('COMPENSATED');
    expect(stub.received('POST /undo')).toHaveLength(1);
    // Only `boom`, a regular step, was an activity task: the items (up to 100 run in the run's own workflow) and the compensation were local.
    expect((await scheduling(run)).activityTasks).toEqual(['httpRequest']);
  });
});
