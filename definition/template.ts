import jsonata from 'jsonata';
import { ExpressionError } from './expression-error';
import { jsonataMessage, parseLegacyExpression, quoteSource, splitTemplate, wholeExpression } from './expression';
import { pointerJoin } from './json-pointer';
import { setOwn } from './prototype-keys';

export { ExpressionError } from './expression-error';

/** Evaluation steps one {@link evaluateTemplate} call may spend across all its expressions. */
export const DEFAULT_MAX_EXPRESSION_STEPS = 100_000;

/** Options of {@link evaluateTemplate}. */
export interface TemplateOptions {
  /**
   * Budget of JSONata evaluation steps for the whole value. Counted, not timed: the clock does
   * not advance inside a Temporal workflow, and a count gives the same verdict on every replay.
   * @default 100_000
   */
  maxSteps?: number;
  /**
   * JSON pointer of `value` within its document, prefixed to {@link ExpressionError.pointer}.
   * @default ""
   */
  pointer?: string;
}

// JSONata binds every string key of the bindings object as a variable. A name with a space can
// never be written as `$name` in an expression, so the budget stays out of the user's reach.
const BUDGET_BINDING = 'trellis step budget';
const EVALUATE_ENTRY = Symbol.for('jsonata.__evaluate_entry');
const EVALUATE_EXIT = Symbol.for('jsonata.__evaluate_exit');

/**
 * Longest string an expression may build, in UTF-16 code units (1 MiB of characters, the step
 * output limit). A few cheap steps can otherwise build huge strings (`$pad('', 1e8)`, or doubling
 * `$s & $s` thirty times) and exhaust a worker's memory; each evaluation's result is checked, and
 * `$pad` checks its width before it allocates.
 */
export const MAX_STRING_LENGTH = 1024 * 1024;
const CACHE_LIMIT = 500;

interface Budget {
  used: number;
  readonly max: number;
}

class BudgetExceeded extends Error {}

class StringTooLong extends Error {}

function checkResult(_node: unknown, _input: unknown, _environment: unknown, result: unknown): void {
  if (typeof result === 'string' && result.length > MAX_STRING_LENGTH) throw new StringTooLong(`a string of ${result.length} characters`);
}

// JSONata's own $pad, reached through an expression that does not see the guard below.
const builtInPad = jsonata('$pad($s, $w, $c)');

/** `$pad` bound over the built-in, refusing widths that would build too long a string. */
async function guardedPad(str: unknown, width: unknown, char: unknown): Promise<unknown> {
  if (typeof width === 'number' && Math.abs(width) > MAX_STRING_LENGTH) {
    throw new StringTooLong(`$pad to width ${width}`);
  }
  return builtInPad.evaluate({}, { s: str, w: width, c: char });
}

interface JsonataEnvironment {
  base: { lookup(name: string): unknown };
}

const compiledCache = new Map<string, jsonata.Expression>();

function countStep(_node: unknown, _input: unknown, environment: JsonataEnvironment): void {
  const budget = environment.base.lookup(BUDGET_BINDING) as Budget | undefined;
  if (budget && ++budget.used > budget.max) throw new BudgetExceeded();
}

function compile(source: string, pointer: string): jsonata.Expression {
  const cached = compiledCache.get(source);
  if (cached) {
    compiledCache.delete(source);
    compiledCache.set(source, cached);
    return cached;
  }
  const expression = parseLegacyExpression(source, pointer);
  // The hook is the same for every call; per-call state lives in the bindings (see countStep),
  // which is what makes a compiled expression safe to share between concurrent evaluations.
  expression.assign(EVALUATE_ENTRY as unknown as string, countStep);
  expression.assign(EVALUATE_EXIT as unknown as string, checkResult);
  compiledCache.set(source, expression);
  if (compiledCache.size > CACHE_LIMIT) {
    const oldest = compiledCache.keys().next();
    if (!oldest.done) compiledCache.delete(oldest.value);
  }
  return expression;
}

/**
 * Resolves every `{% … %}` expression in a JSON value, deeply.
 *
 * - A string that is exactly one expression (whitespace around it ignored) takes the
 *   expression's JSON value: `"{% $input.total %}"` gives the number `42`. No result gives `null`.
 * - Any other string has each result spliced in: strings as they are, other values as JSON, no
 *   result as `""`.
 * - Object keys are not templated; non-string values are copied as they are.
 *
 * Bindings become JSONata variables (`{ input, steps, run }` gives `$input`, `$steps`, `$run`);
 * the context value `$` is an empty object. Expressions are evaluated one after another in
 * document order and share one step budget, so the outcome is deterministic.
 *
 * @returns plain JSON (no JSONata sequences, prototypes or functions).
 * @throws {ExpressionError} when an expression does not parse, fails, returns a function or
 * exceeds the step budget; `pointer` names the string that holds it.
 * @example
 * ```ts
 * await evaluateTemplate({ total: '{% $input.price * 2 %}', note: 'order {% $input.id %}' },
 *   { input: { price: 21, id: 'A7' } });
 * // { total: 42, note: 'order A7' }
 * ```
 */
