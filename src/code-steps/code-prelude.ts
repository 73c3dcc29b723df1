/**
 * File name the user's code is compiled under: stack frames name it (`code.js:3:7`), which is how
 * an error's line is found.
 */
export const CODE_FILE = 'code.js';

/**
 * Wraps a code step's `source`, a function body, into a function expression. The header takes a
 * line of its own, so line N of the source is line N + 1 of the compiled text (see
 * {@link SOURCE_LINE_OFFSET}); strict mode, so `this` is undefined, not the global object.
 */
export function wrapSource(source: string): string {
  return `(function (input, steps, run, item, index) { 'use strict';\n${source}\n})`;
}

/** Lines the header of {@link wrapSource} adds before the source. */
export const SOURCE_LINE_OFFSET = 1;

/** Longest message or printed value kept from a thrown error (characters). */
export const MAX_ERROR_TEXT = 2_000;

/**
 * Guest code evaluated in every fresh context before the user's code. Called with `host` (the
 * curated library's host functions and the console sink, which take and return strings and
 * numbers), it installs `console` and `lib`, and returns the functions the host drives the
 * execution with: `run`, `marshal` (result → JSON text, refusing what JSON cannot hold) and
 * `describe` (a thrown value → JSON text). It captures the intrinsics it uses before the user's
 * code can replace them, and `host` stays reachable only through its closures.
 */
export const PRELUDE = String.raw`(function (host) {
  'use strict';
  const stringify = JSON.stringify;
  const parse = JSON.parse;
  const freeze = Object.freeze;
  const defineProperty = Object.defineProperty;
  const getPrototypeOf = Object.getPrototypeOf;
  const getOwnPropertyDescriptor = Object.getOwnPropertyDescriptor;
  const isFiniteNumber = Number.isFinite;
  const toText = String;
  const TypeErrorCtor = TypeError;
  const apply = Reflect.apply;
  const getOwnPropertyNames = Object.getOwnPropertyNames;
  const h = {};
  for (const name of ['tick', 'log', 'sha256', 'hmacSha256', 'base64Encode', 'base64Decode', 'parseUrl', 'addToDate', 'dateDiff', 'toEpochMs', 'toIsoDate', 'validate']) {
    h[name] = host[name];
  }
  const call = (name, args) => apply(h[name], undefined, args);

  function dataString(object, key) {
    const descriptor = getOwnPropertyDescriptor(object, key);
    return descriptor !== undefined && 'value' in descriptor && typeof descriptor.value === 'string' ? descriptor.value : undefined;
  }
  function errorText(value) {
    let name;
    for (let object = value, depth = 0; object !== null && name === undefined && depth < 8; depth += 1) {
      name = dataString(object, 'name');
      object = getPrototypeOf(object);
    }
    const message = dataString(value, 'message');
    return message === undefined ? undefined : (name === undefined ? 'Error' : name) + ': ' + message;
  }
  function show(value) {
    if (typeof value === 'string') return value;
    try {
      if (value !== null && typeof value === 'object') {
        const error = errorText(value);
        if (error !== undefined) return error;
      }
      const json = typeof value === 'bigint' ? undefined : stringify(value);
      return json === undefined ? toText(value) : json;
    } catch (error) {
      try { return toText(value); } catch (again) { return '[unprintable value]'; }
    }
  }

  const console = {};
  for (const level of ['debug', 'info', 'warn', 'error']) {
    console[level] = function (...values) {
      let line = '';
      for (let i = 0; i < values.length; i += 1) line += (i === 0 ? '' : ' ') + show(values[i]);
      call('log', [level, line]);
    };
  }
  console.log = console.info;
  defineProperty(globalThis, 'console', { value: freeze(console), writable: true, configurable: true, enumerable: false });

  const lib = freeze({
    sha256: (text) => call('sha256', [text]),
    hmacSha256: (key, text) => call('hmacSha256', [key, text]),
    base64Encode: (text) => call('base64Encode', [text]),
    base64Decode: (text) => call('base64Decode', [text]),
    parseUrl: (text) => parse(call('parseUrl', [text])),
    addToDate: (date, amounts) => call('addToDate', [date, stringify(amounts === undefined ? null : amounts)]),
    dateDiff: (from, to, unit) => call('dateDiff', [from, to, unit === undefined ? 'milliseconds' : unit]),
    toEpochMs: (date) => call('toEpochMs', [date]),
    toIsoDate: (date) => call('toIsoDate', [date]),
    validate: (schema, value) => parse(call('validate', [stringify(schema), value === undefined ? '' : stringify(value)])),
  });
  defineProperty(globalThis, 'lib', { value: lib, writable: false, configurable: false, enumerable: false });

  function refuse(key, what) {
    throw new TypeErrorCtor((key === '' ? 'the result' : 'the value at key ' + stringify(toText(key))) + ' is ' + what + ', which JSON cannot hold');
  }
  function replacer(key, value) {
    switch (typeof value) {
      case 'number': if (!isFiniteNumber(value)) refuse(key, toText(value)); return value;
      case 'function': return refuse(key, 'a function');
      case 'symbol': return refuse(key, 'a symbol');
      case 'bigint': return refuse(key, 'a BigInt');
      default: return value;
    }
  }

  // Every built-in method first asks the host whether the deadline has passed (see the host's tick).
  const tick = h.tick;
  function guard(holder) {
    for (const key of getOwnPropertyNames(holder)) {
      if (key === 'constructor') continue;
      const descriptor = getOwnPropertyDescriptor(holder, key);
      if (descriptor === undefined || typeof descriptor.value !== 'function' || !descriptor.configurable) continue;
      const original = descriptor.value;
      const guarded = { [key](...args) { tick(); return apply(original, this, args); } }[key];
      defineProperty(holder, key, { value: guarded, writable: descriptor.writable, enumerable: descriptor.enumerable, configurable: true });
    }
  }
  const typedArray = getPrototypeOf(Uint8Array);
  for (const holder of [Object, Array, Array.prototype, String, String.prototype, JSON, Math, Number, Number.prototype, RegExp.prototype, Map.prototype, Set.prototype,
    WeakMap.prototype, WeakSet.prototype, Date, Date.prototype, Promise, Promise.prototype, Reflect, ArrayBuffer, ArrayBuffer.prototype, typedArray, typedArray.prototype,
    Function.prototype, Symbol, BigInt, BigInt.prototype, Boolean.prototype, Error.prototype]) {
    guard(holder);
  }

  return freeze({
    run(fn, argsText) {
      const args = parse(argsText);
      return fn(args.input, args.steps, args.run, args.item, args.index);
    },
    marshal(value) {
      if (value === undefined) throw new TypeErrorCtor('the result is undefined: return a JSON value (null for nothing)');
      return stringify(value, replacer);
    },
    describe(value) {
      try {
        if (value !== null && (typeof value === 'object' || typeof value === 'function')) {
          const message = dataString(value, 'message');
          if (message !== undefined) {
            let name;
            for (let object = value, depth = 0; object !== null && name === undefined && depth < 8; depth += 1) {
              name = dataString(object, 'name');
              object = getPrototypeOf(object);
            }
            const stack = dataString(value, 'stack');
            return stringify({ error: true, name: name === undefined ? 'Error' : name, message: message.slice(0, ${MAX_ERROR_TEXT}), stack: stack === undefined ? '' : stack.slice(0, 4000) });
          }
        }
        return stringify({ error: false, value: show(value).slice(0, ${MAX_ERROR_TEXT}) });
      } catch (error) {
        return stringify({ error: false, value: 'a value that could not be described' });
      }
    },
  });
})`;
