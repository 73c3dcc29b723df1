import { BudgetExceeded, EvaluationBudget, WORK_UNIT_ITEMS, withBudget, type ExpressionLimits, type SharedBudget } from './expression-budget';
import { settle } from './expression-driver';
import { compileSync, type SyncExpression } from './expression-engine';
import { ExpressionError } from './expression-error';
import { checkExpression, jsonataMessage, quoteSource, splitTemplate, wholeExpression } from './expression';
import { WORKFLOW_EXPRESSION_LIMITS } from './expression-limits';
import { pointerJoin } from './json-pointer';
import { setOwn } from './prototype-keys';
import { isFunctionValue } from './template';
import { OBJECT_PROTOTYPE, ceil, getPrototypeOf, isArray, isFiniteNumber, objectKeys, objectValues } from './intrinsics';

export { WORKFLOW_EXPRESSION_LIMITS } from './expression-limits';

/** Nesting a result may have: deeper values could not be serialised by Temporal or PostgreSQL. */
export const MAX_RESULT_DEPTH = 1_000;

/** A template value compiled once: only the strings holding expressions are ever evaluated. */
type Plan =
  | { kind: 'constant'; value: unknown }
  | { kind: 'whole'; expression: CompiledSource }
  | { kind: 'splice'; parts: Array<string | CompiledSource>; text: string }
  | { kind: 'array'; items: Plan[] }
  | { kind: 'object'; entries: Array<[string, Plan]> };

interface CompiledSource {
  source: string;
  expression: SyncExpression | undefined;
  /** Why it cannot be evaluated (a syntax error, `$eval`): reported when evaluation reaches it. */
  error: ExpressionError | undefined;
}

const PLAN_CACHE_LIMIT = 1_000;
const EXPRESSION_CACHE_LIMIT = 2_000;
const planCache = new Map<string, { plan: Plan; pointers: Map<Plan, string> }>();
const expressionCache = new Map<string, CompiledSource>();

function remember<K, V>(cache: Map<K, V>, key: K, value: V, limit: number): V {
  if (cache.size >= limit) {
    const oldest = cache.keys().next();
    if (!oldest.done) cache.delete(oldest.value);
  }
  cache.set(key, value);
  return value;
}

function compileSource(source: string): CompiledSource {
  const cached = expressionCache.get(source);
  if (cached) return cached;
  let compiled: CompiledSource;
  try {
    checkExpression(source);
    compiled = { source, expression: compileSync(source, WORKFLOW_EXPRESSION_LIMITS), error: undefined };
  } catch (error) {
    compiled = { source, expression: undefined, error: toExpressionError(error, source, undefined) };
  }
  return remember(expressionCache, source, compiled, EXPRESSION_CACHE_LIMIT);
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const item of objectValues(value)) deepFreeze(item);
    Object.freeze(value);
  }
  return value;
}

function planOf(value: unknown, pointer: string, pointers: Map<Plan, string>): Plan {
  let plan: Plan;
  if (typeof value === 'string') {
    if (!value.includes('{%')) {
      plan = { kind: 'constant', value };
    } else {
      const whole = wholeExpression(value);
      if (whole !== undefined) {
        plan = { kind: 'whole', expression: compileSource(whole) };
      } else {
        let parts: Array<string | CompiledSource>;
        try {
          parts = splitTemplate(value).map((part) => (part.kind === 'text' ? part.text : compileSource(part.source)));
        } catch (error) {
          parts = [{ source: value, expression: undefined, error: new ExpressionError(`${JSON.stringify(value)}: ${jsonataMessage(error)}`) }];
        }
        plan = { kind: 'splice', parts, text: value };
      }
    }
  } else if (isArray(value)) {
    const items = value.map((item, index) => planOf(item, pointerJoin(pointer, index), pointers));
    plan = items.every((item) => item.kind === 'constant') ? { kind: 'constant', value } : { kind: 'array', items };
  } else if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value).map(([key, item]): [string, Plan] => [key, planOf(item, pointerJoin(pointer, key), pointers)]);
    plan = entries.every(([, item]) => item.kind === 'constant') ? { kind: 'constant', value } : { kind: 'object', entries };
  } else {
    plan = { kind: 'constant', value };
  }
  if (plan.kind !== 'constant') pointers.set(plan, pointer);
  return plan;
}

