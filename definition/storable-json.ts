import { pointerJoin } from './json-pointer';

/**
 * Deepest nesting Trellis accepts in JSON a client sends (run input, definitions, signal
 * payloads, mocks): 64 objects or arrays inside one another. Far more than any workflow needs,
 * and far less than what overflows a recursive parser, validator or serialiser on the way (a few
 * thousand levels).
 */
export const MAX_JSON_DEPTH = 64;

/** Most problems {@link inspectJson} lists before it stops looking. */
export const MAX_LISTED_PROBLEMS = 20;

/** What stands in, in stored copies, for a character PostgreSQL cannot store. */
export const REPLACEMENT_CHARACTER = '\uFFFD';

/** One problem of a JSON value: where (an RFC 6901 JSON pointer) and what, for a human. */
export type JsonProblem = { path: string; message: string };

/** What {@link inspectJson} found. */
export type JsonInspection = {
  /** Every problem found, at most {@link MAX_LISTED_PROBLEMS} (then one saying there may be more). */
  problems: JsonProblem[];
  /**
   * The value nests deeper than the limit: the walk stopped there, and recursive code (a schema
   * validator, a serialiser) must not be given the value.
   */
  tooDeep: boolean;
};

// PostgreSQL stores neither U+0000 (jsonb refuses the `\u0000` escape, text columns the NUL
// byte) nor a UTF-16 surrogate outside a pair (JSON.stringify writes it as a `\udXXX` escape,
// which jsonb refuses; text columns would silently store U+FFFD instead).
const MAYBE_UNSTORABLE = /[\u0000\uD800-\uDFFF]/;
const UNSTORABLE_SOURCE = '\\u0000|[\\uD800-\\uDBFF](?![\\uDC00-\\uDFFF])|(?<![\\uD800-\\uDBFF])[\\uDC00-\\uDFFF]';
const UNSTORABLE = new RegExp(UNSTORABLE_SOURCE);
const UNSTORABLE_ALL = new RegExp(UNSTORABLE_SOURCE, 'g');
// In JSON.stringify's output a backslash always starts an escape; `\\` pairs are consumed whole
// so that a literal backslash followed by "u0000" is not mistaken for one. JSON.stringify escapes
// surrogates only when they are unpaired.
const UNSTORABLE_ESCAPE = /\\(\\|u0000|ud[89a-f][0-9a-f]{2})/g;

/**
 * Why PostgreSQL cannot store `text`, or undefined when it can: it contains U+0000 or a UTF-16
 * surrogate that is not part of a pair.
 * @example unstorableReason('a\u0000b') // "contains U+0000, which cannot be stored"
 */
export function unstorableReason(text: string): string | undefined {
  if (!MAYBE_UNSTORABLE.test(text)) return undefined;
  const found = UNSTORABLE.exec(text)?.[0];
  if (found === undefined) return undefined;
  if (found === '\u0000') return 'contains U+0000, which cannot be stored';
  const code = found.charCodeAt(0).toString(16).toUpperCase();
  return `contains U+${code}, half of a UTF-16 surrogate pair without its other half, which cannot be stored`;
}

/**
 * `text` as PostgreSQL can store it: every U+0000 and every unpaired surrogate becomes U+FFFD
 * ({@link REPLACEMENT_CHARACTER}). Returns `text` itself when nothing needs replacing.
 */
export function toStorableText(text: string): string {
  return MAYBE_UNSTORABLE.test(text) ? text.replace(UNSTORABLE_ALL, REPLACEMENT_CHARACTER) : text;
}

/**
 * A JSON value as PostgreSQL can store it: {@link toStorableText} applied to every string and
 * every object key, at any depth (two keys that become equal keep the later one's value).
 * Returns `value` itself when nothing needs replacing. Uses no recursion of its own, so it
 * handles whatever `JSON.stringify` can.
 * @throws what `JSON.stringify` throws for the value (too deep, a cycle), only when it has
 * something to replace
 */
