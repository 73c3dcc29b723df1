/**
 * Why a `code` step failed, as `ErrorInfo.type` (and `details.code`) of the step's error. None of
 * them is retried: the same code on the same input fails the same way.
 */
export const CODE_ERROR_CODES = [
  /** The code threw, or its promise was rejected: the user's message, with the line when known. */
  'CODE_ERROR',
  /** The source does not parse (checked at save time too). */
  'CODE_SYNTAX_ERROR',
  /** It ran past its CPU time limit (a deadline checked by QuickJS's interrupt handler). */
  'CODE_TIMEOUT',
  /** It allocated past its memory limit. */
  'CODE_MEMORY_LIMIT',
  /** It recursed past its stack limit. */
  'CODE_STACK_OVERFLOW',
  /** Its result, as JSON, is longer than the output limit. */
  'CODE_OUTPUT_TOO_LARGE',
  /** Its result is not JSON: undefined, a function, a symbol, a BigInt, NaN or Infinity, a cycle, a pending promise. */
  'CODE_INVALID_OUTPUT',
  /** What it is given (`input`, `steps`, `run`) is larger than the sandbox takes. */
  'CODE_INPUT_TOO_LARGE',
] as const;
/** One of {@link CODE_ERROR_CODES}. */
export type CodeErrorCode = (typeof CODE_ERROR_CODES)[number];

/** Where in the step's `source` an error happened (1-based). */
export type SourcePosition = { line: number; column?: number };

/**
 * A code step's execution failed for one of the {@link CODE_ERROR_CODES}. The activity turns it
 * into a non-retryable failure whose details carry `code`, the position and the console lines.
 */
export class CodeStepError extends Error {
  constructor(
    readonly code: CodeErrorCode,
    message: string,
    readonly position?: SourcePosition,
  ) {
    super(message);
    this.name = 'CodeStepError';
  }
}
