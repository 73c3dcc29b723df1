import { graphql } from '../support/graphql-client';
import { HttpStub } from '../support/http-stub';
import { eventTrail, finished, getRun, runToEnd, save, startRunOf, stepOf, type RunView, type StartedRun } from '../support/runs';
import { createTestContext, type TestContext } from '../support/test-context';
import { until } from '../support/until';

let ctx: TestContext;
let stub: HttpStub;

beforeAll(async () => {
  [ctx, stub] = await Promise.all([createTestContext(), new HttpStub().start()]);
});

afterAll(async () => {
  await Promise.all([ctx?.stop(), stub?.stop()]);
});

/** The first GraphQL error an operation answers with (it must fail). */
async function errorOf(query: string, variables: Record<string, unknown>): Promise<{ message: string; extensions?: Record<string, any> }> {
  const result = await graphql(ctx.graphqlUrl, query, variables);
  if (!result.errors?.length) throw new Error(`expected an error, got ${JSON.stringify(result.data)}`);
  return result.errors[0]!;
}

const index = (run: RunView, entry: string): number => eventTrail(run).indexOf(entry);

/** An http step that POSTs to `path` and, when `undo` is given, compensates by POSTing there. */
const post = (path: string, extra: Record<string, unknown> = {}, undo?: string) => ({
  type: 'http',
  method: 'POST',
  url: `${stub.url}${path}`,
  retry: { maxAttempts: 1 },
  ...(undo ? { compensate: { type: 'http', method: 'POST', url: `${stub.url}${undo}` } } : {}),
  ...extra,
});

async function waitForStep(run: StartedRun, stepId: string, status: string): Promise<void> {
  await until(`step ${stepId} is ${status}`, async () => (await getRun(ctx, run.id)).steps.some((s) => s.id === stepId && s.status === status));
}

describe('the saga', () => {
  it('cancels running siblings first, then compensates parallel branches in reverse order of completion', async () => {
    stub
      .on('POST /saga/a', { body: { id: 'a' } })
      .on('POST /saga/b', { delayMs: 300, body: { id: 'b' } })
      .on('POST /saga/c', { status: 400, body: { error: 'refused' } })
      .on('POST /saga/d', { delayMs: 10_000, body: {} })
      .on('POST /saga/undo-a', { body: {} })
      .on('POST /saga/undo-b', { body: {} })
      .on('POST /saga/undo-d', { body: {} });
    const run = await runToEnd(ctx, {
      name: 'saga-branches',
      steps: {
        a: post('/saga/a', {}, '/saga/undo-a'),
        b: post('/saga/b', {}, '/saga/undo-b'),
        c: post('/saga/c', { needs: ['a', 'b'] }),
        d: post('/saga/d', { needs: ['a', 'b'], timeout: '30s' }, '/saga/undo-d'),
      },
    });
    expect(run.status).toBe('COMPENSATED');
    expect(stepOf(run, 'd').status).toBe('CANCELLED');
    // b finished after a, so it is undone first; d never succeeded, so there is nothing to undo.
    expect(stub.received('POST /saga/undo-b')[0]!.receivedAt).toBeLessThanOrEqual(stub.received('POST /saga/undo-a')[0]!.receivedAt);
    expect(stub.received('POST /saga/undo-d')).toHaveLength(0);
    expect(index(run, 'STEP_FAILED:d')).toBeLessThan(index(run, 'COMPENSATION_STARTED'));
    expect(eventTrail(run).slice(-4)).toEqual(['COMPENSATION_STARTED', 'STEP_COMPENSATED:b', 'STEP_COMPENSATED:a', 'RUN_FAILED']);
    expect(run.events.at(-1)!.message).toBe('failed; every compensation succeeded');
  });

  it('rolls nothing back when a step with onError "continue" fails', async () => {
    stub.on('POST /cont/a', { body: {} }).on('POST /cont/b', { status: 400, body: {} }).on('POST /cont/undo-a', { body: {} });
    const run = await runToEnd(ctx, {
      name: 'continue-on-error',
      steps: {
        a: post('/cont/a', {}, '/cont/undo-a'),
        b: post('/cont/b', { needs: ['a'], onError: 'continue' }),
        d: { type: 'transform', needs: ['a', 'b'], join: 'any', value: '{% $steps.b.status %}' },
      },
    });
    expect(run.status).toBe('COMPLETED');
    expect(stepOf(run, 'b').status).toBe('FAILED');
    expect(stepOf(run, 'd').output).toBe('FAILED');
    expect(stub.received('POST /cont/undo-a')).toHaveLength(0);
    expect(eventTrail(run)).not.toContain('COMPENSATION_STARTED');
  });
});

