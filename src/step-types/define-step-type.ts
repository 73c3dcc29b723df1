import type { z } from 'zod';

/** What a custom step's `execute` is told about the step it runs. */
export type StepExecution = {
  tenantId: string;
  runId: string;
  stepId: string;
  /** 1 for the first attempt; the interpreter retries by the step's policy. */
  attempt: number;
  /** `<run id>:<step id>`, stable across attempts and worker crashes: pass it on to the system you call. */
  idempotencyKey: string;
  /** Aborted when the step is cancelled or times out. */
  signal: AbortSignal;
};

/**
 * A step type a deployment adds to the language (SPEC §2 "Custom step types"): teams write
 * `send-email` or `update-crm` once and use it from JSON like a built-in.
 */
export type StepTypeDefinition<Config extends z.ZodObject = z.ZodObject> = {
  /** The `type` definitions use: lowercase letters, digits and `-`, not a built-in name. */
  name: string;
  description?: string;
  /**
   * The step's own fields (besides `type`, `needs`, `retry`… which every step has). Checked
   * when a definition is saved (fields holding `{% … %}` are checked after they are resolved)
   * and again, resolved, before `execute` runs.
   */
  config: Config;
  /**
   * Performs one attempt, as an activity: its result is the step's output. Throw to fail the
   * attempt; an error whose `retryable` property is `false` is not retried.
   */
  execute(config: z.output<Config>, step: StepExecution): Promise<unknown>;
};

/**
 * Declares a custom step type; export it (or an array of them) as the default export of a module
 * listed in `TRELLIS_STEP_TYPES`, or pass it to `startTrellis({ stepTypes })`.
 * @example
 * ```ts
 * export default defineStepType({
 *   name: 'send-email',
 *   config: z.object({ to: z.email(), subject: z.string(), text: z.string() }),
 *   async execute({ to, subject, text }, { idempotencyKey }) {
 *     return mailer.send({ to, subject, text, idempotencyKey });
 *   },
 * });
 * ```
 */
export function defineStepType<Config extends z.ZodObject>(definition: StepTypeDefinition<Config>): StepTypeDefinition<Config> {
  return definition;
}
