import { currentBudget, WORK_UNIT_CHARS, WORK_UNIT_ITEMS, type EvaluationBudget } from './expression-budget';
import { isGenerator } from './expression-driver';
import type createJsonata from './generated/jsonata-sync';
import { abs, ceil, floor, isArray, isFiniteNumber, max, min, objectKeys, objectValues, trunc } from './intrinsics';

type Builtin = createJsonata.Builtin;

/** Longest picture string of `$formatNumber`, `$formatInteger`, `$fromMillis`, `$toMillis`, `$parseInteger`. */
export const MAX_PICTURE_LENGTH = 1_024;
/** Largest width a date/time picture may ask for (`[Y,1000]`). */
export const MAX_PICTURE_WIDTH = 1_024;
/** Largest magnitude `$formatInteger` writes in roman numerals (one `M` per thousand). */
export const MAX_ROMAN_VALUE = 1_000_000;

/**
 * What a guard does before a built-in runs: charge the work and bytes it is about to spend, and
 * refuse arguments that would make it loop or allocate without bound. Results are charged after
 * (strings here, arrays and objects by the evaluation's exit hook).
 */
type Guard = (budget: EvaluationBudget, args: unknown[]) => void;

const text = (value: unknown): number => (typeof value === 'string' ? value.length : 0);
const items = (value: unknown): number => (isArray(value) ? value.length : 0);
const scan = (budget: EvaluationBudget, chars: number): void => budget.step(ceil(chars / WORK_UNIT_CHARS));
const iterate = (budget: EvaluationBudget, count: number): void => budget.step(ceil(count / WORK_UNIT_ITEMS));

function picture(budget: EvaluationBudget, value: unknown, what: string): void {
  if (typeof value === 'string' && value.length > MAX_PICTURE_LENGTH) {
    budget.refuse(`${what} picture of ${value.length} characters exceeds ${MAX_PICTURE_LENGTH}`);
  }
}

function dateTimePicture(budget: EvaluationBudget, value: unknown, what: string): void {
  picture(budget, value, what);
  if (typeof value !== 'string') return;
  // Width modifiers (`[Y,min-max]`) pad to that many characters.
  for (const marker of value.match(/\[[^\]]*\]/g) ?? []) {
    const comma = marker.indexOf(',');
    if (comma < 0) continue;
    for (const width of marker.slice(comma).match(/\d+/g) ?? []) {
      if (Number(width) > MAX_PICTURE_WIDTH) budget.refuse(`${what} picture width ${width} exceeds ${MAX_PICTURE_WIDTH}`);
    }
  }
}

/** Characters of every string in an array (what `$join` copies). */
function totalText(values: unknown): number {
  if (!isArray(values)) return 0;
  let total = 0;
  for (const value of values) total += text(value);
  return total;
}

/** Properties of the objects of an array, or of one object (what `$spread`, `$merge`, `$keys` go through). */
function totalProperties(value: unknown): number {
  const count = (item: unknown): number => (item !== null && typeof item === 'object' ? objectKeys(item).length : 0);
  if (!isArray(value)) return count(value);
  let total = 0;
  for (const item of value) total += count(item);
  return total;
}