describe('cancelRun', () => {
  it('cancels the running steps, then compensates what succeeded, and ends CANCELLED', async () => {
    stub.on('POST /cancel/book', { body: { id: 'bk' } }).on('POST /cancel/unbook', { body: {} });
    const run = await startRunOf(ctx, {
      name: 'cancel-rolls-back',
      steps: {
        book: post('/cancel/book', {}, '/cancel/unbook'),
        hold: { type: 'delay', needs: ['book'], duration: '1h' },
      },
    });
    await waitForStep(run, 'hold', 'RUNNING');
    await ctx.gql(`mutation($id: ID!) { cancelRun(id: $id, reason: "customer withdrew") { id } }`, { id: run.id });
    const done = await finished(ctx, run);
    expect(done.status).toBe('CANCELLED');
    expect(stepOf(done, 'hold').status).toBe('CANCELLED');
    expect(stepOf(done, 'book').status).toBe('COMPENSATED');
    expect(stub.received('POST /cancel/unbook')).toHaveLength(1);
    expect(eventTrail(done).slice(-4)).toEqual(['STEP_FAILED:hold', 'COMPENSATION_STARTED', 'STEP_COMPENSATED:book', 'RUN_CANCELLED']);
    expect(done.events.at(-1)!.message).toBe('cancelled by api default: customer withdrew; every compensation succeeded');

    // Cancelling it again says how and when it ended rather than answering as if it were stopping.
    const again = await graphql(ctx.graphqlUrl, `mutation($id: ID!) { cancelRun(id: $id) { id } }`, { id: run.id });
    expect(again.errors?.[0]?.extensions?.code).toBe('CONFLICT');
    expect(again.errors?.[0]?.message).toBe(
      `run ${run.id} is already CANCELLED (cancelled by api default: customer withdrew; every compensation succeeded, at ${done.finishedAt}): only a running run can be cancelled`,
    );
  });
  it('cancels a child run with its parent, and the child rolls back its own steps', async () => {
    stub.on('POST /cancel/child-book', { body: {} }).on('POST /cancel/child-unbook', { body: {} });
    await save(ctx, {
      name: 'cancel-child',
      steps: {
        book: post('/cancel/child-book', {}, '/cancel/child-unbook'),
        hold: { type: 'delay', needs: ['book'], duration: '1h' },
      },
    });
    const parent = await startRunOf(ctx, { name: 'cancel-parent', steps: { child: { type: 'workflow', definition: 'cancel-child' } } });
    let childId = '';
    await until('the child run holds', async () => {
      const { runs } = await ctx.gql(`{ runs(filter: {definition: "cancel-child"}) { edges { node { id steps { id status } } } } }`);
      const child = runs.edges[0]?.node;
      childId = child?.id ?? '';
      return child?.steps.some((step: { id: string; status: string }) => step.id === 'hold' && step.status === 'RUNNING') ?? false;
    });
    await ctx.gql(`mutation($id: ID!) { cancelRun(id: $id) { id } }`, { id: parent.id });
    expect((await finished(ctx, parent)).status).toBe('CANCELLED');
    await until('the child run has stopped', async () => (await getRun(ctx, childId)).status === 'CANCELLED');
    const child = await getRun(ctx, childId);
    expect(stepOf(child, 'book').status).toBe('COMPENSATED');
    expect(stub.received('POST /cancel/child-unbook')).toHaveLength(1);
  });
});

