import { temporal } from '@temporalio/proto';
import { HttpStub } from '../support/http-stub';
import { finished, getRun, startRunOf, type RunView } from '../support/runs';
import { createTestContext, type TestContext } from '../support/test-context';

// Steps that make no Temporal command (transform, condition, log) do not hold the run up on their
// own audit writes (patched 'trellis-inline-audit'): a chain of them shares one batch, and the
// next command still waits until every event before it is stored.

let ctx: TestContext;
let stub: HttpStub;

beforeAll(async () => {
  [ctx, stub] = await Promise.all([createTestContext(), new HttpStub().start()]);
});

afterAll(async () => {
  await Promise.all([ctx?.stop(), stub?.stop()]);
});

const { EventType } = temporal.api.enums.v1;

/** Local activities recorded in the run's history: here, its audit batches. */
async function auditBatches(run: RunView): Promise<number> {
  const history = await ctx.trellis.client.workflow.getHandle(run.temporal.workflowId).fetchHistory();
  return (history.events ?? []).filter((e) => e.eventType === EventType.EVENT_TYPE_MARKER_RECORDED && e.markerRecordedEventAttributes?.markerName === 'core_local_activity').length;
}

/** `count` transform steps in a chain, each adding one to the one before; then `then`, if given. */
function chain(count: number, then?: Record<string, unknown>): Record<string, unknown> {
  const steps: Record<string, unknown> = { s0: { type: 'transform', value: '{% $input.start %}' } };
  for (let i = 1; i < count; i++) steps[`s${i}`] = { type: 'transform', needs: [`s${i - 1}`], value: `{% $steps.s${i - 1}.output + 1 %}` };
  if (then) steps.after = { needs: [`s${count - 1}`], ...then };
  return steps;
}

describe('steps that make no command', () => {
  it('share audit batches: a chain of 40 transforms is recorded in a few writes, every event in order', async () => {
    const started = await startRunOf(ctx, { name: 'inline-chain', steps: chain(40), output: '{% $steps.s39.output %}' }, { start: 1 });
    const run = await finished(ctx, started);
    expect(run.status).toBe('COMPLETED');
    expect(run.output).toBe(40);
    const expected = ['RUN_STARTED'];
    for (let i = 0; i < 40; i++) expected.push(`STEP_STARTED:s${i}`, `STEP_SUCCEEDED:s${i}`);
    expected.push('RUN_COMPLETED');
    expect(run.events.map((e) => (e.stepId ? `${e.type}:${e.stepId}` : e.type))).toEqual(expected);
    expect(run.events.map((e) => e.seq)).toEqual(expected.map((_, index) => index + 1));
    // Two writes per step before: 80 batches and more. Now RUN_STARTED, the chain, RUN_COMPLETED.
    expect(await auditBatches(run)).toBeLessThanOrEqual(4);
  });

  it('never let a command start before the events before it are stored', async () => {
    let runId = '';
    let storedWhenCalled: string[] = [];
    stub.on('POST /after-chain', async () => {
      storedWhenCalled = (await getRun(ctx, runId)).events.map((e) => (e.stepId ? `${e.type}:${e.stepId}` : e.type));
      return { body: { ok: true } };
    });
    const started = await startRunOf(ctx, { name: 'inline-then-http', steps: chain(10, { type: 'http', method: 'POST', url: `${stub.url}/after-chain`, body: { n: '{% $steps.s9.output %}' } }) }, { start: 0 });
    runId = started.id;
    const run = await finished(ctx, started);
    expect(run.status).toBe('COMPLETED');
    expect(stub.received('POST /after-chain').map((request) => request.body)).toEqual([{ n: 9 }]);
    // The call saw every inline step's start and success, and its own STEP_STARTED, already stored.
    expect(storedWhenCalled).toEqual(expect.arrayContaining(['STEP_SUCCEEDED:s9', 'STEP_STARTED:after']));
    expect(storedWhenCalled.indexOf('STEP_SUCCEEDED:s9')).toBeLessThan(storedWhenCalled.indexOf('STEP_STARTED:after'));
  });

  it('fail on an expression error with the failure recorded after the step start, nothing lost', async () => {
    const run = await finished(
      ctx,
      await startRunOf(ctx, { name: 'inline-fails', steps: { a: { type: 'transform', value: 1 }, b: { type: 'transform', needs: ['a'], value: '{% $error("no good") %}' } } }),
    );
    expect(run.status).toBe('FAILED');
    expect(run.events.map((e) => (e.stepId ? `${e.type}:${e.stepId}` : e.type))).toEqual([
      'RUN_STARTED',
      'STEP_STARTED:a',
      'STEP_SUCCEEDED:a',
      'STEP_STARTED:b',
      'STEP_FAILED:b',
      'RUN_FAILED',
    ]);
  });
});
