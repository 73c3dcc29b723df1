/**
 * Built-ins the expression engine's hot paths call, bound once. Inside Temporal's workflow sandbox
 * (a `node:vm` context) every global variable (`Math`, `Array`, `Object`…) is looked up through
 * the context's interceptors, some thirty times slower than a module binding; a module's imports
 * are not globals. Only ECMAScript intrinsics that the workflow runtime never replaces.
 */
export const { isArray } = Array;
export const { abs, ceil, floor, max, min, trunc } = Math;
export const { getPrototypeOf, hasOwn, keys: objectKeys, values: objectValues } = Object;
export const { isFinite: isFiniteNumber } = Number;
export const OBJECT_PROTOTYPE: object = Object.prototype;