describe('a run-level timeout', () => {
  it('stops the run when it expires: running steps are cancelled, succeeded ones compensated, status TIMED_OUT', async () => {
    stub.on('POST /timeout/a', { body: {} }).on('POST /timeout/undo-a', { body: {} }).on('POST /timeout/slow', { delayMs: 15_000, body: {} });
    const run = await runToEnd(ctx, {
      name: 'with-deadline',
      timeout: '1500ms',
      steps: {
        a: post('/timeout/a', {}, '/timeout/undo-a'),
        slow: post('/timeout/slow', { needs: ['a'], timeout: '30s' }),
      },
    });
    expect(run.status).toBe('TIMED_OUT');
    expect(run.error).toMatchObject({ type: 'RunTimedOut', message: 'the run exceeded its timeout of 1500ms' });
    expect(stepOf(run, 'slow').status).toBe('CANCELLED');
    expect(run.events.find((e) => e.stepId === 'slow' && e.type === 'STEP_FAILED')!.message).toBe('cancelled: the run exceeded its timeout of 1500ms');
    expect(stepOf(run, 'a').status).toBe('COMPENSATED');
    expect(stub.received('POST /timeout/undo-a')).toHaveLength(1);
    expect(eventTrail(run).at(-1)).toBe('RUN_FAILED');
  });

  it('does not affect a run that finishes in time', async () => {
    const run = await runToEnd(ctx, { name: 'in-time', timeout: '1m', steps: { quick: { type: 'transform', value: 42 } } });
    expect(run.status).toBe('COMPLETED');
    expect(run.output).toEqual({ quick: 42 });
  });
});

