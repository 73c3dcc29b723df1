import { ApplicationFailure } from '@temporalio/common';
import type { CodeStepCall, CodeStepResult } from '../interpreter/code-step';
import type { CodeSandbox } from '../src/code-steps/code-sandbox';

/**
 * The `runCodeStep` activity: runs a code step's source in the worker's {@link CodeSandbox} and
 * returns its output with its console lines. What the code does wrong (an exception, a limit,
 * a result JSON cannot hold) fails the step for good: an `ApplicationFailure` whose type is the
 * `CODE_*` code, with `{ code, line, column, logs }` as details. No secret reaches the sandbox:
 * code steps have no `$secret` in this version.
 */
export function createCodeStepActivity(sandbox: CodeSandbox) {
  return async function runCodeStep(call: CodeStepCall): Promise<CodeStepResult> {
    const outcome = await sandbox.run(call.source, call.args);
    if (outcome.ok) return { output: outcome.output ?? null, logs: outcome.logs };
    const { error, logs } = outcome;
    throw ApplicationFailure.create({
      message: error.message,
      type: error.code,
      nonRetryable: true,
      details: [{ code: error.code, ...error.position, logs }],
    });
  };
}
