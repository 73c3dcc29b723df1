import type { z } from 'zod';
import type { Response } from 'undici';
import type { GuardedRequestInit } from '../net/guarded-fetch';
import type { LogLevel } from '../../definition/log-levels';

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
  /**
   * `fetch` under Trellis's egress policy (SPEC §7b), undici's: the only outbound HTTP a step
   * type should use. It refuses loopback, private, link-local… addresses unless the operator
   * allows them (`TRELLIS_HTTP_ALLOW`) and Trellis's own infrastructure always, checking the
   * address actually connected to; it follows redirects itself (`followRedirects`, default
   * `"same-origin"`) and never sends credentials or a value holding one of the step's secrets to
   * another origin. It is aborted with the step unless `signal` says otherwise. Requests made
   * any other way (the global `fetch`, `http.request`, an SDK's own client) bypass all of this.
   * @throws `EgressDenied` and `RedirectRefused` errors (not retried when they fail the step)
   */
  fetch: StepFetch;
  /**
   * Writes a line to the run's log: a LOG audit event with the level, the step and the attempt,
   * recorded just before the attempt's STEP_SUCCEEDED or STEP_FAILED. Secrets the step was given
   * are redacted; an attempt keeps at most 100 lines and 64 KiB (then one line says how many
   * were left out). Lines of steps inside a `map` step's inline graph are not recorded.
   */
  log(level: LogLevel, message: string): void;
};

/** The guarded `fetch` a custom step is given (see {@link StepExecution.fetch}). */
export type StepFetch = (input: string | URL, init?: Omit<GuardedRequestInit, 'carriesSecret'>) => Promise<Response>;

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
 *   async execute({ to, subject, text }, { idempotencyKey, fetch }) {
 *     const response = await fetch('https://mail.example/send', {
 *       method: 'POST',
 *       headers: { 'content-type': 'application/json', 'idempotency-key': idempotencyKey },
 *       body: JSON.stringify({ to, subject, text }),
 *     });
 *     return { status: response.status };
 *   },
 * });
 * ```
 */
export function defineStepType<Config extends z.ZodObject>(definition: StepTypeDefinition<Config>): StepTypeDefinition<Config> {
  return definition;
}