const GUARDS: Record<string, Guard> = {
  sum: (budget, [values]) => iterate(budget, items(values)),
  max: (budget, [values]) => iterate(budget, items(values)),
  min: (budget, [values]) => iterate(budget, items(values)),
  average: (budget, [values]) => iterate(budget, items(values)),
  string: (budget, [value, prettify]) => {
    if (value === null || typeof value !== 'object') return;
    // JSON.stringify would build the whole text at once: estimate it first, from sizes that are
    // computed once per object (a value may repeat one big string many times).
    const size = budget.deepSize(value);
    const estimate = size.chars + size.nodes * (prettify === true ? 8 : 4);
    budget.string(estimate);
    if (size.depth > budget.limits.maxDepth) budget.refuse(`$string of a value nested ${size.depth} deep exceeds ${budget.limits.maxDepth}`);
  },
  substring: (budget, [value]) => {
    // Works on an array of the string's characters.
    scan(budget, text(value));
    budget.allocate(text(value) * 8);
  },
  length: (budget, [value]) => {
    scan(budget, text(value));
    budget.allocate(text(value) * 8);
  },
  substringBefore: (budget, [value]) => scan(budget, text(value)),
  substringAfter: (budget, [value]) => scan(budget, text(value)),
  lowercase: (budget, [value]) => scan(budget, text(value)),
  uppercase: (budget, [value]) => scan(budget, text(value)),
  trim: (budget, [value]) => scan(budget, text(value)),
  pad: (budget, [value, width, padding]) => {
    if (typeof value !== 'string' || typeof width !== 'number') return;
    const target = abs(trunc(width));
    const padChars = typeof padding === 'string' && padding.length > 0 ? padding.length : 1;
    // jsonata repeats the whole pad string to the width, then cuts it.
    if (target > value.length) budget.string((target - value.length) * padChars);
    scan(budget, value.length + target);
    budget.allocate((value.length + target) * 8);
  },
  contains: (budget, [value]) => scan(budget, text(value)),
  match: (budget, [value]) => scan(budget, text(value)),
  replace: (budget, [value]) => scan(budget, text(value)),
  split: (budget, [value]) => scan(budget, text(value)),
  join: (budget, [values, separator]) => {
    const count = items(values);
    iterate(budget, count);
    budget.string(totalText(values) + text(separator) * max(0, count - 1));
  },
  formatNumber: (budget, [value, picturePattern, options]) => {
    picture(budget, picturePattern, '$formatNumber');
    if (typeof value === 'number' && !isFiniteNumber(value)) budget.refuse(`$formatNumber cannot format ${value}`);
    if (options !== null && typeof options === 'object') {
      for (const setting of objectValues(options)) {
        if (typeof setting === 'string' && setting.length > MAX_PICTURE_LENGTH) budget.refuse('$formatNumber option too long');
      }
    }
  },
  number: (budget, [value]) => scan(budget, text(value)),
  boolean: (budget, [value]) => {
    if (isArray(value)) iterate(budget, budget.deepSize(value).nodes);
  },
  not: (budget, [value]) => {
    if (isArray(value)) iterate(budget, budget.deepSize(value).nodes);
  },
  map: (budget, [values]) => iterate(budget, items(values)),
  filter: (budget, [values]) => iterate(budget, items(values)),
  single: (budget, [values]) => iterate(budget, items(values)),
  foldLeft: (budget, [values]) => iterate(budget, items(values)),
  sift: (budget, [value]) => iterate(budget, totalProperties(value)),
  each: (budget, [value]) => iterate(budget, totalProperties(value)),
  zip: (budget, args) => {
    const shortest = min(...args.map(items));
    budget.array(shortest);
    budget.allocate(shortest * args.length * 8);
    iterate(budget, shortest * args.length);
  },
  keys: (budget, [value]) => iterate(budget, totalProperties(value) + items(value)),
  lookup: (budget, [value]) => {
    if (isArray(value)) iterate(budget, budget.deepSize(value).nodes);
  },
  append: (budget, [first, second]) => {
    const size = (isArray(first) ? first.length : 1) + (isArray(second) ? second.length : 1);
    budget.array(size);
  },
  spread: (budget, [value]) => {
    // Each item's spread is appended to a copy of the result so far: quadratic in the output.
    const output = totalProperties(value) + items(value);
    budget.array(output);
    iterate(budget, isArray(value) ? (output * output) / 2 : output);
  },
  merge: (budget, [values]) => iterate(budget, totalProperties(values)),
  reverse: (budget, [values]) => budget.array(items(values)),
  shuffle: (budget, [values]) => budget.array(items(values)),
  distinct: (budget, [values]) => {
    // Each item is compared with every distinct one found before it.
    const count = items(values);
    iterate(budget, (count * count) / 2);
  },
  base64encode: (budget, [value]) => scan(budget, text(value) * 2),
  base64decode: (budget, [value]) => scan(budget, text(value) * 2),
  encodeUrlComponent: (budget, [value]) => scan(budget, text(value) * 3),
  encodeUrl: (budget, [value]) => scan(budget, text(value) * 3),
  decodeUrlComponent: (budget, [value]) => scan(budget, text(value)),
  decodeUrl: (budget, [value]) => scan(budget, text(value)),
  formatInteger: (budget, [value, picturePattern]) => {
    picture(budget, picturePattern, '$formatInteger');
    if (typeof picturePattern === 'string' && /^[IiMm]/.test(picturePattern) && typeof value === 'number' && !(abs(value) <= MAX_ROMAN_VALUE)) {
      budget.refuse(`$formatInteger writes roman numerals up to ${MAX_ROMAN_VALUE}, not ${value}`);
    }
  },
  parseInteger: (budget, [value, picturePattern]) => {
    picture(budget, picturePattern, '$parseInteger');
    scan(budget, text(value));
  },
  fromMillis: (budget, [, picturePattern]) => dateTimePicture(budget, picturePattern, '$fromMillis'),
  toMillis: (budget, [value, picturePattern]) => {
    dateTimePicture(budget, picturePattern, '$toMillis');
    scan(budget, text(value));
  },
};

