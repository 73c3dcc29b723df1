import { createHash, createHmac } from 'node:crypto';
import Ajv, { type ValidateFunction } from 'ajv';
import type { RegExpLike } from 'ajv/dist/types';
import { compileRe2 } from '../../definition/re2-regexp';
import { LruCache } from '../support/lru-cache';

/**
 * What a host function of the curated library takes and gives: strings and numbers only. Objects
 * cross the sandbox's edge as JSON text, parsed on the other side, so no host object (and no
 * prototype of one) is ever reachable from the user's code.
 */
export type HostValue = string | number;

/** One host function of the curated library; it throws a TypeError or RangeError for bad arguments. */
export type HostFunction = (...args: HostValue[]) => HostValue;

/** Most JSON Schemas `lib.validate` keeps compiled (per worker). */
const COMPILED_SCHEMAS = 100;
/** Most problems `lib.validate` lists. */
const LISTED_PROBLEMS = 20;

// A JSON Schema `pattern` runs on the host, outside the sandbox's interrupt handler: RE2 matches in
// linear time, so no pattern can hold the worker (a backtracking engine could, for seconds).
const re2Engine = Object.assign(
  (pattern: string): RegExpLike => {
    const program = compileRe2(pattern, '');
    return { test: (text: string) => program.matcher(text).find() };
  },
  // Only read by ajv's standalone code generation, which Trellis does not use.
  { code: 'trellis-re2' },
);
const ajv = new Ajv({ allErrors: true, strict: false, code: { regExp: re2Engine } });
const compiled = new LruCache<string, ValidateFunction>(COMPILED_SCHEMAS);

const DATE_UNITS_MS = {
  milliseconds: 1,
  seconds: 1_000,
  minutes: 60_000,
  hours: 3_600_000,
  days: 86_400_000,
  weeks: 604_800_000,
} as const;

/**
 * The curated library's host functions, by the name the sandbox's prelude calls them (it wraps
 * them as `lib.*`, see the README's "Code steps"): hashing with node:crypto, base64, URL parsing,
 * date arithmetic over ISO-8601 strings and epoch milliseconds, and JSON Schema validation with
 * ajv. Each takes and returns strings and numbers; objects are JSON text.
 */
export function createCodeLibrary(): Record<string, HostFunction> {
  return {
    sha256: (text) => createHash('sha256').update(asString(text, 'sha256(text)')).digest('hex'),
    hmacSha256: (key, text) => createHmac('sha256', asString(key, 'hmacSha256(key, text)')).update(asString(text, 'hmacSha256(key, text)')).digest('hex'),
    base64Encode: (text) => Buffer.from(asString(text, 'base64Encode(text)'), 'utf8').toString('base64'),
    base64Decode: (text) => {
      const encoded = asString(text, 'base64Decode(text)').replace(/\s+/g, '');
      if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(encoded)) throw new TypeError('base64Decode(text): text is not base64');
      return Buffer.from(encoded, 'base64').toString('utf8');
    },
    parseUrl: (text) => JSON.stringify(parseUrl(asString(text, 'parseUrl(text)'))),
    addToDate: (date, amounts) => new Date(addToDate(toEpochMs(date, 'addToDate(date, amounts)'), JSON.parse(asString(amounts, 'addToDate')) as unknown)).toISOString(),
    dateDiff: (from, to, unit) => dateDiff(toEpochMs(from, 'dateDiff(from, to)'), toEpochMs(to, 'dateDiff(from, to)'), asString(unit, 'dateDiff(from, to, unit)')),
    toEpochMs: (date) => toEpochMs(date, 'toEpochMs(date)'),
    toIsoDate: (date) => new Date(toEpochMs(date, 'toIsoDate(date)')).toISOString(),
    validate: (schema, value) => JSON.stringify(validate(asString(schema, 'validate(schema, value)'), asString(value, 'validate(schema, value)'))),
  };
}

function asString(value: HostValue, what: string): string {
  if (typeof value !== 'string') throw new TypeError(`${what}: expected a string, got a ${typeof value}`);
  return value;
}

