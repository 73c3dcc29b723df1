import { temporal } from '@temporalio/proto';
import { decodePayloadsInPlace } from '../support/history-payloads';
import { HttpStub } from '../support/http-stub';
import { runToEnd, save } from '../support/runs';
import { createTestContext, type TestContext } from '../support/test-context';

// Temporal's UI names each bar of a run's timeline by the summary its command carries.

let ctx: TestContext;
let stub: HttpStub;

beforeAll(async () => {
  [ctx, stub] = await Promise.all([createTestContext(), new HttpStub().start()]);
});

afterAll(async () => {
  await Promise.all([ctx?.stop(), stub?.stop()]);
});

/** The summaries of a workflow's history events, by event type, decoded as the UI decodes them. */
async function summaries(workflowId: string): Promise<Array<[string, string]>> {
  const history = await ctx.trellis.client.workflow.getHandle(workflowId).fetchHistory();
  await decodePayloadsInPlace(history, ctx.trellis.codec);
  const text = (payload: { data?: Uint8Array | null } | null | undefined): string | undefined => (payload?.data ? JSON.parse(Buffer.from(payload.data).toString('utf8')) : undefined);
  return (history.events ?? []).flatMap((event) => {
    const summary = text(event.userMetadata?.summary);
    return summary === undefined ? [] : [[temporal.api.enums.v1.EventType[event.eventType ?? 0] ?? String(event.eventType), summary] as [string, string]];
  });
}

describe('readable Temporal UI', () => {
  it('names every activity, timer and child workflow by its step, and the run by its definition and version', async () => {
    stub.on('POST /charge', { body: { id: 'ch_1' } }).on('POST /reserve', (_request, call) => (call === 0 ? { status: 503, body: {} } : { body: { id: 'rs_1' } }));
    await save(ctx, { name: 'summaries-child', steps: { noop: { type: 'transform', value: 1 } } });
    const run = await runToEnd(ctx, {
      name: 'summaries',
      steps: {
        charge: { type: 'http', method: 'POST', url: `${stub.url}/charge`, body: { secret: 'card 4242' } },
        reserve: { type: 'http', method: 'POST', url: `${stub.url}/reserve`, retry: { maxAttempts: 2, initialInterval: '10ms' } },
        cooldown: { type: 'delay', needs: ['charge'], duration: '10ms' },
        invoice: { type: 'workflow', needs: ['cooldown'], definition: 'summaries-child' },
      },
    });
    expect(run.status).toBe('COMPLETED');
    const found = await summaries(run.temporal.workflowId);
    const of = (type: string) => found.filter(([eventType]) => eventType.includes(type)).map(([, summary]) => summary);
    expect(of('ACTIVITY_TASK_SCHEDULED').sort()).toEqual(['charge: http POST', 'reserve: http POST', 'reserve: http POST']);
    expect(of('TIMER_STARTED').sort()).toEqual(['cooldown: delay 10ms', 'reserve: backoff after attempt 1']);
    expect(of('START_CHILD_WORKFLOW')).toEqual(['invoice: summaries-child v1']);
    expect(of('WORKFLOW_EXECUTION_STARTED')).toEqual(['summaries v1']);
    // Audit writes (local activities) are markers: their summaries name event types and steps.
    expect(of('MARKER_RECORDED').some((summary) => summary.startsWith('audit: ') && summary.includes('STEP_SUCCEEDED charge'))).toBe(true);
    // Summaries say what, never with what.
    expect(JSON.stringify(found)).not.toContain('4242');
  }, 60_000);
});