describe('retryRun', () => {
  const RETRY = `mutation($id: ID!, $fromStep: String, $dryRun: Boolean) {
    retryRun(id: $id, fromStep: $fromStep, dryRun: $dryRun) { id status retryOf retryPlan { fromStep reused { stepId output } rerun } steps { id status output } } }`;
  type Retried = { id: string; status: string; retryOf: string; retryPlan: { fromStep: string | null; reused: Array<{ stepId: string; output: any }>; rerun: string[] }; steps: Array<{ id: string; status: string; output: any }> };

  const retry = async (id: string, options: { fromStep?: string; dryRun?: boolean } = {}): Promise<Retried> =>
    (await ctx.gql<{ retryRun: Retried }>(RETRY, { id, ...options })).retryRun;

  const runsOf = async (definition: string): Promise<number> => {
    const { runs } = await ctx.gql(`query($d: String) { runs(filter: {definition: $d}, first: 100) { edges { node { id } } } }`, { d: definition });
    return runs.edges.length;
  };

  it('re-executes from the failure point, reusing the outputs of steps that succeeded and were not compensated', async () => {
    let shipWorks = false;
    stub
      .on('POST /retry/charge', (_request, call) => ({ body: { id: `ch_${call}` } }))
      .on('POST /retry/refund', { body: {} })
      .on('GET /retry/lookup', { body: { address: 'Main St 1' } })
      .on('POST /retry/ship', () => (shipWorks ? { body: { tracking: 'T-1' } } : { status: 503, body: { error: 'down' } }));
    const spec = {
      name: 'retry-me',
      steps: {
        charge: post('/retry/charge', {}, '/retry/refund'),
        lookup: { type: 'http', url: `${stub.url}/retry/lookup` },
        ship: post('/retry/ship', { needs: ['charge', 'lookup'], body: { to: '{% $steps.lookup.output.body.address %}', charge: '{% $steps.charge.output.body.id %}' } }),
      },
    };
    const failed = await runToEnd(ctx, spec);
    expect(failed.status).toBe('COMPENSATED');

    // The dry run says what a retry would do, and starts nothing.
    const plan = await retry(failed.id, { dryRun: true });
    expect(plan).toMatchObject({ status: 'PLANNED', retryOf: failed.id, retryPlan: { fromStep: null, reused: [{ stepId: 'lookup', output: { status: 200 } }], rerun: ['charge', 'ship'] } });
    expect(plan.steps.map((s) => [s.id, s.status])).toEqual([['charge', 'PENDING'], ['lookup', 'SUCCEEDED'], ['ship', 'PENDING']]);
    expect(await runsOf('retry-me')).toBe(1);
    const { run: previewRun } = await ctx.gql(`query($id: ID!) { run(id: $id) { id } }`, { id: plan.id });
    expect(previewRun).toBeNull();

    shipWorks = true;
    const started = await retry(failed.id);
    expect(started).toMatchObject({ retryOf: failed.id, retryPlan: { reused: [{ stepId: 'lookup' }], rerun: ['charge', 'ship'] } });
    const retried = await finished(ctx, { id: started.id, temporal: { workflowId: `default/retry-me/${started.id}` } });
    expect(retried.status).toBe('COMPLETED');
    expect(stub.received('GET /retry/lookup')).toHaveLength(1);
    expect(stub.received('POST /retry/charge')).toHaveLength(2);
    // The re-run step sees the reused output and the re-executed one.
    expect(stub.received('POST /retry/ship').at(-1)!.body).toEqual({ to: 'Main St 1', charge: 'ch_1' });
    expect(stub.received('POST /retry/ship').at(-1)!.headers['idempotency-key']).toBe(`${retried.id}:ship`);
    expect(eventTrail(retried).slice(0, 2)).toEqual(['RUN_STARTED', 'STEP_SUCCEEDED:lookup']);
    expect(retried.events[1]!.message).toBe(`reused the output of run ${failed.id}`);
    expect(stepOf(retried, 'lookup')).toMatchObject({ status: 'SUCCEEDED', output: { body: { address: 'Main St 1' } } });
    const { run } = await ctx.gql(`query($id: ID!) { run(id: $id) { retryOf } }`, { id: retried.id });
    expect(run.retryOf).toBe(failed.id);
  });

  it('re-runs fromStep and everything after it, reusing what came before, even for a completed run', async () => {
    stub.on('POST /from/a', { body: { n: 1 } }).on('POST /from/b', { body: { n: 2 } }).on('POST /from/c', { body: { n: 3 } });
    const spec = {
      name: 'retry-from',
      steps: {
        a: post('/from/a'),
        b: post('/from/b', { needs: ['a'] }),
        c: post('/from/c', { needs: ['b'] }),
        side: { type: 'transform', needs: ['a'], value: 'side' },
      },
    };
    const completed = await runToEnd(ctx, spec);
    expect(completed.status).toBe('COMPLETED');
    const started = await retry(completed.id, { fromStep: 'b' });
    expect(started.retryPlan).toMatchObject({ fromStep: 'b', rerun: ['b', 'c'] });
    expect(started.retryPlan.reused.map((s) => s.stepId).sort()).toEqual(['a', 'side']);
    const retried = await finished(ctx, { id: started.id, temporal: { workflowId: `default/retry-from/${started.id}` } });
    expect(retried.status).toBe('COMPLETED');
    expect(stub.received('POST /from/a')).toHaveLength(1);
    expect(stub.received('POST /from/b')).toHaveLength(2);
    expect(stub.received('POST /from/c')).toHaveLength(2);
  });

  it('compensates reused steps too when the retry fails for good', async () => {
    let bWorks = true;
    stub
      .on('POST /again/a', { body: { id: 'a1' } })
      .on('POST /again/undo-a', { body: {} })
      .on('POST /again/b', () => (bWorks ? { body: {} } : { status: 400, body: { error: 'gone' } }));
    const completed = await runToEnd(ctx, {
      name: 'retry-fails-again',
      steps: {
        a: { ...post('/again/a'), compensate: { type: 'http', method: 'POST', url: `${stub.url}/again/undo-a`, body: { id: '{% $steps.a.output.body.id %}' } } },
        b: post('/again/b', { needs: ['a'] }),
      },
    });
    expect(completed.status).toBe('COMPLETED');
    bWorks = false;
    const started = await retry(completed.id, { fromStep: 'b' });
    expect(started.retryPlan).toMatchObject({ reused: [{ stepId: 'a' }], rerun: ['b'] });
    const retried = await finished(ctx, { id: started.id, temporal: { workflowId: `default/retry-fails-again/${started.id}` } });
    // The retry owns the reused step's effect: rolling back undoes it, with its reused output.
    expect(retried.status).toBe('COMPENSATED');
    expect(stub.received('POST /again/a')).toHaveLength(1);
    expect(stub.received('POST /again/undo-a').map((r) => r.body)).toEqual([{ id: 'a1' }]);
  });

  it('refuses an unknown fromStep, a run still running, a completed run without fromStep and an unknown run', async () => {
    const done = await runToEnd(ctx, { name: 'retry-refusals', steps: { only: { type: 'transform', value: 1 } } });
    const unknownStep = await errorOf(RETRY, { id: done.id, fromStep: 'nope' });
    expect(unknownStep.extensions).toMatchObject({ code: 'BAD_USER_INPUT', errors: [{ path: '/fromStep', message: 'no step "nope" (steps: only)' }] });
    const nothingFailed = await errorOf(RETRY, { id: done.id });
    expect(nothingFailed.extensions?.code).toBe('CONFLICT');
    expect(nothingFailed.message).toContain('nothing to retry (pass fromStep');

    const running = await startRunOf(ctx, { name: 'retry-running', steps: { nap: { type: 'delay', duration: '1h' } } });
    const stillRunning = await errorOf(RETRY, { id: running.id });
    expect(stillRunning.extensions?.code).toBe('CONFLICT');
    await ctx.gql(`mutation($id: ID!) { cancelRun(id: $id) { id } }`, { id: running.id });

    const unknownRun = await errorOf(RETRY, { id: '00000000-0000-4000-8000-000000000000' });
    expect(unknownRun.extensions?.code).toBe('NOT_FOUND');
  });
});