/** Plans of template strings, by the string. */
const stringPlanCache = new Map<string, { plan: Plan; pointers: Map<Plan, string> }>();
/**
 * Plans of template arrays and objects by identity (a run evaluates the same definition objects
 * again and again), else by their JSON. Template values are never changed once evaluated: they
 * are parts of a run's snapshot, or built afresh for each evaluation.
 */
const planByObject = new WeakMap<object, { plan: Plan; pointers: Map<Plan, string> }>();
const NO_POINTERS = new Map<Plan, string>();

/**
 * Compiles a template value once per worker: a plan that copies nothing and evaluates only the
 * strings that hold `{% … %}`, with each distinct expression compiled once. Constant parts are
 * frozen copies, shared by every evaluation.
 */
function compileTemplate(value: unknown): { plan: Plan; pointers: Map<Plan, string> } {
  if (typeof value === 'string') {
    if (!value.includes('{%')) return { plan: { kind: 'constant', value }, pointers: NO_POINTERS };
    const known = stringPlanCache.get(value);
    if (known) return known;
    const pointers = new Map<Plan, string>();
    return remember(stringPlanCache, value, { plan: planOf(value, '', pointers), pointers }, PLAN_CACHE_LIMIT);
  } else if (value !== null && typeof value === 'object') {
    const known = planByObject.get(value);
    if (known) return known;
  } else {
    return { plan: { kind: 'constant', value }, pointers: NO_POINTERS };
  }
  const key = JSON.stringify(value);
  let compiled = planCache.get(key);
  if (!compiled) {
    const pointers = new Map<Plan, string>();
    const plan = planOf(deepFreeze(JSON.parse(key) as unknown), '', pointers);
    compiled = remember(planCache, key, { plan, pointers }, PLAN_CACHE_LIMIT);
  }
  planByObject.set(value, compiled);
  return compiled;
}

/** Options of {@link evaluateTemplateSync}. */
export interface SyncTemplateOptions {
  /** @default WORKFLOW_EXPRESSION_LIMITS */
  limits?: ExpressionLimits;
  /** JSON pointer of `value` within its document, prefixed to {@link ExpressionError.pointer}. @default "" */
  pointer?: string;
  /** Steps and bytes shared with other evaluations (the workflow task's); this one spends at most what is left. @default none */
  shared?: SharedBudget;
}

/**
 * Resolves every `{% … %}` expression in a JSON value, synchronously: the same results as
 * `evaluateTemplate` (whole-string expressions keep their JSON type, others are spliced in),
 * evaluated by the synchronous jsonata 2.x engine with RE2 regexes. All the expressions of one
 * call share one budget (`limits`), itself within `shared` when given; no promise is created.
 *
 * @returns plain JSON; constant parts of the template are returned frozen.
 * @throws {ExpressionError} when an expression does not parse, fails, returns a function or a
 * value nested too deep, or exceeds a limit (`limit` names which); `pointer` names its string.
 */
export function evaluateTemplateSync(value: unknown, bindings: Record<string, unknown>, options: SyncTemplateOptions = {}): unknown {
  const { plan, pointers } = compileTemplate(value);
  if (plan.kind === 'constant') return plan.value;
  const budget = new EvaluationBudget(options.limits ?? WORKFLOW_EXPRESSION_LIMITS, options.shared);
  const base = options.pointer ?? '';
  const run = (compiled: CompiledSource, pointer: string): unknown => {
    if (compiled.error) throw withPointer(compiled.error, pointer);
    try {
      const result = withBudget(budget, () => settle(compiled.expression!.evaluate({}, bindings), budget));
      return toJson(result, budget);
    } catch (error) {
      throw toExpressionError(error, compiled.source, pointer);
    }
  };
  const resolve = (node: Plan): unknown => {
    switch (node.kind) {
      case 'constant':
        return node.value;
      case 'whole':
        return run(node.expression, base + (pointers.get(node) ?? '')) ?? null;
      case 'splice': {
        let spliced = '';
        for (const part of node.parts) {
          if (typeof part === 'string') {
            spliced += part;
            continue;
          }
          const result = run(part, base + (pointers.get(node) ?? ''));
          spliced += result === undefined ? '' : typeof result === 'string' ? result : JSON.stringify(result);
        }
        try {
          budget.string(spliced.length);
        } catch (error) {
          throw toExpressionError(error, node.text, base + (pointers.get(node) ?? ''));
        }
        return spliced;
      }
      case 'array':
        return node.items.map(resolve);
      case 'object': {
        const result: Record<string, unknown> = {};
        for (const [key, item] of node.entries) setOwn(result, key, resolve(item));
        return result;
      }
    }
  };
  try {
    return resolve(plan);
  } finally {
    budget.settleShared();
  }
}

