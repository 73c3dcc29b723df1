import { definitionJsonSchema } from '../../definition/definition-schema';

/** Where the published schema lives, relative to the repository root. */
export const DEFINITION_SCHEMA_PATH = 'schema/definition.schema.json';

/**
 * The published schema's `$id`: an identifier that stays the same across regenerations (a name,
 * not a download location; definitions point editors at the file with `"$schema"`).
 */
export const DEFINITION_SCHEMA_ID = 'urn:trellis:schema:definition:v1';

/**
 * The JSON Schema (draft 2020-12) of the definition language as published in
 * {@link DEFINITION_SCHEMA_PATH}: `definitionJsonSchema()` with a stable `$id`, a title and a
 * description first, so editors show them.
 */
export function publishedDefinitionSchema(): Record<string, unknown> {
  const { $schema, ...rest } = definitionJsonSchema();
  return {
    $schema,
    $id: DEFINITION_SCHEMA_ID,
    title: 'Trellis workflow definition',
    description:
      'A workflow definition (definition language v1): steps keyed by id, edges in each step\'s "needs". ' +
      'Durations, expressions and the graph are checked only by Trellis (trellis validate, validateDefinition).',
    $comment: 'Generated from definition/definition-schema.ts by `npm run schema`; do not edit by hand.',
    ...rest,
  };
}

/** The exact text of the published schema file: two-space indented JSON and a final newline. */
export function publishedDefinitionSchemaText(): string {
  return `${JSON.stringify(publishedDefinitionSchema(), null, 2)}\n`;
}
