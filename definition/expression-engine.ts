import { guardBuiltins } from './builtin-guards';
import { currentBudget, EvaluationBudget, withBudget, type ExpressionLimits } from './expression-budget';
import { drive } from './expression-driver';
import createJsonata from './generated/jsonata-sync';
import { Re2RegExp } from './re2-regexp';

/** jsonata 2.x semantics, evaluated synchronously, with every built-in guarded. */
const jsonataSync = createJsonata({ builtins: guardBuiltins });

const EVALUATE_EXIT = Symbol.for('jsonata.__evaluate_exit');

/** A compiled expression of the synchronous engine. */
export type SyncExpression = createJsonata.SyncExpression;

/** What a compiled expression is compiled with: the limits checked by jsonata itself. */
export type CompileLimits = Pick<ExpressionLimits, 'maxDepth' | 'maxSequence'>;

/**
 * Charges what each evaluation built. Bound in the expression's own environment under a symbol:
 * expressions bind only names, so none can read, replace or shadow it.
 */
function chargeResult(_expression: unknown, _input: unknown, _environment: unknown, result: unknown): void {
  // Strings are charged where they are built (`&` here, built-ins in their guards); a string an
  // evaluation merely passes on was charged already.
  const budget = currentBudgetOrFail();
  const node = _expression as { type?: string; value?: unknown };
  if (typeof result === 'string') {
    if (node.type === 'binary' && node.value === '&') budget.string(result.length);
  } else {
    budget.value(result);
  }
}

/**
 * Parses an expression for the synchronous engine: regexes run on RE2 ({@link Re2RegExp}),
 * sequences are capped at `maxSequence`, nesting at `maxDepth`.
 *
 * @throws the jsonata error object (`code`, `position`, `message`) when it does not parse.
 */
export function compileSync(source: string, limits: CompileLimits): SyncExpression {
  const expression = jsonataSync(source, { RegexEngine: Re2RegExp, stack: limits.maxDepth, sequence: limits.maxSequence });
  expression.assign(EVALUATE_EXIT, chargeResult);
  return expression;
}

/**
 * Evaluates a compiled expression synchronously within `limits`: no promise is created, the
 * JavaScript stack does not deepen with the expression, and every limit is counted by code no
 * expression can reach.
 *
 * @throws the jsonata error object for a failing expression, or a `BudgetExceeded` naming the
 * limit.
 */
export function evaluateSync(expression: SyncExpression, input: unknown, bindings: Record<string, unknown>, limits: ExpressionLimits): unknown {
  const budget = new EvaluationBudget(limits);
  return withBudget(budget, () => drive(expression.evaluate(input, bindings), budget));
}

function currentBudgetOrFail(): EvaluationBudget {
  const budget = currentBudget();
  if (!budget) throw new Error('a synchronous expression was evaluated outside evaluateSync');
  return budget;
}