function budgetOrFail(): EvaluationBudget {
  const budget = currentBudget();
  if (!budget) throw new Error('a guarded jsonata built-in ran outside an evaluation');
  return budget;
}

/** Charges a string a built-in returned, unless it is its first argument handed back (`$string("x")`). */
function chargeString(budget: EvaluationBudget, result: unknown, args: unknown[]): void {
  if (typeof result === 'string' && result !== args[0]) budget.string(result.length);
}

/** Charges the string a generator's result is, once the generator is done. */
function* chargedWhenDone(budget: EvaluationBudget, generator: Generator, args: unknown[]): Generator<unknown, unknown, unknown> {
  const result: unknown = yield generator;
  chargeString(budget, result, args);
  return result;
}

/**
 * Wraps a built-in with its guard, keeping what jsonata reads off the function: its arity
 * (`length`) and its source text (`toString`, from which partial application reads parameter
 * names). A built-in of the synchronous build returns its result, or a generator past the plain
 * call depth; the wrapper returns the same kind.
 */
function guarded(name: string, builtin: Builtin, guard: Guard | undefined): Builtin {
  const wrapper: Builtin = function (this: unknown, ...args: unknown[]) {
    const budget = budgetOrFail();
    guard?.(budget, args);
    const result = builtin.apply(this, args);
    if (isGenerator(result)) return chargedWhenDone(budget, result, args);
    chargeString(budget, result, args);
    return result;
  };
  Object.defineProperty(wrapper, 'length', { value: builtin.length });
  Object.defineProperty(wrapper, 'name', { value: name });
  Object.defineProperty(wrapper, 'toString', { value: () => Function.prototype.toString.call(builtin) });
  return wrapper;
}

/**
 * The `builtins` hook of the synchronous jsonata build: returns jsonata's `functions` and
 * `dateTime` modules with every built-in guarded (see {@link GUARDS}) and `sort` replaced by
 * {@link sortGuarded}. The evaluator and expressions alike reach only these, so no expression can
 * call an unguarded built-in, whatever it binds or shadows.
 */
export function guardBuiltins(_module: 'functions' | 'dateTime', exports: Record<string, Builtin>): Record<string, Builtin> {
  const result: Record<string, Builtin> = {};
  for (const [name, builtin] of Object.entries(exports)) {
    result[name] = name === 'sort' ? guarded(name, sortGuarded as Builtin, undefined) : guarded(name, builtin, GUARDS[name]);
  }
  return result;
}

type Comparator = (left: unknown, right: unknown) => unknown;

/**
 * `$sort` and the order-by operator `^(…)`: jsonata's merge sort with the same comparator calls in
 * the same order, so the same results, but merging with indexes instead of recursing once per
 * item on ever shorter copies (jsonata 2.2.2 holds n²/2 array slots while it merges n items).
 * Every comparison is a step.
 */
function* sortGuarded(this: unknown, array: unknown, comparator?: Comparator): Generator<unknown, unknown, unknown> {
  if (array === undefined) return undefined;
  const values = array as unknown[];
  if (values.length <= 1) return values;
  const budget = budgetOrFail();
  let compare: Comparator;
  if (comparator === undefined) {
    const numbers = values.every((value) => typeof value === 'number');
    const strings = values.every((value) => typeof value === 'string');
    if (!numbers && !strings) throw { stack: new Error().stack, code: 'D3070', index: 1 };
    compare = (left, right) => (left as number) > (right as number);
  } else {
    compare = comparator;
  }
  budget.array(values.length);
  function* mergeSort(part: unknown[]): Generator<unknown, unknown[], unknown> {
    if (part.length <= 1) return part;
    const middle = floor(part.length / 2);
    const left = yield* mergeSort(part.slice(0, middle));
    const right = yield* mergeSort(part.slice(middle));
    const merged: unknown[] = [];
    let l = 0;
    let r = 0;
    while (l < left.length && r < right.length) {
      budget.step();
      let swap = compare(left[l], right[r]);
      if (isGenerator(swap)) swap = yield swap;
      if (swap) merged.push(right[r++]);
      else merged.push(left[l++]);
    }
    while (l < left.length) merged.push(left[l++]);
    while (r < right.length) merged.push(right[r++]);
    return merged;
  }
  return yield* mergeSort(values);
}
