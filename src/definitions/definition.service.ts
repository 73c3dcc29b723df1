import type { Kysely } from 'kysely';
import { validateDefinition, type ValidationResult } from '../../definition/definition-validator';
import { embeddedJsonSchemas } from '../../definition/definition-walk';
import type { Database, DefinitionVersionRow } from '../db/database';
import { saveDefinitionVersion } from '../db/definitions.repository';
import { BadUserInputError } from '../errors';
import { sha256OfJson } from '../support/canonical-json';
import { jsonSchemaErrors } from '../support/json-schema';

/**
 * Checks a definition document without saving it: the language's own checks, then that every
 * embedded JSON Schema (`input`, step `output`s) compiles.
 */
export function checkDefinition(spec: unknown): ValidationResult {
  const result = validateDefinition(spec);
  if (!result.valid) return result;
  const errors = embeddedJsonSchemas(result.definition).flatMap(({ pointer, schema }) => jsonSchemaErrors(schema, pointer));
  return errors.length > 0 ? { valid: false, errors } : result;
}

/**
 * Validates and saves `spec` as the next immutable version of its definition. A document whose
 * canonical JSON equals the latest version's is not saved again: that version is returned.
 * @throws BadUserInputError with every definition error, each with its JSON pointer
 */
export async function saveDefinition(
  db: Kysely<Database>,
  tenantId: string,
  spec: unknown,
): Promise<{ row: DefinitionVersionRow; created: boolean }> {
  const result = checkDefinition(spec);
  if (!result.valid) throw new BadUserInputError('invalid definition', result.errors);
  const { definition } = result;
  return saveDefinitionVersion(db, tenantId, definition.name, spec, sha256OfJson(spec), definition.description ?? null);
}