export async function evaluateTemplate(
  value: unknown,
  bindings: Record<string, unknown>,
  options: TemplateOptions = {},
): Promise<unknown> {
  const budget: Budget = { used: 0, max: options.maxSteps ?? DEFAULT_MAX_EXPRESSION_STEPS };
  return resolve(value, options.pointer ?? '', { pad: guardedPad, ...bindings, [BUDGET_BINDING]: budget });
}

async function resolve(value: unknown, pointer: string, bindings: Record<string, unknown>): Promise<unknown> {
  if (typeof value === 'string') return resolveString(value, pointer, bindings);
  if (Array.isArray(value)) {
    const items: unknown[] = [];
    for (const [index, item] of value.entries()) items.push(await resolve(item, pointerJoin(pointer, index), bindings));
    return items;
  }
  if (value !== null && typeof value === 'object') {
    const result: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      setOwn(result, key, await resolve(item, pointerJoin(pointer, key), bindings));
    }
    return result;
  }
  return value;
}

async function resolveString(text: string, pointer: string, bindings: Record<string, unknown>): Promise<unknown> {
  const whole = wholeExpression(text);
  if (whole !== undefined) return (await evaluate(whole, pointer, bindings)) ?? null;
  let parts;
  try {
    parts = splitTemplate(text);
  } catch (error) {
    throw new ExpressionError(`${JSON.stringify(text)}: ${jsonataMessage(error)}`, pointer);
  }
  let spliced = '';
  for (const part of parts) {
    if (part.kind === 'text') {
      spliced += part.text;
      continue;
    }
    const result = await evaluate(part.source, pointer, bindings);
    spliced += result === undefined ? '' : typeof result === 'string' ? result : JSON.stringify(result);
  }
  return spliced;
}

async function evaluate(source: string, pointer: string, bindings: Record<string, unknown>): Promise<unknown> {
  const expression = compile(source, pointer);
  let result: unknown;
  try {
    result = await expression.evaluate({}, { ...bindings });
  } catch (error) {
    if (error instanceof StringTooLong) {
      throw new ExpressionError(
        `${quoteSource(source)}: ${error.message} exceeds the longest string an expression may build (${MAX_STRING_LENGTH} characters)`,
        pointer,
        source,
      );
    }
    if (error instanceof BudgetExceeded) {
      const { max } = bindings[BUDGET_BINDING] as Budget;
      throw new ExpressionError(
        `${quoteSource(source)}: expression exceeded ${max} evaluation steps (an endless loop or too much work)`,
        pointer,
        source,
      );
    }
    throw new ExpressionError(`${quoteSource(source)}: ${jsonataMessage(error)}`, pointer, source);
  }
  return toJson(result, source, pointer);
}

/**
 * Copies a JSONata result into plain JSON: sequences become arrays, null-prototype objects plain
 * objects, `undefined` members are dropped as JSON.stringify would.
 */
function toJson(value: unknown, source: string, pointer: string): unknown {
  if (value === undefined || value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') {
    if (Number.isFinite(value)) return value;
    throw new ExpressionError(`${quoteSource(source)}: result ${value} is not a JSON number`, pointer, source);
  }
  if (Array.isArray(value)) {
    return value.map((item) => toJson(item, source, pointer) ?? null);
  }
  if (typeof value === 'object' && !isFunctionValue(value)) {
    const prototype = Object.getPrototypeOf(value) as unknown;
    if (prototype === null || prototype === Object.prototype) {
      const result: Record<string, unknown> = {};
      for (const [key, item] of Object.entries(value)) {
        const json = toJson(item, source, pointer);
        if (json !== undefined) setOwn(result, key, json);
      }
      return result;
    }
  }
  const kind = isFunctionValue(value) ? 'a function' : `a ${typeof value}`;
  throw new ExpressionError(`${quoteSource(source)}: result is ${kind}, not JSON`, pointer, source);
}

/** Whether `value` is a function or a JSONata lambda: something a JSON result cannot hold. */
export function isFunctionValue(value: unknown): boolean {
  if (typeof value === 'function') return true;
  const marked = value as { _jsonata_function?: unknown; _jsonata_lambda?: unknown } | null;
  return typeof value === 'object' && (marked?._jsonata_function === true || marked?._jsonata_lambda === true);
}

