import type { MapStep, Step } from '../../definition/definition-schema';
import { evaluateTemplateSync } from '../../definition/template-plan';
import type { ActionCall } from '../../interpreter/action-runner';
import { CUSTOM_STEP_HANDLER, DEFAULT_MAP_CONCURRENCY, STEP_HANDLERS, handlerOf, type StepEnv } from '../../interpreter/step-handlers';
import type { StepActions } from '../../interpreter/step-actions';

/**
 * The handlers with the real synchronous evaluator and a graph that records what they ask of it:
 * the actions they would run (StepActions.run is where the workflow reaches Temporal), the
 * signals they wait for and the items they fan out.
 */
function envFor(id: string, bindings: Record<string, unknown> = {}): StepEnv & { asked: unknown[] } {
  const asked: unknown[] = [];
  const actions = { run: (call: ActionCall) => (asked.push(call), Promise.resolve({ ran: call.type })) } as unknown as StepActions;
  return {
    asked,
    actions,
    id,
    key: `run-1:${id}`,
    path: id,
    evaluate: (value) => evaluateTemplateSync(value, bindings),
    bindings: () => bindings,
    emit: (event) => (asked.push(event), Promise.resolve()),
    wait: (signal, timeout) => (asked.push({ wait: signal, timeout }), Promise.resolve('approved')),
    map: (step: MapStep, items, maxConcurrency) => (asked.push({ map: step.items, items, maxConcurrency }), Promise.resolve(items)),
  };
}

const run = async (step: Step, bindings: Record<string, unknown> = {}, attempt = 1): Promise<{ input: unknown; output: unknown; asked: unknown[] }> => {
  const env = envFor('s', bindings);
  const handler = handlerOf(step);
  let input = handler.input(step, env);
  if (input instanceof Promise) input = await input;
  const output = await handler.perform(step, input, env, attempt);
  return { input, output, asked: env.asked };
};

const bindings = { input: { n: 2, when: '2026-01-01T00:00:00.000Z', list: [1, 2, 3] }, steps: {} };

describe('STEP_HANDLERS', () => {
  it('evaluates a transform in the workflow: its output is its input, and nothing is called', async () => {
    expect(await run({ type: 'transform', value: { double: '{% $input.n * 2 %}' } }, bindings)).toEqual({ input: { double: 4 }, output: { double: 4 }, asked: [] });
  });

  it('turns a condition into the branch the scheduler takes, and fails one that is not a boolean', async () => {
    expect((await run({ type: 'condition', if: '{% $input.n > 1 %}' }, bindings)).output).toEqual({ result: true, branch: 'then' });
    expect((await run({ type: 'condition', if: '{% $input.n > 5 %}' }, bindings)).output).toEqual({ result: false, branch: 'else' });
    await expect(run({ type: 'condition', if: '{% $input.n %}' }, bindings)).rejects.toThrow('condition "if" evaluated to 2, not a boolean');
  });

  it('runs an http step as one http action with the step\'s timeout and idempotency key', async () => {
    const { input, asked } = await run({ type: 'http', method: 'POST', url: 'https://api.example/{% $input.n %}', timeout: '5s' }, bindings);
    expect(input).toEqual({ method: 'POST', url: 'https://api.example/2', idempotencyKey: 'run-1:s' });
    expect(asked).toEqual([{ type: 'http', request: input, timeout: '5s', what: 's' }]);
  });

  it('runs a workflow step as one child run of its reference with its evaluated input', async () => {
    const step = { type: 'workflow', definition: 'child', input: { n: '{% $input.n %}' } } as const;
    const { input, asked } = await run(step, bindings);
    expect(input).toEqual({ definition: 'child', version: 'latest', input: { n: 2 } });
    expect(asked).toEqual([{ type: 'workflow', reference: step, input: { n: 2 }, what: 's' }]);
  });

  it('runs a custom step as one custom action with its evaluated config, attempt and key', async () => {
    const step = { type: 'send-email', to: '{% "x" & $input.n %}', retry: { maxAttempts: 2 }, timeout: '1s' } as Step;
    const { input, asked } = await run(step, bindings, 2);
    expect(input).toEqual({ config: { to: 'x2' } });
    expect(asked).toEqual([
      { type: 'custom', call: { type: 'send-email', stepId: 's', attempt: 2, idempotencyKey: 'run-1:s', config: { to: 'x2' } }, timeout: '1s', what: 's' },
    ]);
    expect(handlerOf(step)).toBe(CUSTOM_STEP_HANDLER);
  });

  it('takes a wait step\'s signal from the inbox and returns its payload', async () => {
    const { input, output, asked } = await run({ type: 'wait', signal: 'approve', timeout: '1h' });
    expect(input).toEqual({ signal: 'approve', timeout: '1h' });
    expect(output).toBe('approved');
    expect(asked).toEqual([{ wait: 'approve', timeout: '1h' }]);
  });

  it('fans a map step\'s evaluated items out at its concurrency, 10 by default, and fails items that are not an array', async () => {
    const step = { type: 'map', items: '{% $input.list %}', do: { type: 'http', url: 'https://api.example/{% $item %}' } } as MapStep;
    expect((await run(step, bindings)).input).toEqual({ items: [1, 2, 3], maxConcurrency: DEFAULT_MAP_CONCURRENCY });
    expect((await run({ ...step, maxConcurrency: 2 }, bindings)).asked).toEqual([{ map: step.items, items: [1, 2, 3], maxConcurrency: 2 }]);
    expect(() => STEP_HANDLERS.map.input({ ...step, items: '{% $input.n %}' }, envFor('s', bindings))).toThrow('items evaluated to 2, not an array');
  });

  it('resolves a delay\'s duration literally and its until by expression', () => {
    expect(STEP_HANDLERS.delay.input({ type: 'delay', duration: '5s' }, envFor('s', bindings))).toEqual({ duration: '5s' });
    expect(STEP_HANDLERS.delay.input({ type: 'delay', until: '{% $input.when %}' }, envFor('s', bindings))).toEqual({ until: '2026-01-01T00:00:00.000Z' });
  });
});
