import type { DefinitionError } from '../../definition/definition-validator';

/**
 * Expressions (`{% … %}`) one definition may hold. Checking a definition parses each of them with
 * JSONata, at about 0.1 ms apiece however short it is, all in one synchronous piece of work: a
 * 256 KiB document of 29,000 `"{%1%}"` strings held the event loop for about 3 s of CPU. 5,000 is
 * ten per step of a definition of the most steps (500).
 */
export const MAX_EXPRESSIONS = 5_000;

/**
 * Counts the `{%` in every string of a document (keys too), stopping past `max`: a cheap scan
 * (about a millisecond for 256 KiB) made before the expensive check.
 * @returns the error to report when the document holds more than `max` expressions
 */
export function expressionCountError(spec: unknown, max: number = MAX_EXPRESSIONS): DefinitionError | undefined {
  let count = 0;
  const pending: unknown[] = [spec];
  const countIn = (text: string): void => {
    for (let at = text.indexOf('{%'); at !== -1 && count <= max; at = text.indexOf('{%', at + 2)) count++;
  };
  while (pending.length > 0 && count <= max) {
    const value = pending.pop();
    if (typeof value === 'string') countIn(value);
    else if (Array.isArray(value)) pending.push(...value);
    else if (value !== null && typeof value === 'object') {
      for (const [key, inner] of Object.entries(value)) {
        countIn(key);
        pending.push(inner);
      }
    }
  }
  if (count <= max) return undefined;
  return { path: '', message: `the definition holds more than ${max} expressions ({% … %}); the limit is ${max}` };
}
