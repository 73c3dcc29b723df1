import { graphql as graphqlResponse } from '../support/graphql-client';
import { HttpStub } from '../support/http-stub';
import { eventTrail, finished, getRun, runToEnd, save, startRunOf, stepOf } from '../support/runs';
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

async function stepStatus(runId: string, stepId: string): Promise<string | undefined> {
  const run = await getRun(ctx, runId);
  return run.steps.find((step) => step.id === stepId)?.status;
}

const SIGNAL = `mutation($id: ID!, $signal: String!, $payload: JSON) { signalRun(id: $id, signal: $signal, payload: $payload) { id } }`;

describe('workflow steps', () => {
  it('run another definition as a child run whose output becomes the step output', async () => {
    await save(ctx, { name: 'child-double', input: { type: 'object', required: ['n'] }, output: '{% $steps.double.output %}', steps: { double: { type: 'transform', value: '{% $input.n * 2 %}' } } });
    const run = await runToEnd(ctx, {
      name: 'parent-double',
      steps: {
        child: { type: 'workflow', definition: 'child-double', input: { n: '{% $input.n %}' } },
        after: { type: 'transform', needs: ['child'], value: '{% $steps.child.output + 1 %}' },
      },
    }, { n: 20 });
    expect(run.status).toBe('COMPLETED');
    expect(stepOf(run, 'child').output).toBe(40);
    expect(stepOf(run, 'after').output).toBe(41);
    // The child is a run of its own, with its own audit trail, started by the parent's step.
    const { runs } = await ctx.gql(`{ runs(filter: { definition: "child-double" }) { edges { node { id status trigger temporal { workflowId } } } } }`);
    const child = runs.edges.map((edge: any) => edge.node).find((node: any) => node.trigger.id === run.id);
    expect(child).toMatchObject({ status: 'COMPLETED', trigger: { type: 'workflow', id: run.id, stepId: 'child' } });
    expect(child.temporal.workflowId).toMatch(/^default\/child-double\//);
  });

  it('pin the sub-workflow version when the parent run starts, so a later save does not change it', async () => {
    await save(ctx, { name: 'pinned-child', output: '{% $steps.v.output %}', steps: { v: { type: 'transform', value: 'version one' } } });
    const parent = await startRunOf(ctx, {
      name: 'pinning-parent',
      steps: {
        hold: { type: 'wait', signal: 'go' },
        child: { type: 'workflow', needs: ['hold'], definition: 'pinned-child', version: 'latest' },
      },
    });
    await until('the parent waits', async () => (await stepStatus(parent.id, 'hold')) === 'WAITING');
    await save(ctx, { name: 'pinned-child', output: '{% $steps.v.output %}', steps: { v: { type: 'transform', value: 'version two' } } });
    await ctx.gql(SIGNAL, { id: parent.id, signal: 'go' });
    const run = await finished(ctx, parent);
    expect(run.status).toBe('COMPLETED');
    expect(stepOf(run, 'child').output).toBe('version one');
  });

  it('fail with the child run named when the child fails, after the child rolled itself back', async () => {
    stub.on('POST /child-charge', { status: 201, body: { id: 'c1' } }).on('POST /child-refund', { status: 200, body: {} });
    await save(ctx, {
      name: 'failing-child',
      steps: {
        charge: { type: 'http', method: 'POST', url: `${stub.url}/child-charge`, compensate: { type: 'http', method: 'POST', url: `${stub.url}/child-refund` } },
        boom: { type: 'transform', needs: ['charge'], value: '{% $error("out of stock") %}' },
      },
    });
    const run = await runToEnd(ctx, { name: 'failing-parent', steps: { child: { type: 'workflow', definition: 'failing-child' } } });
    expect(run.status).toBe('FAILED');
    expect(stepOf(run, 'child').error).toMatchObject({ type: 'SubWorkflowFailed', message: expect.stringMatching(/sub-workflow "failing-child" run .* ended COMPENSATED: step "boom" failed: .*out of stock/) });
    expect(stub.received('POST /child-refund')).toHaveLength(1);
  });

  it('check the child input against the child definition\'s input schema', async () => {
    await save(ctx, { name: 'strict-child', input: { type: 'object', required: ['orderId'], properties: { orderId: { type: 'string' } } }, steps: { ok: { type: 'transform', value: 1 } } });
    const run = await runToEnd(ctx, { name: 'sloppy-parent', steps: { child: { type: 'workflow', definition: 'strict-child', input: { orderId: 42 } } } });
    expect(stepOf(run, 'child').error).toMatchObject({ type: 'InputContractViolation', message: expect.stringContaining('/orderId must be string') });
  });

  it('are refused at save time when they name a missing definition, recurse, or nest too deep', async () => {
    const missing = await graphqlResponse(ctx.graphqlUrl, `mutation($spec: JSON!) { saveDefinition(spec: $spec) { version } }`, {
      spec: { name: 'orphan-parent', steps: { child: { type: 'workflow', definition: 'no-such-definition' } } },
    });
    expect(missing.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', errors: [{ path: '/steps/child', message: expect.stringContaining('"no-such-definition" does not exist') }] });

    await save(ctx, { name: 'loop-a', steps: { x: { type: 'transform', value: 1 } } });
    await save(ctx, { name: 'loop-b', steps: { a: { type: 'workflow', definition: 'loop-a' } } });
    const recursion = await graphqlResponse(ctx.graphqlUrl, `mutation($spec: JSON!) { saveDefinition(spec: $spec) { version } }`, {
      spec: { name: 'loop-a', steps: { b: { type: 'workflow', definition: 'loop-b' } } },
    });
    expect(recursion.errors?.[0]?.extensions).toMatchObject({ errors: [{ path: '/steps/b', message: expect.stringContaining('loop-a → loop-b → loop-a') }] });

    await save(ctx, { name: 'depth-3', steps: { x: { type: 'transform', value: 1 } } });
    await save(ctx, { name: 'depth-2', steps: { c: { type: 'workflow', definition: 'depth-3' } } });
    await save(ctx, { name: 'depth-1', steps: { c: { type: 'workflow', definition: 'depth-2' } } });
    const deep = await graphqlResponse(ctx.graphqlUrl, `mutation($spec: JSON!) { saveDefinition(spec: $spec) { version } }`, {
      spec: { name: 'depth-0', steps: { c: { type: 'workflow', definition: 'depth-1' } } },
    });
    expect(deep.errors?.[0]?.extensions).toMatchObject({ errors: [{ path: '/steps/c', message: expect.stringContaining('nest 4 deep (depth-0 → depth-1 → depth-2 → depth-3); the limit is 3') }] });
  });
});

describe('wait steps', () => {
  const approval = {
    name: 'approval',
    steps: {
      review: { type: 'wait', signal: 'approval', timeout: '1h' },
      decide: { type: 'transform', needs: ['review'], value: '{% $steps.review.output.approved ? "ship" : "hold" %}' },
    },
  };

  it('wait in WAITING until signalRun delivers the signal; its payload is the step output', async () => {
    const started = await startRunOf(ctx, approval);
    await until('the step waits', async () => (await stepStatus(started.id, 'review')) === 'WAITING');
    await ctx.gql(SIGNAL, { id: started.id, signal: 'approval', payload: { approved: true, by: 'ana' } });
    const run = await finished(ctx, started);
    expect(run.status).toBe('COMPLETED');
    expect(stepOf(run, 'review').output).toEqual({ approved: true, by: 'ana' });
    expect(stepOf(run, 'decide').output).toBe('ship');
    expect(eventTrail(run)).toEqual(['RUN_STARTED', 'STEP_STARTED:review', 'SIGNAL_RECEIVED:review', 'STEP_SUCCEEDED:review', 'STEP_STARTED:decide', 'STEP_SUCCEEDED:decide', 'RUN_COMPLETED']);
    expect(run.events.find((event) => event.type === 'SIGNAL_RECEIVED')).toMatchObject({ output: { approved: true, by: 'ana' }, message: 'signal "approval" from api default' });
  });

  it('take a signal that arrived before the step started', async () => {
    const started = await startRunOf(ctx, {
      name: 'early-signal',
      steps: {
        hold: { type: 'wait', signal: 'first' },
        later: { type: 'wait', needs: ['hold'], signal: 'second' },
      },
    });
    await until('the first step waits', async () => (await stepStatus(started.id, 'hold')) === 'WAITING');
    await ctx.gql(SIGNAL, { id: started.id, signal: 'second', payload: 'early' });
    await ctx.gql(SIGNAL, { id: started.id, signal: 'first', payload: 'on time' });
    const run = await finished(ctx, started);
    expect(run.status).toBe('COMPLETED');
    expect(stepOf(run, 'later').output).toBe('early');
  });

  it('fail with WaitTimedOut when no signal arrives within the timeout', async () => {
    const run = await runToEnd(ctx, { name: 'impatient', steps: { review: { type: 'wait', signal: 'approval', timeout: '300ms' } } });
    expect(run.status).toBe('FAILED');
    expect(stepOf(run, 'review').error).toMatchObject({ type: 'WaitTimedOut', message: 'no "approval" signal arrived within 300ms' });
  });

  it('refuse a signal no wait step of the run waits for, naming the ones it does', async () => {
    const started = await startRunOf(ctx, { ...approval, name: 'approval-refusal' });
    const response = await graphqlResponse(ctx.graphqlUrl, SIGNAL, { id: started.id, signal: 'aproval' });
    expect(response.errors?.[0]).toMatchObject({ message: expect.stringContaining('it waits for "approval"'), extensions: { code: 'BAD_USER_INPUT' } });
    await ctx.gql(SIGNAL, { id: started.id, signal: 'approval', payload: { approved: false } });
    expect((await finished(ctx, started)).status).toBe('COMPLETED');
    const late = await graphqlResponse(ctx.graphqlUrl, SIGNAL, { id: started.id, signal: 'approval' });
    expect(late.errors?.[0]?.extensions).toMatchObject({ code: 'CONFLICT' });
  });
});

describe('map steps', () => {
  it('run an http action per item at most maxConcurrency at a time, results in item order', async () => {
    let inFlight = 0;
    let mostInFlight = 0;
    stub.on('POST /square', async (request) => {
      inFlight += 1;
      mostInFlight = Math.max(mostInFlight, inFlight);
      const n = (request.body as { n: number }).n;
      // Later items answer sooner, so completion order differs from item order.
      await new Promise((resolve) => setTimeout(resolve, 20 * (12 - n)));
      inFlight -= 1;
      return { body: { square: n * n } };
    });
    const run = await runToEnd(ctx, {
      name: 'squares',
      steps: {
        each: { type: 'map', items: '{% $input.numbers %}', maxConcurrency: 3, do: { type: 'http', method: 'POST', url: `${stub.url}/square`, body: { n: '{% $item %}', at: '{% $index %}' } } },
        squares: { type: 'transform', needs: ['each'], value: '{% $steps.each.output.body.square %}' },
      },
    }, { numbers: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10] });
    expect(run.status).toBe('COMPLETED');
    expect(stepOf(run, 'squares').output).toEqual([1, 4, 9, 16, 25, 36, 49, 64, 81, 100]);
    expect(mostInFlight).toBe(3);
    const keys = stub.received('POST /square').map((request) => request.headers['idempotency-key']);
    expect(new Set(keys)).toEqual(new Set(Array.from({ length: 10 }, (_, index) => `${run.id}:each[${index}]`)));
  });

  it('run an inline graph per item, reading $item, $index and the enclosing steps', async () => {
    const run = await runToEnd(ctx, {
      name: 'inline-graph',
      steps: {
        rate: { type: 'transform', value: 3 },
        each: {
          type: 'map',
          needs: ['rate'],
          items: '{% $input.orders %}',
          do: {
            steps: {
              total: { type: 'transform', value: '{% $item.qty * $steps.rate.output %}' },
              label: { type: 'transform', needs: ['total'], value: '#{% $index %}: {% $steps.total.output %}' },
            },
            output: '{% $steps.label.output %}',
          },
        },
      },
    }, { orders: [{ qty: 1 }, { qty: 2 }, { qty: 5 }] });
    expect(run.status).toBe('COMPLETED');
    expect(stepOf(run, 'each').output).toEqual(['#0: 3', '#1: 6', '#2: 15']);
  });

  it('run a workflow action per item as child runs', async () => {
    await save(ctx, { name: 'item-child', output: '{% $input.word & "!" %}', steps: { noop: { type: 'transform', value: null } } });
    const run = await runToEnd(ctx, {
      name: 'map-children',
      steps: { each: { type: 'map', items: '{% $input.words %}', do: { type: 'workflow', definition: 'item-child', input: { word: '{% $item %}' } } } },
    }, { words: ['a', 'b', 'c'] });
    expect(run.status).toBe('COMPLETED');
    expect(stepOf(run, 'each').output).toEqual(['a!', 'b!', 'c!']);
  });

  it('fail naming the item that failed, and leave the other items unfinished', async () => {
    const run = await runToEnd(ctx, {
      name: 'failing-item',
      steps: { each: { type: 'map', items: '{% [1..5] %}', do: { steps: { check: { type: 'transform', value: '{% $item = 4 ? $error("four is bad") : $item %}' } } } } },
    });
    expect(run.status).toBe('FAILED');
    expect(stepOf(run, 'each').error).toMatchObject({ message: expect.stringMatching(/^item 3: step "check" failed: .*four is bad/), details: { index: 3 } });
  });

  it('scale to 5,000 items in batches of child workflows, within Temporal\'s limits', async () => {
    const started = await startRunOf(ctx, {
      name: 'five-thousand',
      steps: {
        each: { type: 'map', items: '{% [1..5000] %}', maxConcurrency: 500, do: { steps: { double: { type: 'transform', value: '{% $item * 2 %}' } }, output: '{% $steps.double.output %}' } },
        total: { type: 'transform', needs: ['each'], value: '{% $count($steps.each.output) & ":" & $sum($steps.each.output) %}' },
      },
    });
    const run = await finished(ctx, started);
    expect(run.status).toBe('COMPLETED');
    expect(stepOf(run, 'total').output).toBe(`5000:${5000 * 5001}`);
    // The run's own history holds the 50 batches, not 5,000 items' events.
    const history = await ctx.trellis.client.workflow.getHandle(started.temporal.workflowId).fetchHistory();
    const events = history.events ?? [];
    const children = events.filter((event) => event.startChildWorkflowExecutionInitiatedEventAttributes).length;
    expect(children).toBe(50);
    expect(events.length).toBeLessThan(1_000);
  }, 120_000);
});

describe('other step options', () => {
  it('delay until a timestamp given by an expression', async () => {
    const run = await runToEnd(ctx, { name: 'until', steps: { later: { type: 'delay', until: '{% $fromMillis($toMillis($run.startedAt) + 300) %}' } } });
    expect(run.status).toBe('COMPLETED');
    expect(stepOf(run, 'later').output).toMatchObject({ waitedMs: expect.any(Number) });
    expect(stepOf(run, 'later').output.waitedMs).toBeLessThanOrEqual(300);
  });

  it('skip a step whose guard is false, and run one whose guard is true', async () => {
    const run = await runToEnd(ctx, {
      name: 'guards',
      steps: {
        small: { type: 'transform', if: '{% $input.amount < 100 %}', value: 'small' },
        large: { type: 'transform', if: '{% $input.amount >= 100 %}', value: 'large' },
      },
    }, { amount: 5 });
    expect(stepOf(run, 'small')).toMatchObject({ status: 'SUCCEEDED', output: 'small' });
    expect(stepOf(run, 'large').status).toBe('SKIPPED');
  });

  it('with onError "continue" let the run complete when the step fails for good, and join "any" runs after it', async () => {
    const run = await runToEnd(ctx, {
      name: 'continue-on-error',
      steps: {
        flaky: { type: 'transform', onError: 'continue', value: '{% $error("nope") %}' },
        fallback: { type: 'transform', value: 'fallback' },
        after: { type: 'transform', needs: ['flaky', 'fallback'], join: 'any', value: '{% $steps.flaky.status & "/" & $steps.fallback.output %}' },
      },
    });
    expect(run.status).toBe('COMPLETED');
    expect(stepOf(run, 'flaky').status).toBe('FAILED');
    expect(stepOf(run, 'after').output).toBe('FAILED/fallback');
  });

  it('fail a step whose output breaks its output schema, naming the field', async () => {
    stub.on('GET /contract', { body: { id: 42 } });
    const run = await runToEnd(ctx, {
      name: 'contract',
      steps: {
        fetch: {
          type: 'http',
          url: `${stub.url}/contract`,
          output: { type: 'object', properties: { body: { type: 'object', properties: { id: { type: 'string' } } } } },
        },
      },
    });
    expect(run.status).toBe('FAILED');
    expect(stepOf(run, 'fetch').error).toMatchObject({ type: 'ContractViolation', message: 'output of step "fetch" does not match its schema: /body/id must be string' });
  });
});

describe('startRun with an idempotencyKey', () => {
  it('returns the run it started even when the sub-workflows have since grown too deep to start anew', async () => {
    await save(ctx, { name: 'grow-c', steps: { x: { type: 'transform', value: 1 } } });
    await save(ctx, { name: 'grow-p', steps: { c: { type: 'workflow', definition: 'grow-c' }, hold: { type: 'wait', signal: 'go' } } });
    const START = `mutation { startRun(definition: "grow-p", idempotencyKey: "k-1") { id } }`;
    const first = await ctx.gql(START);
    await save(ctx, { name: 'grow-e', steps: { x: { type: 'transform', value: 1 } } });
    await save(ctx, { name: 'grow-d', steps: { e: { type: 'workflow', definition: 'grow-e' } } });
    await save(ctx, { name: 'grow-c', steps: { d: { type: 'workflow', definition: 'grow-d' } } });

    expect(await ctx.gql(START)).toEqual(first);
    const fresh = await graphqlResponse(ctx.graphqlUrl, `mutation { startRun(definition: "grow-p", idempotencyKey: "k-2") { id } }`);
    expect(fresh.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', errors: [{ path: '/steps/c', message: expect.stringContaining('nest 4 deep') }] });
    await ctx.gql(SIGNAL, { id: first.startRun.id, signal: 'go' });
  });
});
