import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { DeferredTemplates } from '../interpreter/deferred-templates';
import type { GuardedFetch } from '../src/net/guarded-fetch';
import type { StepTypeDefinition } from '../src/step-types/define-step-type';
import { resolveDeferred, type SecretResolver } from './deferred-values';
import { SecretRedactor } from './secret-redactor';

/** One attempt of a custom step, as the interpreter hands it over. */
export type CustomStepCall = {
  type: string;
  /** The step's own fields, resolved except for `deferred` strings that read secrets. */
  config: Record<string, unknown>;
  deferred?: DeferredTemplates;
  tenantId: string;
  runId: string;
  stepId: string;
  attempt: number;
  idempotencyKey: string;
};

/**
 * The `runCustomStep` activity: finds the registered step type, checks the resolved config
 * against its schema (a violation is not retried), and runs it, giving it `fetch`, the
 * egress-guarded client, as `context.fetch`.
 */
export function createCustomStepActivity(stepTypes: readonly StepTypeDefinition[], secrets: SecretResolver | undefined, fetch: GuardedFetch) {
  const registry = new Map(stepTypes.map((type) => [type.name, type]));
  return async function runCustomStep(call: CustomStepCall): Promise<unknown> {
    const stepType = registry.get(call.type);
    if (!stepType) {
      throw ApplicationFailure.nonRetryable(`step type "${call.type}" is not registered in this worker`, 'UnknownStepType');
    }
    const redactor = new SecretRedactor();
    try {
      const resolved = await resolveDeferred(call.config, call.deferred, call.tenantId, secrets, redactor);
      const parsed = stepType.config.safeParse(resolved);
      if (!parsed.success) {
        const problems = parsed.error.issues.map((issue) => `/${issue.path.join('/')} ${issue.message}`).join('; ');
        throw ApplicationFailure.nonRetryable(`the resolved config of step "${call.stepId}" does not match step type "${call.type}": ${problems}`, 'ConfigContractViolation');
      }
      const signal = Context.current().cancellationSignal;
      const carriesSecret = (text: string) => redactor.text(text) !== text;
      const output = await stepType.execute(parsed.data, {
        tenantId: call.tenantId,
        runId: call.runId,
        stepId: call.stepId,
        attempt: call.attempt,
        idempotencyKey: call.idempotencyKey,
        signal,
        fetch: (input, init) => fetch(input, { signal, ...init, carriesSecret }),
      });
      return redactor.value(output ?? null);
    } catch (err) {
      if (Context.current().cancellationSignal.aborted) throw err;
      throw redactor.failure(err, 'CustomStepError');
    }
  };
}
