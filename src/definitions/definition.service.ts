import type { Kysely } from 'kysely';
import { validateDefinition, type ValidationResult } from '../../definition/definition-validator';
import { embeddedJsonSchemas } from '../../definition/definition-walk';
import type { Database, DefinitionVersionRow } from '../db/database';
import { saveDefinitionVersion } from '../db/definitions.repository';
import { codeSyntaxErrors } from '../code-steps/code-syntax';
import { BadUserInputError } from '../errors';
import type { StepTypeDefinition } from '../step-types/define-step-type';
import { TurnQueue } from '../support/turn-queue';
import { definitionContentHash } from './content-hash';
import { expressionCountError } from './expression-count';
import { jsonSchemaErrors } from '../support/json-schema';
import { pinSubWorkflows } from './sub-workflows';
import type { TaskQueuePolicy } from '../../definition/task-queues';

/** What a definition is checked against beyond its own text. */
export type DefinitionCheckOptions = {
  /** Custom step types the deployment registered. */
  stepTypes?: readonly StepTypeDefinition[];
  /** The task queues steps may name (the deployment's pools). @default none */
  taskQueues?: TaskQueuePolicy;
};

/**
 * Checks a definition document without saving it: at most 5,000 expressions (expression-count.ts),
 * the language's own checks, then that every embedded JSON Schema (`input`, step `output`s) compiles.
 */
export function checkDefinition(spec: unknown, options: DefinitionCheckOptions = {}): ValidationResult {
  // Refused before the expensive check, which parses every expression.
  const tooMany = expressionCountError(spec);
  if (tooMany) return { valid: false, errors: [tooMany] };
  const result = validateDefinition(spec, { stepTypes: options.stepTypes, taskQueues: options.taskQueues });
  if (!result.valid) return result;
  const errors = embeddedJsonSchemas(result.definition).flatMap(({ pointer, schema }) => jsonSchemaErrors(schema, pointer));
  return errors.length > 0 ? { valid: false, errors } : result;
}

/**
 * Definition checks (and the parsing of definitions sent as text) of this process: one at a
 * time, each in its own turn of the event loop (see {@link TurnQueue}).
 */
export const definitionChecks = new TurnQueue();

/**
 * {@link checkDefinition} (queued behind the process's other checks, so that many at once do not
 * hold the event loop), then code steps' syntax (QuickJS compiles each `source`), then the checks
 * that need the tenant's other definitions: every sub-workflow exists, none recurses, and chains
 * stay within the depth limit.
 */
export async function checkDefinitionForTenant(
  db: Kysely<Database>,
  tenantId: string,
  spec: unknown,
  options: DefinitionCheckOptions = {},
): Promise<ValidationResult> {
  const result = await definitionChecks.run(() => checkDefinition(spec, options));
  if (!result.valid) return result;
  const syntax = await codeSyntaxErrors(result.definition);
  if (syntax.length > 0) return { valid: false, errors: syntax };
  const { errors } = await pinSubWorkflows(db, tenantId, { name: result.definition.name, definition: result.definition });
  return errors.length > 0 ? { valid: false, errors } : result;
}

/**
 * Validates and saves `spec` as the next immutable version of its definition. A document whose
 * content hash equals the latest version's (the same canonical JSON, whatever its `"$schema"`:
 * see {@link definitionContentHash}) is not saved again: that version is returned. The document
 * is stored as written, `"$schema"` included.
 * @throws BadUserInputError with every definition error, each with its JSON pointer
 */
export async function saveDefinition(
  db: Kysely<Database>,
  tenantId: string,
  spec: unknown,
  options: DefinitionCheckOptions = {},
): Promise<{ row: DefinitionVersionRow; created: boolean }> {
  const result = await checkDefinitionForTenant(db, tenantId, spec, options);
  if (!result.valid) throw new BadUserInputError('invalid definition', result.errors);
  const { definition } = result;
  return saveDefinitionVersion(db, tenantId, definition.name, spec, definitionContentHash(spec), definition.description ?? null);
}
