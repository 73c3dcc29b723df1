import { validateAgainstSchema } from '../src/support/json-schema';
import { sha256OfJson } from '../src/support/canonical-json';
import type { FieldError } from '../src/errors';

/**
 * The `checkJsonSchema` local activity: checks a value against a user's JSON Schema for the
 * workflow, which cannot run ajv in its sandbox. Returns every violation with a JSON pointer.
 */
export async function checkJsonSchema(request: { schema: Record<string, unknown>; value: unknown }): Promise<FieldError[]> {
  return Promise.resolve(validateAgainstSchema(request.schema, request.value, sha256OfJson(request.schema), ''));
}
