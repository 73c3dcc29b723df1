import { customStepConfig } from '../definition/custom-step-type';
import type { Step } from '../definition/definition-schema';
import { deferSecretTemplates } from './deferred-templates';
import { resolveHttpRequest } from './http-request';
import { mapInput, type StepEnv } from './step-handlers';

/**
 * A step's input with the legacy (asynchronous) evaluator, which only runs started before
 * `trellis-sync-expressions` use (every run since evaluates synchronously, through
 * `STEP_HANDLERS[type].input`). Frozen: its awaits are where those runs' histories expect them
 * (parallel steps issue their commands in the order their inputs resolve), so a new step type
 * needs no entry here: no run that started before it existed can hold one.
 */
export async function legacyStepInput(step: Step, env: StepEnv): Promise<unknown> {
  switch (step.type) {
    case 'http':
      return resolveHttpRequest(step, (value) => env.evaluate(value), env.bindings(), env.key);
    case 'transform':
      return env.evaluate(step.value);
    case 'condition':
      return env.evaluate(step.if);
    case 'delay':
      return step.duration !== undefined ? { duration: step.duration } : { until: await env.evaluate(step.until) };
    case 'workflow':
      return { definition: step.definition, version: step.version ?? 'latest', input: (await env.evaluate(step.input)) ?? {} };
    case 'wait':
      return { signal: step.signal, timeout: step.timeout ?? null };
    case 'map':
      return mapInput(step, await env.evaluate(step.items));
    default: {
      const config = customStepConfig(step as Record<string, unknown>);
      const { value, deferred } = deferSecretTemplates(config, env.bindings());
      return { config: await env.evaluate(value), ...(deferred ? { deferred } : {}) };
    }
  }
}
