/**
 * A redirect the guarded client will not follow although the step allows it: it would send a
 * secret-bearing body to another origin, re-send a streamed body, leave http(s), or the chain
 * is longer than the limit. Never retried: the target would answer the same.
 */
export class RedirectRefusedError extends Error {
  override readonly name = 'RedirectRefused';
  readonly code = 'REDIRECT_REFUSED';
  /** Custom steps' errors with `retryable: false` are not retried. */
  readonly retryable = false;
}
