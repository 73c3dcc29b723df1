import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import { MAX_LISTED_PROBLEMS } from '../../definition/storable-json';
import type { FieldError } from '../errors';

const ajv = new Ajv({ allErrors: true, strict: false });
// Compiled validators by the caller's key; versions are immutable, so entries never go stale.
const cache = new Map<string, ValidateFunction>();

/**
 * Why `schema` is not a usable JSON Schema, located at `pointer`; empty when it compiles.
 * @example jsonSchemaErrors({ type: 'strng' }, '/input') // [{ path: '/input', message: 'is not a valid JSON Schema: …' }]
 */
export function jsonSchemaErrors(schema: unknown, pointer: string): FieldError[] {
  try {
    ajv.compile(schema as object);
    return [];
  } catch (err) {
    return [{ path: pointer, message: `is not a valid JSON Schema: ${err instanceof Error ? err.message : String(err)}` }];
  }
}

/**
 * Checks `value` against a user's JSON Schema (a definition's `input`), returning the violations
 * with a JSON pointer under `prefix`: the first 20 (`MAX_LISTED_PROBLEMS`), then one saying how
 * many more there are. Compiled schemas are cached by their content hash.
 * @param cacheKey identifies the schema (for instance `<tenant>/<definition>@<version>`)
 */
export function validateAgainstSchema(schema: unknown, value: unknown, cacheKey: string, prefix = '/input'): FieldError[] {
  let validate = cache.get(cacheKey);
  if (!validate) {
    validate = ajv.compile(schema as object);
    cache.set(cacheKey, validate);
  }
  if (validate(value)) return [];
  const errors = validate.errors ?? [];
  // A value can break a schema in as many places as it has members: list the first ones only.
  const listed = errors.slice(0, MAX_LISTED_PROBLEMS).map((e) => toFieldError(e, prefix));
  if (errors.length > MAX_LISTED_PROBLEMS) listed.push({ path: prefix, message: `has ${errors.length - MAX_LISTED_PROBLEMS} more problems` });
  return listed;
}

function toFieldError(error: ErrorObject, prefix: string): FieldError {
  if (error.keyword === 'required') {
    const missing = (error.params as { missingProperty: string }).missingProperty;
    return { path: `${prefix}${error.instancePath}/${missing}`, message: `is required` };
  }
  if (error.keyword === 'additionalProperties') {
    const extra = (error.params as { additionalProperty: string }).additionalProperty;
    return { path: `${prefix}${error.instancePath}/${extra}`, message: 'is not allowed' };
  }
  return { path: `${prefix}${error.instancePath}`, message: error.message ?? 'is invalid' };
}
