import { BudgetExceeded, EvaluationBudget, withBudget, type ExpressionLimits } from './expression-budget';
import { drive } from './expression-driver';
import { compileSync, type SyncExpression } from './expression-engine';
import { ExpressionError } from './expression-error';
import { checkExpression, jsonataMessage, quoteSource, splitTemplate, wholeExpression } from './expression';
import { WORKFLOW_EXPRESSION_LIMITS } from './expression-limits';
import { pointerJoin } from './json-pointer';

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
    for (const item of Object.values(value)) deepFreeze(item);
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
  } else if (Array.isArray(value)) {
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

/**
 * Compiles a template value once per worker: a plan that copies nothing and evaluates only the
 * strings that hold `{% … %}`, with each distinct expression compiled once. Constant parts are
 * frozen copies, shared by every evaluation.
 */
function compileTemplate(value: unknown): { plan: Plan; pointers: Map<Plan, string> } {
  if (typeof value === 'string' && !value.includes('{%')) return { plan: { kind: 'constant', value }, pointers: new Map() };
  const key = JSON.stringify(value) ?? 'undefined';
  const cached = planCache.get(key);
  if (cached) return cached;
  const pointers = new Map<Plan, string>();
  const plan = planOf(value === undefined ? undefined : deepFreeze(JSON.parse(key) as unknown), '', pointers);
  return remember(planCache, key, { plan, pointers }, PLAN_CACHE_LIMIT);
}

/** Options of {@link evaluateTemplateSync}. */
export interface SyncTemplateOptions {
  /** @default WORKFLOW_EXPRESSION_LIMITS */
  limits?: ExpressionLimits;
  /** JSON pointer of `value` within its document, prefixed to {@link ExpressionError.pointer}. @default "" */
  pointer?: string;
}

/**
 * Resolves every `{% … %}` expression in a JSON value, synchronously: the same results as
 * `evaluateTemplate` (whole-string expressions keep their JSON type, others are spliced in),
 * evaluated by the synchronous jsonata 2.x engine with RE2 regexes. All the expressions of one
 * call share one budget (`limits`); no promise is created.
 *
 * @returns plain JSON; constant parts of the template are returned frozen.
 * @throws {ExpressionError} when an expression does not parse, fails, returns a function or a
 * value nested too deep, or exceeds a limit (`limit` names which); `pointer` names its string.
 */
export function evaluateTemplateSync(value: unknown, bindings: Record<string, unknown>, options: SyncTemplateOptions = {}): unknown {
  const { plan, pointers } = compileTemplate(value);
  if (plan.kind === 'constant') return plan.value;
  const budget = new EvaluationBudget(options.limits ?? WORKFLOW_EXPRESSION_LIMITS);
  const base = options.pointer ?? '';
  const run = (compiled: CompiledSource, pointer: string): unknown => {
    if (compiled.error) throw withPointer(compiled.error, pointer);
    try {
      const result = withBudget(budget, () => drive(compiled.expression!.evaluate({}, bindings), budget));
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
  return resolve(plan);
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
 * Copies a jsonata result into plain JSON, without recursion (a result may be nested deep):
 * sequences become arrays, null-prototype objects plain objects, `undefined` members are dropped
 * as JSON.stringify would. Charges the copy, so a value that repeats one big part many times
 * cannot reach JSON.stringify later.
 */
function toJson(value: unknown, budget: EvaluationBudget): unknown {
  const size = budget.deepSize(value);
  if (size.depth > MAX_RESULT_DEPTH) budget.refuse(`the result is nested ${size.depth} deep, more than ${MAX_RESULT_DEPTH}`);
  budget.allocate(size.chars * 2 + size.nodes * 16);
  const convert = (item: unknown): unknown => {
    if (item === undefined || item === null || typeof item === 'string' || typeof item === 'boolean') return item;
    if (typeof item === 'number') {
      if (Number.isFinite(item)) return item;
      budget.refuse(`result ${item} is not a JSON number`);
    }
    if (Array.isArray(item)) return item.map((member) => convert(member) ?? null);
    if (typeof item === 'object' && !isFunctionValue(item)) {
      const prototype = Object.getPrototypeOf(item) as unknown;
      if (prototype === null || prototype === Object.prototype) {
        const result: Record<string, unknown> = {};
        for (const [key, member] of Object.entries(item)) {
          const json = convert(member);
          if (json !== undefined) setOwn(result, key, json);
        }
        return result;
      }
    }
    throw new TypeError(`result is ${isFunctionValue(item) ? 'a function' : `a ${typeof item}`}, not JSON`);
  };
  try {
    return convert(value);
  } catch (error) {
    if (error instanceof TypeError) throw new ResultNotJson(error.message);
    throw error;
  }
}

class ResultNotJson extends Error {}

function isFunctionValue(value: unknown): boolean {
  if (typeof value === 'function') return true;
  const marked = value as { _jsonata_function?: unknown; _jsonata_lambda?: unknown } | null;
  return typeof value === 'object' && (marked?._jsonata_function === true || marked?._jsonata_lambda === true);
}

// Plain assignment of "__proto__" would replace the prototype instead of creating a key.
function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') {
    Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  } else {
    target[key] = value;
  }
}
