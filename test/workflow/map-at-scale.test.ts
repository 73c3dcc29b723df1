import { temporal } from '@temporalio/proto';
import { decodePayloadsInPlace } from '../support/history-payloads';
import { runToEnd } from '../support/runs';
import { createTestContext, type TestContext } from '../support/test-context';

let ctx: TestContext;

beforeAll(async () => {
  ctx = await createTestContext();
});

afterAll(async () => {
  await ctx?.stop();
});

/** The input a batch workflow of a map step was started with, as its history holds it. */
async function batchInput(workflowId: string): Promise<{ job: { outerSteps: Record<string, unknown>; context: { input: unknown } } }> {
  const history = await ctx.trellis.client.workflow.getHandle(workflowId).fetchHistory();
  await decodePayloadsInPlace(history, ctx.trellis.codec);
  const started = history.events!.find((event) => event.eventType === temporal.api.enums.v1.EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED)!;
  const [payload] = started.workflowExecutionStartedEventAttributes!.input!.payloads!;
  return JSON.parse(Buffer.from(payload!.data!).toString('utf8'));
}

const blob = { text: 'x'.repeat(50_000) };

describe('a map step run in batch workflows', () => {
  it('hands each batch only the upstream outputs its templates read, and counts its items done', async () => {
    const run = await runToEnd(
      ctx,
      {
        name: 'map-reads',
        steps: {
          rate: { type: 'transform', value: 3 },
          unrelated: { type: 'transform', value: '{% $input.blob %}' },
          many: {
            type: 'map',
            needs: ['rate', 'unrelated'],
            items: '{% [1..250] %}',
            maxConcurrency: 250,
            do: { steps: { times: { type: 'transform', value: '{% $item * $steps.rate.output %}' } }, output: '{% $steps.times.output %}' },
          },
        },
      },
      { blob },
    );
    expect(run.status).toBe('COMPLETED');
    expect((run.steps.find((step) => step.id === 'many')!.output as number[]).slice(0, 3)).toEqual([3, 6, 9]);
    const input = await batchInput(`${run.temporal.workflowId}/many/batch-0`);
    expect(Object.keys(input.job.outerSteps)).toEqual(['rate']);
    expect(input.job.context.input).toBeNull();
    const { run: view } = await ctx.gql<{ run: { steps: Array<{ id: string; items: { done: number; total: number } | null }> } }>(
      `query($id: ID!) { run(id: $id) { steps { id items { done total } } } }`,
      { id: run.id },
    );
    expect(Object.fromEntries(view.steps.map((step) => [step.id, step.items]))).toEqual({ rate: null, unrelated: null, many: { done: 250, total: 250 } });
  }, 90_000);

  it('hands each batch every upstream output when a template reads $steps dynamically', async () => {
    const run = await runToEnd(ctx, {
      name: 'map-reads-dynamic',
      steps: {
        rate: { type: 'transform', value: 2 },
        other: { type: 'transform', value: 'kept' },
        many: { type: 'map', needs: ['rate', 'other'], items: '{% [1..150] %}', maxConcurrency: 150, do: { steps: { times: { type: 'transform', value: "{% $item * $lookup($steps, 'rate').output %}" } } } },
      },
    });
    expect(run.status).toBe('COMPLETED');
    const input = await batchInput(`${run.temporal.workflowId}/many/batch-1`);
    expect(Object.keys(input.job.outerSteps).sort()).toEqual(['many', 'other', 'rate']);
  }, 90_000);
});
