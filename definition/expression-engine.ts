import { guardBuiltins } from './builtin-guards';
import { currentBudget, EvaluationBudget, WORK_UNIT_CHARS, WORK_UNIT_ITEMS, withBudget, type ExpressionLimits } from './expression-budget';
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

/** Operators whose operands are compared as whole values (deep equality, string comparison). */
const COMPARISONS = new Set(['=', '!=', '<', '<=', '>', '>=', 'in']);

/** What the exit hook must do for a node beyond charging its result, decided once per compile. */
interface NodeRole {
  /** An operand of `&`: remember the length of its string. */
  concatOperand?: true;
  /** An operand of a comparison: charge the size of its value as work. */
  compared?: true;
}

interface AstNode {
  type?: string;
  value?: unknown;
  lhs?: unknown;
  rhs?: unknown;
}

const roles = new WeakMap<object, NodeRole>();

function markRoles(ast: unknown): void {
  const seen = new Set<object>();
  const pending: unknown[] = [ast];
  while (pending.length > 0) {
    const node = pending.pop();
    if (node === null || typeof node !== 'object' || seen.has(node)) continue;
    seen.add(node);
    const { type, value, lhs, rhs } = node as AstNode;
    if (type === 'binary' && typeof lhs === 'object' && lhs !== null && typeof rhs === 'object' && rhs !== null) {
      const role: NodeRole = value === '&' ? { concatOperand: true } : COMPARISONS.has(value as string) ? { compared: true } : {};
      for (const operand of [lhs, rhs]) roles.set(operand, { ...roles.get(operand), ...role });
    }
    for (const child of Object.values(node)) if (child !== null && typeof child === 'object') pending.push(child);
  }
}

/**
 * Charges what each evaluation built and the work the evaluator does outside built-ins. Bound in
 * the expression's own environment under a symbol: expressions bind only names, so none can
 * read, replace or shadow it.
 */
function chargeResult(expression: unknown, input: unknown, _environment: unknown, result: unknown): void {
  const budget = currentBudgetOrFail();
  const node = expression as AstNode;
  if (typeof result === 'string') {
    // Strings are charged where they are built: by `&` here, by built-ins in their guards.
    if (node.type === 'binary' && node.value === '&') {
      const operands = budget.operandLengths;
      const longest = Math.max(operands.get(node.lhs as object) ?? 0, operands.get(node.rhs as object) ?? 0);
      budget.concatenated(result.length, result.length - longest);
    }
  } else {
    budget.value(result);
  }
  // `**` and `*` walk their whole input.
  if (node.type === 'descendant' || node.type === 'wildcard') budget.step(Math.ceil(budget.deepSize(input).nodes / WORK_UNIT_ITEMS));
  const role = roles.get(node);
  if (role?.concatOperand) budget.operandLengths.set(node, typeof result === 'string' ? result.length : 0);
  if (role?.compared) {
    const size = budget.deepSize(result);
    budget.step(Math.ceil(size.nodes / WORK_UNIT_ITEMS + size.chars / WORK_UNIT_CHARS));
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
  markRoles(expression.ast());
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
