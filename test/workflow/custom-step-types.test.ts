import { z } from 'zod';
import { defineStepType, type StepExecution } from '../../src/step-types/define-step-type';
import { graphql } from '../support/graphql-client';
import { runToEnd, stepOf } from '../support/runs';
import { createTestContext, type TestContext } from '../support/test-context';

const sent: Array<{ config: { to: string; subject: string }; step: Omit<StepExecution, 'signal'> }> = [];

const sendEmail = defineStepType({
  name: 'send-email',
  description: 'Sends an email (a stand-in that records what it was asked to send)',
  config: z.object({ to: z.email(), subject: z.string().min(1), priority: z.number().int().optional() }),
  async execute(config, { signal: _signal, ...step }) {
    sent.push({ config, step });
    if (config.subject === 'busy once' && step.attempt === 1) throw new Error('mail server busy');
    if (config.subject === 'rejected') throw Object.assign(new Error('mailbox does not exist'), { retryable: false });
    return Promise.resolve({ messageId: `msg-${sent.length}`, to: config.to });
  },
});

let ctx: TestContext;

beforeAll(async () => {
  ctx = await createTestContext({ stepTypes: [sendEmail] });
});

afterAll(async () => {
  await ctx?.stop();
});

const FAST_RETRY = { maxAttempts: 3, initialInterval: '10ms' };

describe('a custom step type registered in the worker', () => {
  it('runs from JSON like a built-in: templated config, its result as output, a stable idempotency key', async () => {
    const run = await runToEnd(ctx, {
      name: 'welcome',
      steps: {
        who: { type: 'transform', value: '{% $input.email %}' },
        notify: { type: 'send-email', needs: ['who'], to: '{% $steps.who.output %}', subject: 'Welcome, {% $input.name %}' },
      },
    }, { email: 'ana@example.com', name: 'Ana' });
    expect(run.status).toBe('COMPLETED');
    expect(stepOf(run, 'notify')).toMatchObject({ type: 'send-email', status: 'SUCCEEDED', output: { to: 'ana@example.com' } });
    const call = sent.find((entry) => entry.step.runId === run.id);
    expect(call).toMatchObject({ config: { to: 'ana@example.com', subject: 'Welcome, Ana' }, step: { stepId: 'notify', attempt: 1, idempotencyKey: `${run.id}:notify`, tenantId: 'default' } });
  });

  it('is retried by the step policy, each attempt audited', async () => {
    const run = await runToEnd(ctx, { name: 'busy', steps: { notify: { type: 'send-email', to: 'bo@example.com', subject: 'busy once', retry: FAST_RETRY } } });
    expect(run.status).toBe('COMPLETED');
    expect(stepOf(run, 'notify').attempts).toBe(2);
    expect(run.events.filter((event) => event.stepId === 'notify').map((event) => event.type)).toEqual(['STEP_STARTED', 'STEP_FAILED', 'STEP_STARTED', 'STEP_SUCCEEDED']);
  });

  it('is not retried when it throws an error marked retryable: false', async () => {
    const run = await runToEnd(ctx, { name: 'rejected', steps: { notify: { type: 'send-email', to: 'cy@example.com', subject: 'rejected', retry: FAST_RETRY } } });
    expect(run.status).toBe('FAILED');
    expect(stepOf(run, 'notify')).toMatchObject({ attempts: 1, error: { message: 'mailbox does not exist' } });
  });

  it('checks the resolved config against its schema before it runs, naming the field', async () => {
    const before = sent.length;
    const run = await runToEnd(ctx, { name: 'bad-address', steps: { notify: { type: 'send-email', to: '{% $input.to %}', subject: 'hello' } } }, { to: 'not an email' });
    expect(run.status).toBe('FAILED');
    expect(stepOf(run, 'notify').error).toMatchObject({ type: 'ConfigContractViolation', message: expect.stringContaining('/to') });
    expect(sent.length).toBe(before);
  });

  it('has its config checked at save time, with a JSON pointer per problem', async () => {
    const response = await graphql(ctx.graphqlUrl, `mutation($spec: JSON!) { saveDefinition(spec: $spec) { version } }`, {
      spec: { name: 'bad-config', steps: { notify: { type: 'send-email', subject: 42, colour: 'red' } } },
    });
    const errors = (response.errors?.[0]?.extensions as { errors?: Array<{ path: string }> } | undefined)?.errors ?? [];
    expect(errors.map((error) => error.path).sort()).toEqual(['/steps/notify/colour', '/steps/notify/subject', '/steps/notify/to']);
  });

  it('is an unknown type for a deployment that did not register it', async () => {
    const response = await graphql(ctx.graphqlUrl, `query($spec: JSON!) { validateDefinition(spec: $spec) { valid errors { path message } } }`, {
      spec: { name: 'typo', steps: { notify: { type: 'send-emails', to: 'a@example.com', subject: 'x' } } },
    });
    expect(response.data).toMatchObject({ validateDefinition: { valid: false, errors: [{ path: '/steps/notify/type', message: expect.stringContaining('send-email') }] } });
  });
});
