/**
 * An expression that does not parse, fails while evaluating, or exceeds its work budget.
 *
 * `pointer` is the JSON pointer of the string holding the expression (relative to the value the
 * caller evaluated, or absolute when the caller passed a base pointer); `source` is the
 * expression body between `{%` and `%}`.
 */
export class ExpressionError extends Error {
  /** Stable code for API clients (GraphQL `extensions.code`). */
  readonly code = 'EXPRESSION_ERROR';

  constructor(
    message: string,
    readonly pointer?: string,
    readonly source?: string,
    /** The budget it exceeded, when that is why it failed (`steps`, `depth`, `bytes`, `string`, `sequence`, `argument`). */
    readonly limit?: string,
  ) {
    super(message);
    this.name = 'ExpressionError';
  }
}

/** True when `error` is an {@link ExpressionError}, also across realms (e.g. the workflow sandbox). */
export function isExpressionError(error: unknown): error is ExpressionError {
  return error instanceof ExpressionError || (error instanceof Error && error.name === 'ExpressionError');
}
