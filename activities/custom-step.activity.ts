import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { DeferredTemplates } from '../interpreter/deferred-templates';
import type { GuardedFetch } from '../src/net/guarded-fetch';
import type { StepTypeDefinition } from '../src/step-types/define-step-type';
import { resolveDeferred, type SecretResolver } from './deferred-values';
import { SecretRedactor } from './secret-redactor';
import { LOG_LEVELS, type LogLevel } from '../definition/log-levels';

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
  /**
   * Set by runs started since activity logs: the result is `{ output, logs? }` (see
   * `interpreter/step-logs.ts`) and a failure's first detail carries `logs`; otherwise the
   * result is the output alone (what runs recorded before expect when they replay).
   */
  logs?: true;
};

/** Lines a custom step's attempt may log through `step.log`; the interpreter caps them again (100 lines, 64 KiB). */
const MAX_CUSTOM_LOG_LINES = 1000;

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
    const lines: Array<{ level: LogLevel; message: string }> = [];
    let dropped = 0;
    const log = (level: LogLevel, message: string): void => {
      if (lines.length >= MAX_CUSTOM_LOG_LINES) dropped += 1;
      else lines.push({ level: LOG_LEVELS.includes(level) ? level : 'info', message: String(message) });
    };
    // Redacted as the output is: a line may quote a secret the step was given.
    const logs = () => [...lines.map((line) => ({ level: line.level, message: redactor.text(line.message) })), ...(dropped > 0 ? [{ level: 'warn', message: `${dropped} more log lines left out` }] : [])];
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
        log,
      });
      const result = redactor.value(output ?? null);
      return call.logs ? { output: result, ...(lines.length > 0 ? { logs: logs() } : {}) } : result;
    } catch (err) {
      if (Context.current().cancellationSignal.aborted) throw err;
      const failure = redactor.failure(err, 'CustomStepError');
      if (!call.logs || lines.length === 0) throw failure;
      const [first, ...rest] = failure.details ?? [];
      const detail = first !== null && typeof first === 'object' && !Array.isArray(first) ? first : first === undefined ? {} : { details: first };
      throw ApplicationFailure.create({ message: failure.message, type: failure.type ?? undefined, nonRetryable: failure.nonRetryable ?? undefined, details: [{ ...detail, logs: logs() }, ...rest] });
    }
  };
}
