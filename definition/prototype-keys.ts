/**
 * The names every plain JavaScript object answers to through `Object.prototype`. Used as keys of
 * a plain object they read what the prototype holds (`steps.constructor` is a function) or, for
 * `__proto__`, replace the prototype instead of adding a member; so Trellis refuses them as step
 * ids and secret names.
 */
export const PROTOTYPE_KEYS = [
  '__proto__',
  '__defineGetter__',
  '__defineSetter__',
  '__lookupGetter__',
  '__lookupSetter__',
  'constructor',
  'hasOwnProperty',
  'isPrototypeOf',
  'propertyIsEnumerable',
  'toLocaleString',
  'toString',
  'valueOf',
] as const;

/** One of {@link PROTOTYPE_KEYS}. */
export type PrototypeKey = (typeof PROTOTYPE_KEYS)[number];

const KEYS: ReadonlySet<string> = new Set(PROTOTYPE_KEYS);

/** Whether `name` is one of {@link PROTOTYPE_KEYS}. */
export function isPrototypeKey(name: string): name is PrototypeKey {
  return KEYS.has(name);
}

/**
 * Sets an own, enumerable member of a plain object, even for `__proto__` (which plain
 * assignment would take as a new prototype).
 */
export function setOwn<T>(target: Record<string, T>, key: string, value: T): void {
  if (key === '__proto__') Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  else target[key] = value;
}
