import { startedChildren } from '../support/child-runs';
import { finished, save, startRunOf } from '../support/runs';
import { createTestContext, type TestContext } from '../support/test-context';

let ctx: TestContext;

beforeAll(async () => {
  ctx = await createTestContext();
  // Long enough for the test to terminate it before it ends on its own.
  await save(ctx, { name: 'slow-child', output: '{% $input.n %}', steps: { hold: { type: 'delay', duration: '1s' } } });
});

afterAll(async () => {
  await ctx?.stop();
});

const mapOfChildren = (name: string, retry: Record<string, unknown>) => ({
  name,
  steps: {
    each: { type: 'map', items: '{% [7] %}', do: { type: 'workflow', definition: 'slow-child', input: { n: '{% $item %}' }, retry } },
  },
});

describe('a map step whose do is a workflow action', () => {
  it('retries an item whose child run was terminated, by the action\'s own retry policy, in a new child run', async () => {
    const started = await startRunOf(ctx, mapOfChildren('map-child-retried', { maxAttempts: 2, initialInterval: '100ms' }));
    const [first] = await startedChildren(ctx, started.temporal.workflowId, 1);
    await ctx.trellis.client.workflow.getHandle(first!).terminate('the first attempt is lost');
    const run = await finished(ctx, started);
    expect({ status: run.status, output: run.output }).toEqual({ status: 'COMPLETED', output: { each: [7] } });
    const children = await startedChildren(ctx, started.temporal.workflowId, 2);
    expect(children).toHaveLength(2);
    expect(children[1]).not.toBe(first);
  }, 90_000);

  it('fails the step for good when the action\'s attempts are spent, saying it is no longer retried', async () => {
    const started = await startRunOf(ctx, mapOfChildren('map-child-once', { maxAttempts: 1 }));
    const [first] = await startedChildren(ctx, started.temporal.workflowId, 1);
    await ctx.trellis.client.workflow.getHandle(first!).terminate('the only attempt is lost');
    const run = await finished(ctx, started);
    expect(run.status).toBe('FAILED');
    expect(run.error).toMatchObject({ message: expect.stringContaining('item 0: '), retryable: false });
  }, 90_000);
});
