import { inspectJson, MAX_JSON_DEPTH, MAX_LISTED_PROBLEMS, toStorableJson, toStorableText, unstorableReason } from '../../definition/storable-json';
import { PROTOTYPE_KEYS, isPrototypeKey, setOwn } from '../../definition/prototype-keys';

/** `[[[…]]]`, `levels` arrays deep. */
function nested(levels: number): unknown {
  let value: unknown = 'leaf';
  for (let level = 0; level < levels; level += 1) value = [value];
  return value;
}

describe('unstorableReason', () => {
  it('names U+0000 and unpaired surrogates, and nothing else', () => {
    expect(unstorableReason('a\u0000')).toBe('contains U+0000, which cannot be stored');
    expect(unstorableReason('\ud83d')).toBe('contains U+D83D, half of a UTF-16 surrogate pair without its other half, which cannot be stored');
    expect(unstorableReason('x\ude00')).toBe('contains U+DE00, half of a UTF-16 surrogate pair without its other half, which cannot be stored');
    expect(unstorableReason('\ude00\ud83d')).toMatch(/^contains U\+DE00/); // the wrong way round
    for (const fine of ['', 'plain', '😀 emoji', '\\u0000 written out', '\u0001\u001f\ufffd\uffff']) expect(unstorableReason(fine)).toBeUndefined();
  });
});

describe('toStorableText and toStorableJson', () => {
  it('replace U+0000 and unpaired surrogates with U+FFFD, keeping pairs', () => {
    expect(toStorableText('a\u0000b\ud800c😀\udc00')).toBe('a\ufffdb\ufffdc😀\ufffd');
  });

  it('reach every string and key at any depth, and leave a literal backslash-u0000 alone', () => {
    const value = { 'k\u0000': ['\ud800', { deeper: 'ok\u0000' }], text: '\\u0000 and \\\\u0000', n: 1, b: true, nothing: null };
    expect(toStorableJson(value)).toEqual({ 'k\ufffd': ['\ufffd', { deeper: 'ok\ufffd' }], text: '\\u0000 and \\\\u0000', n: 1, b: true, nothing: null });
    expect(toStorableJson(nested(2_000))).toEqual(nested(2_000));
    const deep = nested(2_000) as unknown[];
    let innermost = deep;
    while (Array.isArray(innermost[0])) innermost = innermost[0] as unknown[];
    innermost[0] = '\u0000';
    expect(JSON.stringify(toStorableJson(deep))).toContain('"\ufffd"');
  });

  it('return the value itself when nothing needs replacing', () => {
    const value = { a: ['b', { c: 1 }] };
    expect(toStorableJson(value)).toBe(value);
  });
});

describe('inspectJson', () => {
  it('locates each unstorable string and key by its JSON pointer below the base', () => {
    expect(inspectJson({ a: [1, 'x\u0000'], 'b/c': { 'k~\ud800': 2 } }, '/input').problems).toEqual([
      { path: '/input/a/1', message: 'contains U+0000, which cannot be stored' },
      { path: '/input/b~1c/k~0\ud800', message: 'has a key that contains U+D800, half of a UTF-16 surrogate pair without its other half, which cannot be stored' },
    ]);
    expect(inspectJson('\u0000', '/reason').problems).toEqual([{ path: '/reason', message: 'contains U+0000, which cannot be stored' }]);
  });

  it(`takes ${MAX_JSON_DEPTH} levels, refuses one more once at the base, and walks 100,000 levels without recursion`, () => {
    expect(inspectJson(nested(MAX_JSON_DEPTH), '/input')).toEqual({ problems: [], tooDeep: false });
    const tooDeep = { problems: [{ path: '/input', message: `nests deeper than ${MAX_JSON_DEPTH} levels` }], tooDeep: true };
    expect(inspectJson(nested(MAX_JSON_DEPTH + 1), '/input')).toEqual(tooDeep);
    expect(inspectJson(nested(100_000), '/input', { maxDepth: 200_000 })).toEqual({ problems: [], tooDeep: false });
  });

  it(`lists at most ${MAX_LISTED_PROBLEMS} problems, then says there may be more`, () => {
    const { problems } = inspectJson(Array.from({ length: 1_000 }, () => '\u0000'), '/payload');
    expect(problems).toHaveLength(MAX_LISTED_PROBLEMS + 1);
    expect(problems.at(-1)).toEqual({ path: '/payload', message: `may have more problems: only the first ${MAX_LISTED_PROBLEMS} are listed` });
  });
});

describe('PROTOTYPE_KEYS', () => {
  it('are exactly the names Object.prototype has', () => {
    expect([...PROTOTYPE_KEYS].sort()).toEqual(Object.getOwnPropertyNames(Object.prototype).sort());
    expect(isPrototypeKey('constructor')).toBe(true);
    expect(isPrototypeKey('charge')).toBe(false);
  });

  it('setOwn makes "__proto__" an own member instead of a new prototype', () => {
    const target: Record<string, unknown> = {};
    setOwn(target, '__proto__', { polluted: true });
    setOwn(target, 'a', 1);
    expect(Object.keys(target)).toEqual(['__proto__', 'a']);
    expect(Object.getPrototypeOf(target)).toBe(Object.prototype);
    expect((target as { polluted?: unknown }).polluted).toBeUndefined();
  });
});
