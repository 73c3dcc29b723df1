/** Codes shared by domain errors and GraphQL `extensions.code`. */
export const ERROR_CODES = ['BAD_USER_INPUT', 'NOT_FOUND', 'UNAUTHENTICATED', 'FORBIDDEN', 'CONFLICT', 'RATE_LIMITED', 'UNAVAILABLE'] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

/** One problem in user input, located by a JSON pointer (`/steps/check/then/0`, `/input/total`). */
export type FieldError = { path: string; message: string };

/** An error a client caused and can fix; its message and fields are safe to show. */
export class TrellisError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly errors: FieldError[] = [],
  ) {
    super(message);
    this.name = 'TrellisError';
  }
}

export class NotFoundError extends TrellisError {
  constructor(what: string) {
    super('NOT_FOUND', `${what} not found`);
  }
}

export class BadUserInputError extends TrellisError {
  constructor(message: string, errors: FieldError[] = []) {
    super('BAD_USER_INPUT', errors.length > 0 ? `${message}: ${errors.map((e) => `${e.path || '/'} ${e.message}`).join('; ')}` : message, errors);
  }
}

export class ConflictError extends TrellisError {
  constructor(message: string) {
    super('CONFLICT', message);
  }
}

/** Which limit a {@link RateLimitedError} hit, its maximum and the value that went past it. */
export type LimitDetails = { name: string; max: number; actual?: number };

/**
 * Too much at once: a rate limit (`retryAfterSeconds` says when to try again) or a limit on what
 * may be in progress (runs in flight, subscriptions on a socket), which frees up as work finishes.
 */
export class RateLimitedError extends TrellisError {
  constructor(
    message: string,
    readonly limit: LimitDetails,
    readonly retryAfterSeconds?: number,
  ) {
    super('RATE_LIMITED', message);
  }
}

/**
 * A dependency Trellis needs to do what was asked is unreachable (Temporal, when starting a run):
 * nothing was done, and the same request may succeed later. `retryAfterSeconds` says when to try.
 */
export class UnavailableError extends TrellisError {
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super('UNAVAILABLE', message);
  }
}