export function toStorableJson<T>(value: T): T {
  if (!containsUnstorable(value)) return value;
  const text = JSON.stringify(value).replace(UNSTORABLE_ESCAPE, (escape, body: string) => (body === '\\' ? escape : '\\ufffd'));
  return JSON.parse(text) as T;
}

/**
 * Looks through a JSON value a client sent for what Trellis refuses, without recursion: nesting
 * deeper than `maxDepth` (reported once, at `pointer`, and the walk stops), and strings or keys
 * PostgreSQL cannot store (each at its own pointer, below `pointer`).
 * @param pointer where the value sits in the request (`/input`), or `""` for a whole document
 * @example
 * inspectJson({ a: ['x\u0000'] }, '/input').problems
 * // [{ path: '/input/a/0', message: 'contains U+0000, which cannot be stored' }]
 */
export function inspectJson(value: unknown, pointer: string, options: { maxDepth?: number } = {}): JsonInspection {
  const maxDepth = options.maxDepth ?? MAX_JSON_DEPTH;
  const problems: JsonProblem[] = [];
  const stack: Node[] = [{ value, parent: undefined, key: '', depth: 0, member: false }];
  const report = (node: Node, message: string): boolean => {
    problems.push({ path: pointerOf(node, pointer), message });
    if (problems.length < MAX_LISTED_PROBLEMS) return false;
    problems.push({ path: pointer, message: `may have more problems: only the first ${MAX_LISTED_PROBLEMS} are listed` });
    return true;
  };
  for (let node = stack.pop(); node !== undefined; node = stack.pop()) {
    if (node.member) {
      const reason = unstorableReason(node.key as string);
      if (reason !== undefined && report(node, `has a key that ${reason}`)) break;
    }
    const item = node.value;
    if (typeof item === 'string') {
      const reason = unstorableReason(item);
      if (reason !== undefined && report(node, reason)) break;
      continue;
    }
    if (item === null || typeof item !== 'object') continue;
    const depth = node.depth + 1;
    if (depth > maxDepth) {
      problems.push({ path: pointer, message: `nests deeper than ${maxDepth} levels` });
      return { problems, tooDeep: true };
    }
    // Children are pushed last first, so that they are looked at, and reported, in order.
    if (Array.isArray(item)) {
      for (let index = item.length - 1; index >= 0; index -= 1) {
        const child: unknown = item[index];
        // Numbers, booleans and nulls can hold no problem: they are not put on the stack at all.
        if (typeof child === 'string' || (child !== null && typeof child === 'object')) stack.push({ value: child, parent: node, key: index, depth, member: false });
      }
    } else {
      const keys = Object.keys(item);
      for (let index = keys.length - 1; index >= 0; index -= 1) {
        const key = keys[index]!;
        stack.push({ value: (item as Record<string, unknown>)[key], parent: node, key, depth, member: true });
      }
    }
  }
  return { problems, tooDeep: false };
}

/** A value met on the walk; `member` when it is an object's member, whose key is checked too. */
type Node = { value: unknown; parent: Node | undefined; key: string | number; depth: number; member: boolean };

// Pointers are built only for the nodes reported, from the chain of parents.
function pointerOf(node: Node, base: string): string {
  const tokens: Array<string | number> = [];
  for (let at: Node | undefined = node; at?.parent !== undefined; at = at.parent) tokens.push(at.key);
  return pointerJoin(base, ...tokens.reverse());
}

function containsUnstorable(value: unknown): boolean {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const item = stack.pop();
    if (typeof item === 'string') {
      if (unstorableReason(item) !== undefined) return true;
    } else if (Array.isArray(item)) {
      for (const child of item) if (typeof child === 'string' || (child !== null && typeof child === 'object')) stack.push(child);
    } else if (item !== null && typeof item === 'object') {
      for (const [key, child] of Object.entries(item)) {
        if (unstorableReason(key) !== undefined) return true;
        if (typeof child === 'string' || (child !== null && typeof child === 'object')) stack.push(child);
      }
    }
  }
  return false;
}
