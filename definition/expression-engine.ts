import { guardBuiltins } from './builtin-guards';
import { chargeStep, currentBudget, EvaluationBudget, WORK_UNIT_CHARS, WORK_UNIT_ITEMS, withBudget, type ExpressionLimits } from './expression-budget';
import { drive, settle } from './expression-driver';
import createJsonata from './generated/jsonata-sync';
import { Re2RegExp } from './re2-regexp';
import { ceil, isArray, max, objectValues } from './intrinsics';

/** jsonata 2.x semantics, evaluated synchronously, with every built-in guarded. */
const jsonataSync = createJsonata({
  builtins: guardBuiltins,
  step: chargeStep,
  drive: (generator) => drive(generator, currentBudgetOrFail()),
});

const EVALUATE_EXIT = Symbol.for('jsonata.__evaluate_exit');

/** A compiled expression of the synchronous engine. */
export type SyncExpression = createJsonata.SyncExpression;

/** What a compiled expression is compiled with: the limits checked by jsonata itself. */
export type CompileLimits = Pick<ExpressionLimits, 'maxDepth' | 'maxSequence'>;

/** Operators whose operands are compared as whole values (deep equality, string comparison). */
const COMPARISONS = new Set(['=', '!=', '<', '<=', '>', '>=', 'in']);

/**
 * What the exit hook does for a node beyond charging its result, decided once per compile and
 * kept on the node under a symbol (no expression can name a symbol; a node without one is plain).
 */
const CHARGE = Symbol('trellis charge');
/** The node is `&`: charge the characters it added to its operands. */
const CONCAT = 1;
/** An operand of `&`: remember the length of its string. */
const CONCAT_OPERAND = 2;
/** An operand of a comparison: charge the size of its value as work. */
const COMPARED = 4;
/** `**` or `*`: charge the size of the input it walks as work. */
const WALKS_INPUT = 8;

interface AstNode {
  type?: string;
  value?: unknown;
  lhs?: unknown;
  rhs?: unknown;
  [CHARGE]?: number;
}

function mark(node: object, flag: number): void {
  const marked = node as AstNode;
  marked[CHARGE] = (marked[CHARGE] ?? 0) | flag;
}

function markRoles(ast: unknown): void {
  const seen = new Set<object>();
  const pending: unknown[] = [ast];
  while (pending.length > 0) {
    const node = pending.pop();
    if (node === null || typeof node !== 'object' || seen.has(node)) continue;
    seen.add(node);
    const { type, value, lhs, rhs } = node as AstNode;
    if (type === 'descendant' || type === 'wildcard') mark(node, WALKS_INPUT);
    if (type === 'binary' && typeof lhs === 'object' && lhs !== null && typeof rhs === 'object' && rhs !== null) {
      const role = value === '&' ? CONCAT_OPERAND : COMPARISONS.has(value as string) ? COMPARED : 0;
      if (value === '&') mark(node, CONCAT);
      if (role !== 0) for (const operand of [lhs, rhs]) mark(operand, role);
    }
    for (const child of objectValues(node)) if (child !== null && typeof child === 'object') pending.push(child);
  }
}

/**
 * Charges what each evaluation built and the work the evaluator does outside built-ins. Bound in
 * the expression's own environment under a symbol: expressions bind only names, so none can
 * read, replace or shadow it. Called for every node evaluated: the common case (a primitive
 * result of an unmarked node) does nothing but two checks.
 */
function chargeResult(expression: unknown, input: unknown, _environment: unknown, result: unknown): void {
  const budget = currentBudgetOrFail();
  const node = expression as AstNode;
  const flags = node[CHARGE] ?? 0;
  if (typeof result === 'string') {
    // Strings are charged where they are built: by `&` here, by built-ins in their guards.
    if (flags & CONCAT) {
      const operands = budget.operandLengths;
      const longest = max(operands.get(node.lhs as object) ?? 0, operands.get(node.rhs as object) ?? 0);
      budget.concatenated(result.length, result.length - longest);
    }
  } else if (typeof result === 'object' && result !== null) {
    budget.value(result);
  }
  if (flags === 0) return;
  if (flags & WALKS_INPUT) budget.step(ceil(budget.deepSize(input).nodes / WORK_UNIT_ITEMS));
  if (flags & CONCAT_OPERAND) budget.operandLengths.set(node, typeof result === 'string' ? result.length : 0);
  if (flags & COMPARED) {
    // Most operands are a primitive, or a sequence of one (the exit hook sees it before jsonata unwraps it).
    const single = isArray(result) && result.length === 1 ? (result[0] as unknown) : result;
    if (single === null || typeof single !== 'object') {
      budget.step(ceil(1 / WORK_UNIT_ITEMS + (typeof single === 'string' ? single.length : 0) / WORK_UNIT_CHARS));
    } else {
      const size = budget.deepSize(result);
      budget.step(ceil(size.nodes / WORK_UNIT_ITEMS + size.chars / WORK_UNIT_CHARS));
    }
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
  return withBudget(budget, () => settle(expression.evaluate(input, bindings), budget));
}

function currentBudgetOrFail(): EvaluationBudget {
  const budget = currentBudget();
  if (!budget) throw new Error('a synchronous expression was evaluated outside evaluateSync');
  return budget;
}