function parseUrl(text: string): Record<string, unknown> {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new TypeError(`parseUrl(text): ${JSON.stringify(text.slice(0, 100))} is not an absolute URL`);
  }
  const query: Record<string, string | string[]> = {};
  for (const [key, value] of url.searchParams) {
    const existing = Object.hasOwn(query, key) ? query[key] : undefined;
    const next = existing === undefined ? value : Array.isArray(existing) ? [...existing, value] : [existing, value];
    Object.defineProperty(query, key, { value: next, enumerable: true, writable: true, configurable: true });
  }
  return {
    href: url.href,
    protocol: url.protocol,
    username: url.username,
    password: url.password,
    host: url.host,
    hostname: url.hostname,
    port: url.port,
    origin: url.origin,
    pathname: url.pathname,
    search: url.search,
    query,
    hash: url.hash,
  };
}

/** An ISO-8601 string or epoch milliseconds as epoch milliseconds. */
function toEpochMs(date: HostValue, what: string): number {
  const ms = typeof date === 'number' ? date : Date.parse(date);
  if (!Number.isFinite(ms) || Math.abs(ms) > 8.64e15) throw new RangeError(`${what}: ${JSON.stringify(date)} is not an ISO-8601 date or epoch milliseconds`);
  return ms;
}

const CALENDAR_UNITS = ['years', 'months'] as const;
const FIXED_UNITS = ['weeks', 'days', 'hours', 'minutes', 'seconds', 'milliseconds'] as const;

/** Adds calendar amounts in UTC: years and months move the calendar date, the rest fixed lengths. */
function addToDate(ms: number, amounts: unknown): number {
  if (amounts === null || typeof amounts !== 'object' || Array.isArray(amounts)) {
    throw new TypeError('addToDate(date, amounts): amounts is an object like { days: 1, hours: -2 }');
  }
  const known: readonly string[] = [...CALENDAR_UNITS, ...FIXED_UNITS];
  for (const [unit, amount] of Object.entries(amounts)) {
    if (!known.includes(unit)) throw new TypeError(`addToDate(date, amounts): unknown unit "${unit}" (use ${known.join(', ')})`);
    if (typeof amount !== 'number' || !Number.isFinite(amount)) throw new TypeError(`addToDate(date, amounts): ${unit} is not a finite number`);
  }
  const get = (unit: string): number => ((amounts as Record<string, number>)[unit] ?? 0);
  const date = new Date(ms);
  if (get('years') !== 0 || get('months') !== 0) date.setUTCMonth(date.getUTCMonth() + Math.trunc(get('months')) + 12 * Math.trunc(get('years')));
  let result = date.getTime();
  for (const unit of FIXED_UNITS) result += get(unit) * DATE_UNITS_MS[unit];
  return toEpochMs(result, 'addToDate(date, amounts)');
}

function dateDiff(from: number, to: number, unit: string): number {
  if (!Object.hasOwn(DATE_UNITS_MS, unit)) throw new TypeError(`dateDiff(from, to, unit): unknown unit "${unit}" (use ${Object.keys(DATE_UNITS_MS).join(', ')})`);
  return (to - from) / DATE_UNITS_MS[unit as keyof typeof DATE_UNITS_MS];
}

function validate(schemaText: string, valueText: string): { valid: boolean; errors: Array<{ path: string; message: string }> } {
  let validator = compiled.get(schemaText);
  if (!validator) {
    const schema = JSON.parse(schemaText) as unknown;
    if (typeof schema !== 'boolean' && (schema === null || typeof schema !== 'object' || Array.isArray(schema))) {
      throw new TypeError('validate(schema, value): schema is an object (a JSON Schema)');
    }
    try {
      validator = ajv.compile(schema as object);
    } catch (err) {
      throw new TypeError(`validate(schema, value): not a valid JSON Schema: ${err instanceof Error ? err.message : String(err)}`);
    } finally {
      // ajv keeps every schema it compiled; the LRU cache is what bounds memory here.
      if (typeof schema === 'object' && schema !== null) ajv.removeSchema(schema as object);
    }
    compiled.set(schemaText, validator);
  }
  const value = valueText === '' ? undefined : (JSON.parse(valueText) as unknown);
  if (validator(value)) return { valid: true, errors: [] };
  const errors = (validator.errors ?? []).slice(0, LISTED_PROBLEMS).map((error) => ({ path: error.instancePath, message: error.message ?? 'is invalid' }));
  return { valid: false, errors };
}
