import { RE2JS, type Matcher } from 're2js';
import { currentBudget } from './expression-budget';
import { ceil, max } from './intrinsics';

/**
 * Characters times program instructions that one work unit of an evaluation's budget pays for a
 * regex search. RE2 runs in time linear in the input, but the factor is the size of the compiled
 * program: measured up to about 64 ns per character and instruction with re2js on this project's
 * machine, against about 1–2 µs per ordinary evaluation step.
 */
export const REGEX_WORK_PER_STEP = 32;

/** The JavaScript RegExp flags an expression's regex may carry (jsonata adds `g` to every regex). */
const SUPPORTED_FLAGS = new Set(['i', 'm', 'g']);
const COMPILED_CACHE_LIMIT = 500;
const compiledCache = new Map<string, RE2JS>();

/**
 * Compiles a JavaScript regex (source and flags) with RE2: linear-time matching, no
 * backreferences or lookaround. Compiled programs are immutable and cached per worker.
 *
 * @throws {Error} with RE2's reason when RE2 cannot compile the pattern (for instance `(?=x)` or
 * `\1`), or when a flag other than `i` or `m` is set.
 */
export function compileRe2(source: string, flags: string): RE2JS {
  const key = `${flags}/${source}`;
  const cached = compiledCache.get(key);
  if (cached) return cached;
  let re2Flags = 0;
  for (const flag of flags) {
    if (!SUPPORTED_FLAGS.has(flag)) throw new Error(`regular expression flag "${flag}" is not supported (only i and m)`);
    if (flag === 'i') re2Flags |= RE2JS.CASE_INSENSITIVE;
    if (flag === 'm') re2Flags |= RE2JS.MULTILINE;
  }
  const compiled = RE2JS.compile(RE2JS.translateRegExp(source), re2Flags);
  if (compiledCache.size >= COMPILED_CACHE_LIMIT) {
    const oldest = compiledCache.keys().next();
    if (!oldest.done) compiledCache.delete(oldest.value);
  }
  compiledCache.set(key, compiled);
  return compiled;
}

/** A match as `RegExp.prototype.exec` returns it: the match, then each group (undefined when unmatched). */
export type Re2ExecResult = Array<string | undefined> & { index: number; input: string };

/**
 * The part of the `RegExp` interface that jsonata uses (its `RegexEngine` option): constructed
 * from a regex literal, then `lastIndex` and `exec` with the semantics of a global (`g`) RegExp:
 * each `exec` searches from `lastIndex`, moves it to the end of the match, and resets it to 0 when
 * nothing more matches. Matching runs on RE2 (re2js, pure JavaScript), so it takes time linear in
 * the input whatever the pattern, and works inside Temporal's workflow sandbox.
 *
 * Every search is charged to the running evaluation's budget by the characters it goes through
 * times the size of the compiled program ({@link REGEX_WORK_PER_STEP}).
 *
 * Semantics are RE2's where they differ from JavaScript's: `\s` is ASCII whitespace, `.` excludes
 * only `\n`, and patterns RE2 refuses (backreferences, lookaround) throw when constructed.
 */
export class Re2RegExp {
  lastIndex = 0;
  readonly source: string;
  readonly flags: string;
  private readonly compiled: RE2JS;
  private readonly programSize: number;
  private matcher: Matcher | undefined;
  private matcherInput: string | undefined;

  constructor(pattern: RegExp | string, flags?: string) {
    this.source = typeof pattern === 'string' ? pattern : pattern.source;
    this.flags = flags ?? (typeof pattern === 'string' ? '' : pattern.flags);
    this.compiled = compileRe2(this.source, this.flags);
    this.programSize = max(1, this.compiled.programSize());
  }

  get global(): boolean {
    return this.flags.includes('g');
  }

  exec(input: string): Re2ExecResult | null {
    const text = String(input);
    const from = this.global ? this.lastIndex : 0;
    if (from > text.length) {
      this.lastIndex = 0;
      return null;
    }
    if (this.matcher === undefined || this.matcherInput !== text) {
      this.matcher = this.compiled.matcher(text);
      this.matcherInput = text;
    }
    const matcher = this.matcher;
    // Inside an evaluation, a search is paid for: first refused if its worst case (every
    // remaining character) would not fit in what is left of the budget, then charged for the
    // characters it went through.
    const budget = currentBudget();
    if (budget) budget.affordSearch(((text.length - from + 1) * this.programSize) / REGEX_WORK_PER_STEP);
    const found = matcher.find(from);
    if (budget) budget.step(ceil(((found ? matcher.end() - from : text.length - from) + 1) * this.programSize / REGEX_WORK_PER_STEP));
    if (!found) {
      this.lastIndex = 0;
      return null;
    }
    const result = [] as unknown as Re2ExecResult;
    const groups = matcher.groupCount();
    for (let group = 0; group <= groups; group++) result.push(matcher.group(group) ?? undefined);
    result.index = matcher.start();
    result.input = text;
    if (this.global) this.lastIndex = matcher.end();
    return result;
  }

  test(input: string): boolean {
    return this.exec(input) !== null;
  }

  toString(): string {
    return `/${this.source}/${this.flags}`;
  }
}
