/**
 * Appends reference tokens to an RFC 6901 JSON pointer, escaping `~` as `~0` and `/` as `~1`.
 *
 * @example
 * ```ts
 * pointerJoin('/steps', 'a/b', 0); // "/steps/a~1b/0"
 * ```
 */
export function pointerJoin(base: string, ...tokens: ReadonlyArray<string | number>): string {
  return tokens.reduce<string>((pointer, token) => `${pointer}/${escapeToken(String(token))}`, base);
}

/** Builds a JSON pointer from a path of keys and indexes, as zod reports them. */
export function pointerFromPath(path: ReadonlyArray<PropertyKey>): string {
  return pointerJoin('', ...path.map((key) => (typeof key === 'symbol' ? String(key.description) : key)));
}

/** Splits a JSON pointer into its unescaped reference tokens (`""` gives `[]`). */
export function pointerTokens(pointer: string): string[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((token) => token.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function escapeToken(token: string): string {
  return token.replace(/~/g, '~0').replace(/\//g, '~1');
}