describe('testRun', () => {
  const TEST_RUN = `mutation($spec: JSON!, $input: JSON, $mocks: JSON) { testRun(spec: $spec, input: $input, mocks: $mocks) { id version status trigger } }`;

  const testRun = async (variables: Record<string, unknown>): Promise<RunView> => {
    const { testRun: started } = await ctx.gql<{ testRun: { id: string; version: number; trigger: { type: string } } }>(TEST_RUN, variables);
    expect(started.version).toBe(0);
    expect(started.trigger.type).toBe('test');
    const { run } = await ctx.gql<{ run: { temporal: { workflowId: string } } }>(`query($id: ID!) { run(id: $id) { temporal { workflowId } } }`, { id: started.id });
    return finished(ctx, { id: started.id, temporal: run.temporal });
  };

  it('runs an unsaved definition; mocked steps take their mock as output and call nothing', async () => {
    const run = await testRun({
      spec: {
        name: 'dry-order',
        input: { type: 'object', required: ['qty'] },
        output: '{% $steps.total.output %}',
        steps: {
          price: { type: 'http', url: `${stub.url}/test/price-must-not-be-called`, compensate: { type: 'http', method: 'POST', url: `${stub.url}/test/undo` } },
          approval: { type: 'wait', signal: 'approve', needs: ['price'] },
          total: { type: 'transform', needs: ['approval'], value: '{% $steps.price.output.body.amount * $input.qty & " by " & $steps.approval.output.by %}' },
        },
      },
      input: { qty: 3 },
      mocks: { price: { status: 200, headers: {}, body: { amount: 7 } }, approval: { by: 'ops' } },
    });
    expect(run.status).toBe('COMPLETED');
    expect(run.output).toBe('21 by ops');
    expect(run.version).toBe(0);
    expect(run.steps.map((s) => [s.id, s.status])).toEqual([['price', 'SUCCEEDED'], ['approval', 'SUCCEEDED'], ['total', 'SUCCEEDED']]);
    expect(stub.requests.filter((r) => r.path.startsWith('/test/'))).toHaveLength(0);
    expect(run.events.find((e) => e.type === 'STEP_SUCCEEDED' && e.stepId === 'price')!.message).toBe('mocked: nothing was called');
    const { definition } = await ctx.gql(`{ definition(name: "dry-order") { name } }`);
    expect(definition).toBeNull();
  });

  it('does not perform the compensation of a mocked step when the test run rolls back', async () => {
    const run = await testRun({
      spec: {
        name: 'dry-rollback',
        steps: {
          pay: { type: 'http', method: 'POST', url: `${stub.url}/test/pay`, compensate: { type: 'http', method: 'POST', url: `${stub.url}/test/refund` } },
          broken: { type: 'transform', needs: ['pay'], value: "{% 1 + 'x' %}" },
        },
      },
      mocks: { pay: { status: 201, headers: {}, body: {} } },
    });
    expect(run.status).toBe('COMPENSATED');
    expect(stepOf(run, 'pay').status).toBe('COMPENSATED');
    expect(run.events.find((e) => e.type === 'STEP_COMPENSATED')!.message).toBe('mocked step: its compensation was not performed');
    expect(stub.requests.filter((r) => r.path.startsWith('/test/'))).toHaveLength(0);
  });

  it('refuses mocks of unknown steps or of steps that call nothing, an invalid definition and bad input, each located', async () => {
    const spec = { name: 'dry-refusals', input: { type: 'object', required: ['id'] }, steps: { calc: { type: 'transform', value: 1 } } };
    const badMocks = await errorOf(TEST_RUN, { spec, input: { id: 1 }, mocks: { nope: 1, calc: 2 } });
    expect(badMocks.extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      errors: [
        { path: '/mocks/nope', message: 'no step "nope" in "dry-refusals"' },
        { path: '/mocks/calc', message: 'a transform step runs inside the workflow and calls nothing: it cannot be mocked' },
      ],
    });
    const invalid = await errorOf(TEST_RUN, { spec: { ...spec, steps: { calc: { type: 'transform', value: 1, needs: ['ghost'] } } } });
    expect(invalid.extensions?.code).toBe('BAD_USER_INPUT');
    expect(invalid.extensions?.errors[0].path).toBe('/steps/calc/needs/0');
    const badInput = await errorOf(TEST_RUN, { spec, input: {} });
    expect(badInput.extensions).toMatchObject({ code: 'BAD_USER_INPUT', errors: [{ path: '/input/id' }] });
  });

  it("refuses mocks that are not an output the step could produce: its output schema, an http step's {status, headers, body}", async () => {
    const spec = {
      name: 'dry-shapes',
      steps: {
        quote: { type: 'http', url: `${stub.url}/test/quote`, output: { type: 'object', required: ['body'], properties: { body: { type: 'object', required: ['price'], properties: { price: { type: 'number' } } } } } },
        approval: { type: 'wait', signal: 'approve', output: { type: 'object', required: ['by'] } },
      },
    };
    const refused = await errorOf(TEST_RUN, { spec, mocks: { quote: { status: 200, body: { price: 'ten' } }, approval: { who: 'ops' } } });
    expect(refused.message).toBe('invalid mocks: /mocks/quote/body/price must be number; /mocks/approval/by is required');
    expect(refused.extensions?.code).toBe('BAD_USER_INPUT');
    expect(refused.extensions?.errors.map((e: { path: string }) => e.path)).toEqual(['/mocks/quote/body/price', '/mocks/approval/by']);
    const unshaped = await errorOf(TEST_RUN, { spec: { ...spec, steps: { quote: { type: 'http', url: `${stub.url}/test/quote` } } }, mocks: { quote: { price: 10 } } });
    expect(unshaped.extensions?.errors).toEqual([
      { path: '/mocks/quote/status', message: "is required (an http step's output is {status, headers, body})" },
      { path: '/mocks/quote/price', message: "is not allowed (an http step's output is {status, headers, body})" },
    ]);
  });

  it('are listed by runs only when asked for: trying a definition out does not crowd the list', async () => {
    const run = await testRun({ spec: { name: 'dry-hidden', steps: { one: { type: 'transform', value: 1 } } } });
    const listed = async (filter: Record<string, unknown>) =>
      (await ctx.gql<{ runs: { edges: Array<{ node: { id: string } }> } }>(`query($f: RunFilter) { runs(filter: $f) { edges { node { id } } } }`, { f: filter })).runs.edges.map((e) => e.node.id);
    expect(await listed({ definition: 'dry-hidden' })).toEqual([]);
    expect(await listed({})).not.toContain(run.id);
    expect(await listed({ definition: 'dry-hidden', includeTests: true })).toEqual([run.id]);
    expect(await listed({ definition: 'dry-hidden', trigger: 'test' })).toEqual([run.id]);
    expect(await listed({ definition: 'dry-hidden', version: 0 })).toEqual([run.id]);
  });

  it('accepts the definition as YAML text', async () => {
    const run = await testRun({ spec: 'name: dry-yaml\nsteps:\n  one:\n    type: transform\n    value: "{% 6 * 7 %}"\n' });
    expect(run.output).toEqual({ one: 42 });
  });
});

describe('http retries', () => {
  it('waits as long as a 429 answer\'s Retry-After asks before the next attempt', async () => {
    stub.on('GET /limited', (_request, call) => (call === 0 ? { status: 429, headers: { 'retry-after': '1' }, body: { error: 'slow down' } } : { body: { ok: true } }));
    const run = await runToEnd(ctx, {
      name: 'retry-after',
      steps: { call: { type: 'http', url: `${stub.url}/limited`, retry: { maxAttempts: 3, initialInterval: '10ms' } } },
    });
    expect(run.status).toBe('COMPLETED');
    const [first, second] = stub.received('GET /limited');
    expect(second!.receivedAt - first!.answeredAt!).toBeGreaterThanOrEqual(900);
    const failure = run.events.find((e) => e.type === 'STEP_FAILED')!;
    expect(failure).toMatchObject({ attempt: 1, error: { retryable: true, details: { status: 429, retryAfterMs: 1000 } } });
    expect(failure.message).toBe('attempt 1 of 3 failed; retrying in 1000 ms');
  });
});