function withPointer(error: ExpressionError, pointer: string): ExpressionError {
  return new ExpressionError(error.message, pointer, error.source, error.limit);
}

function toExpressionError(error: unknown, source: string, pointer: string | undefined): ExpressionError {
  if (error instanceof ExpressionError) return pointer === undefined ? error : withPointer(error, pointer);
  if (error instanceof BudgetExceeded) {
    return new ExpressionError(`${quoteSource(source)}: ${error.message}`, pointer, source, error.limit);
  }
  if (error instanceof RangeError) {
    // A stack overflow inside a built-in (a value nested too deep for JSON.stringify, say).
    return new ExpressionError(`${quoteSource(source)}: ${error.message}`, pointer, source, 'depth');
  }
  return new ExpressionError(`${quoteSource(source)}: ${jsonataMessage(error)}`, pointer, source);
}

/**
 * Copies a jsonata result into plain JSON: sequences become arrays, null-prototype objects plain
 * objects, `undefined` members are dropped as JSON.stringify would. Refuses a result nested more
 * than {@link MAX_RESULT_DEPTH} deep before it recurses further. Charges the copy, so a value that
 * repeats one big part many times cannot reach JSON.stringify later.
 */
function toJson(value: unknown, budget: EvaluationBudget): unknown {
  if (value === undefined || value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') {
    if (isFiniteNumber(value)) return value;
    budget.refuse(`result ${value} is not a JSON number`);
  }
  // One pass that charges as it copies (16 bytes a node, 2 a character, a step per 32 members):
  // a result that repeats one big part many times runs out of budget before it is copied whole.
  const convert = (item: unknown, depth: number): unknown => {
    if (item === undefined || item === null || typeof item === 'boolean') return item;
    if (typeof item === 'string') {
      budget.allocate(16 + item.length * 2);
      return item;
    }
    if (typeof item === 'number') {
      if (isFiniteNumber(item)) return item;
      budget.refuse(`result ${item} is not a JSON number`);
    }
    if (depth > MAX_RESULT_DEPTH) budget.refuse(`the result is nested ${depth} deep or more, deeper than ${MAX_RESULT_DEPTH}`);
    if (isArray(item)) {
      budget.allocate(16 + item.length * 16);
      budget.step(ceil(item.length / WORK_UNIT_ITEMS));
      const result: unknown[] = [];
      for (let index = 0; index < item.length; index++) result.push(convert(item[index], depth + 1) ?? null);
      return result;
    }
    if (typeof item === 'object' && !isFunctionValue(item)) {
      const prototype = getPrototypeOf(item) as unknown;
      if (prototype === null || prototype === OBJECT_PROTOTYPE) {
        const keys = objectKeys(item);
        budget.allocate(16 + keys.length * 16);
        budget.step(ceil(keys.length / WORK_UNIT_ITEMS));
        const result: Record<string, unknown> = {};
        for (const key of keys) {
          const json = convert((item as Record<string, unknown>)[key], depth + 1);
          if (json !== undefined) setOwn(result, key, json);
        }
        return result;
      }
    }
    throw new ResultNotJson(`result is ${isFunctionValue(item) ? 'a function' : `a ${typeof item}`}, not JSON`);
  };
  return convert(value, 1);
}

class ResultNotJson extends Error {}
