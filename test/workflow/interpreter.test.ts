import { HttpStub } from '../support/http-stub';
import { eventTrail, runToEnd, stepOf } from '../support/runs';
import { createTestContext, type TestContext } from '../support/test-context';

let ctx: TestContext;
let stub: HttpStub;

beforeAll(async () => {
  [ctx, stub] = await Promise.all([createTestContext(), new HttpStub().start()]);
});

afterAll(async () => {
  await Promise.all([ctx?.stop(), stub?.stop()]);
});

describe('the interpreter workflow', () => {
  it('runs independent steps in parallel, so their requests overlap in time', async () => {
    stub.on('GET /slow-a', { delayMs: 700, body: { a: 1 } }).on('GET /slow-b', { delayMs: 700, body: { b: 2 } });
    const run = await runToEnd(ctx, {
      name: 'parallel',
      steps: {
        a: { type: 'http', url: `${stub.url}/slow-a` },
        b: { type: 'http', url: `${stub.url}/slow-b` },
        both: { type: 'transform', needs: ['a', 'b'], value: '{% $steps.a.output.body.a + $steps.b.output.body.b %}' },
      },
    });
    expect(run.status).toBe('COMPLETED');
    const [a] = stub.received('GET /slow-a');
    const [b] = stub.received('GET /slow-b');
    // Each request arrived before the other was answered: they were in flight together.
    expect(a!.receivedAt).toBeLessThan(b!.answeredAt!);
    expect(b!.receivedAt).toBeLessThan(a!.answeredAt!);
    expect(stepOf(run, 'both').output).toBe(3);
  });

  it('skips the branch a condition did not take, and what depends only on it', async () => {
    const run = await runToEnd(
      ctx,
      {
        name: 'branching',
        steps: {
          check: { type: 'condition', if: '{% $input.amount > 100 %}', then: ['review'], else: ['approve'] },
          review: { type: 'transform', needs: ['check'], value: 'reviewed' },
          notify: { type: 'transform', needs: ['review'], value: 'notified' },
          approve: { type: 'transform', needs: ['check'], value: 'approved' },
          done: { type: 'transform', needs: ['review', 'approve'], join: 'any', value: '{% $steps.approve.output %}' },
        },
      },
      { amount: 5 },
    );
    expect(run.status).toBe('COMPLETED');
    expect(stepOf(run, 'check').output).toEqual({ result: false, branch: 'else' });
    expect(stepOf(run, 'review').status).toBe('SKIPPED');
    expect(stepOf(run, 'notify').status).toBe('SKIPPED');
    expect(stepOf(run, 'approve').status).toBe('SUCCEEDED');
    expect(stepOf(run, 'done')).toMatchObject({ status: 'SUCCEEDED', output: 'approved' });
    expect(run.events.find((e) => e.type === 'STEP_SKIPPED' && e.stepId === 'review')?.message).toContain('condition "check" took its else branch');
  });

  it('retries a failing http step with the same Idempotency-Key and counts every attempt', async () => {
    stub.on('POST /flaky', (_req, call) => (call < 2 ? { status: 503, body: { error: 'busy' } } : { status: 201, body: { id: 'ch_1' } }));
    const run = await runToEnd(ctx, {
      name: 'retrying',
      steps: {
        charge: {
          type: 'http',
          method: 'POST',
          url: `${stub.url}/flaky`,
          body: { amount: 10 },
          retry: { maxAttempts: 4, initialInterval: '100ms', backoffCoefficient: 2 },
        },
      },
    });
    expect(run.status).toBe('COMPLETED');
    expect(stepOf(run, 'charge')).toMatchObject({ status: 'SUCCEEDED', attempts: 3, output: { status: 201, body: { id: 'ch_1' } } });
    const requests = stub.received('POST /flaky');
    expect(requests).toHaveLength(3);
    expect(new Set(requests.map((r) => r.headers['idempotency-key']))).toEqual(new Set([`${run.id}:charge`]));
    const failures = run.events.filter((e) => e.type === 'STEP_FAILED');
    expect(failures.map((e) => [e.attempt, e.error.retryable])).toEqual([[1, true], [2, true]]);
    expect(run.events.filter((e) => e.type === 'STEP_STARTED').map((e) => e.attempt)).toEqual([1, 2, 3]);
  });

  it('does not retry a 4xx answer and fails the run with the reason', async () => {
    stub.on('POST /reject', { status: 422, body: { error: 'card declined' } });
    const run = await runToEnd(ctx, {
      name: 'rejected',
      defaults: { retry: { maxAttempts: 5, initialInterval: '100ms' } },
      steps: { charge: { type: 'http', method: 'POST', url: `${stub.url}/reject` } },
    });
    expect(run.status).toBe('FAILED');
    expect(stub.received('POST /reject')).toHaveLength(1);
    expect(stepOf(run, 'charge')).toMatchObject({ status: 'FAILED', attempts: 1 });
    expect(run.error.message).toContain('step "charge" failed');
    expect(run.error.message).toContain('422');
    expect(eventTrail(run).at(-1)).toBe('RUN_FAILED');
  });

  it('fails an attempt that exceeds the step timeout and retries it', async () => {
    stub.on('GET /hang', { delayMs: 5000, body: {} });
    const run = await runToEnd(ctx, {
      name: 'timing-out',
      steps: { slow: { type: 'http', url: `${stub.url}/hang`, timeout: '1s', retry: { maxAttempts: 2, initialInterval: '100ms' } } },
    });
    expect(run.status).toBe('FAILED');
    expect(stepOf(run, 'slow').attempts).toBe(2);
    const failures = run.events.filter((e) => e.type === 'STEP_FAILED');
    expect(failures.map((e) => e.error.type)).toEqual(['Timeout', 'Timeout']);
  });

  it('honours a delay: the step ends no sooner than its duration after it started', async () => {
    const run = await runToEnd(ctx, {
      name: 'delaying',
      steps: { pause: { type: 'delay', duration: '2s' }, after: { type: 'transform', needs: ['pause'], value: 'done' } },
    });
    expect(run.status).toBe('COMPLETED');
    const started = run.events.find((e) => e.type === 'STEP_STARTED' && e.stepId === 'pause')!;
    const succeeded = run.events.find((e) => e.type === 'STEP_SUCCEEDED' && e.stepId === 'pause')!;
    expect(Date.parse(succeeded.at) - Date.parse(started.at)).toBeGreaterThanOrEqual(2000);
    expect(stepOf(run, 'pause').output).toEqual({ waitedMs: 2000 });
  });

  it('computes the run output from the definition output expression', async () => {
    stub.on('GET /customers/42', { body: { id: 42, name: 'Ada', tier: 'gold' } });
    const run = await runToEnd(
      ctx,
      {
        name: 'output',
        output: { customer: '{% $steps.fetch.output.body.name %}', discount: '{% $steps.price.output %}', run: '{% $run.definition %}' },
        steps: {
          fetch: { type: 'http', url: `${stub.url}/customers/{% $input.id %}` },
          price: { type: 'transform', needs: ['fetch'], value: "{% $steps.fetch.output.body.tier = 'gold' ? 0.2 : 0 %}" },
        },
      },
      { id: 42 },
    );
    expect(run.status).toBe('COMPLETED');
    expect(run.output).toEqual({ customer: 'Ada', discount: 0.2, run: 'output' });
  });

  it('compensates succeeded steps in reverse completion order when a step fails for good', async () => {
    stub
      .on('POST /charge', { body: { id: 'ch_9' } })
      .on('POST /reserve', { delayMs: 200, body: { id: 'rs_7' } })
      .on('POST /ship', { status: 400, body: { error: 'no address' } })
      .on('POST /refund', { body: {} })
      .on('POST /release', { body: {} });
    const run = await runToEnd(ctx, {
      name: 'saga',
      steps: {
        charge: { type: 'http', method: 'POST', url: `${stub.url}/charge`,
          compensate: { type: 'http', method: 'POST', url: `${stub.url}/refund`, body: { charge: '{% $steps.charge.output.body.id %}' } } },
        reserve: { type: 'http', method: 'POST', url: `${stub.url}/reserve`, needs: ['charge'],
          compensate: { type: 'http', method: 'POST', url: `${stub.url}/release`, body: { reservation: '{% $steps.reserve.output.body.id %}' } } },
        ship: { type: 'http', method: 'POST', url: `${stub.url}/ship`, needs: ['reserve'] },
      },
    });
    expect(run.status).toBe('COMPENSATED');
    expect(stub.received('POST /release')[0]!.body).toEqual({ reservation: 'rs_7' });
    expect(stub.received('POST /refund')[0]!.body).toEqual({ charge: 'ch_9' });
    expect(stub.received('POST /release')[0]!.receivedAt).toBeLessThanOrEqual(stub.received('POST /refund')[0]!.receivedAt);
    expect(eventTrail(run).slice(-4)).toEqual(['COMPENSATION_STARTED', 'STEP_COMPENSATED:reserve', 'STEP_COMPENSATED:charge', 'RUN_FAILED']);
    expect(stepOf(run, 'charge').status).toBe('COMPENSATED');
  });

  it('ends the run FAILED, not COMPENSATED, when a compensation fails', async () => {
    stub.on('POST /book', { body: { id: 'bk_1' } }).on('POST /unbook', { status: 500, body: {} }).on('POST /pay', { status: 402, body: {} });
    const run = await runToEnd(ctx, {
      name: 'saga-broken',
      steps: {
        book: { type: 'http', method: 'POST', url: `${stub.url}/book`,
          compensate: { type: 'http', method: 'POST', url: `${stub.url}/unbook`, retry: { maxAttempts: 2, initialInterval: '100ms' } } },
        pay: { type: 'http', method: 'POST', url: `${stub.url}/pay`, needs: ['book'] },
      },
    });
    expect(run.status).toBe('FAILED');
    expect(stub.received('POST /unbook')).toHaveLength(2);
    expect(stepOf(run, 'book').status).toBe('COMPENSATION_FAILED');
    expect(eventTrail(run).slice(-3)).toEqual(['COMPENSATION_STARTED', 'COMPENSATION_FAILED:book', 'RUN_FAILED']);
  });

  it('skips a step whose guard is false and fails one whose expression cannot be evaluated', async () => {
    const run = await runToEnd(
      ctx,
      {
        name: 'guards',
        steps: {
          guarded: { type: 'transform', if: '{% $input.vip %}', value: 'vip' },
          broken: { type: 'transform', needs: ['guarded'], join: 'any', value: "{% $input.name & 1 + 'x' %}" },
        },
      },
      { vip: false, name: 'Ada' },
    );
    expect(stepOf(run, 'guarded').status).toBe('SKIPPED');
    expect(run.events.find((e) => e.stepId === 'guarded')!.message).toBe('skipped: guard "if" evaluated to false');
    // join "any" with its only need skipped: skipped too.
    expect(stepOf(run, 'broken').status).toBe('SKIPPED');

    const failing = await runToEnd(ctx, { name: 'bad-expression', steps: { broken: { type: 'transform', value: "{% 1 + 'x' %}" } } });
    expect(failing.status).toBe('FAILED');
    expect(eventTrail(failing)).toEqual(['RUN_STARTED', 'STEP_STARTED:broken', 'STEP_FAILED:broken', 'RUN_FAILED']);
    expect(failing.events[2]!.error).toMatchObject({ type: 'ExpressionError', retryable: false });
    expect(failing.error.message).toContain('step "broken" failed');
  });

  it('fails a step whose output is too large for Temporal history, before any later step sees it', async () => {
    const run = await runToEnd(ctx, {
      name: 'too-large',
      steps: {
        // 300 strings of 4,000 characters: each string is small, the output is not.
        big: { type: 'transform', value: "{% [1..300].($pad('', 4000, 'x')) %}" },
        next: { type: 'transform', needs: ['big'], value: '{% $count($steps.big.output) %}' },
      },
    });
    expect(run.status).toBe('FAILED');
    expect(stepOf(run, 'big').error).toMatchObject({ type: 'OutputTooLarge', retryable: false });
    expect(stepOf(run, 'next').status).toBe('PENDING');
  });

  it('cancels running siblings when a step fails for good', async () => {
    stub.on('GET /long', { delayMs: 10_000, body: {} }).on('GET /broken', { status: 404, body: {} });
    const run = await runToEnd(ctx, {
      name: 'cancelling',
      steps: { long: { type: 'http', url: `${stub.url}/long`, timeout: '30s' }, broken: { type: 'http', url: `${stub.url}/broken` } },
    });
    expect(run.status).toBe('FAILED');
    expect(stepOf(run, 'broken').status).toBe('FAILED');
    expect(stepOf(run, 'long').status).toBe('CANCELLED');
    expect(run.error.message).toContain('step "broken" failed');
  });

  it('records a gap-free audit trail whose every event carries the actor', async () => {
    const run = await runToEnd(ctx, {
      name: 'trail',
      steps: { one: { type: 'transform', value: 1 }, two: { type: 'transform', value: 2 }, sum: { type: 'transform', needs: ['one', 'two'], value: '{% $steps.one.output + $steps.two.output %}' } },
    });
    expect(run.events.map((e) => e.seq)).toEqual(run.events.map((_, i) => i + 1));
    expect(run.events[0]!.type).toBe('RUN_STARTED');
    expect(run.events.at(-1)!.type).toBe('RUN_COMPLETED');
    expect(run.events.every((e) => e.actor.type === 'api')).toBe(true);
    expect(run.events.filter((e) => e.type === 'STEP_STARTED').every((e) => /^[0-9a-f]{64}$/.test(e.inputHash!))).toBe(true);
  });
});
