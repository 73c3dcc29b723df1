import { definitionJsonSchema } from '../../definition/definition-schema';

/** Where the published schema lives, relative to the repository root. */
export const DEFINITION_SCHEMA_PATH = 'schema/definition.schema.json';

/** The path every Trellis API serves the published schema at (see dashboard-routes.ts). */
export const DEFINITION_SCHEMA_ROUTE = '/schema/definition.json';

/**
 * The published schema's `$id`, and the `"$schema"` URL the examples use: where `npm start`
 * serves it by default. A deployment serves the same document at its own origin, on the same
 * path; a definition's `"$schema"` is not part of its content (it never makes a new version).
 */
export const DEFINITION_SCHEMA_ID = `http://localhost:4000${DEFINITION_SCHEMA_ROUTE}`;

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
