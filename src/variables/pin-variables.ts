import type { Kysely } from 'kysely';
import type { Definition } from '../../definition/definition-schema';
import { setOwn } from '../../definition/prototype-keys';
import { definitionVariables, type PinnedVariables } from '../../definition/variables';
import type { DefinitionLibrary } from '../../interpreter/run-types';
import type { Database } from '../db/database';
import { findVariables } from '../db/variables.repository';
import type { FieldError } from '../errors';

/** Largest value of one variable, in characters of JSON: values travel in every run that reads them. */
export const MAX_VARIABLE_CHARS = 16 * 1024;

/**
 * Most characters of JSON the variables one run pins may take together: they are part of the
 * run's workflow input in Temporal history (2 MB per payload, shared with the definition and its
 * sub-workflows).
 */
export const MAX_PINNED_VARIABLES_CHARS = 256 * 1024;

/** The outcome of {@link pinVariables}: the values a run reads, or why it cannot start. */
export type PinnedVariablesResult = { variables: PinnedVariables; errors: FieldError[] };

/**
 * Resolves the variables a run reads with `$var('NAME')`, in its definition and in every
 * sub-workflow it may start (child runs use their parent's), to the tenant's values now. Each
 * variable that is not set is an error located where it is first read: a JSON pointer into the
 * root definition, or into the sub-workflow the message names.
 */
export async function pinVariables(
  db: Kysely<Database>,
  tenantId: string,
  root: { name: string; definition: Definition },
  library: DefinitionLibrary = {},
): Promise<PinnedVariablesResult> {
  const reads = new Map<string, { pointer: string; where: string }>();
  const collect = (definition: Definition, where: string): void => {
    for (const { name, pointer } of definitionVariables(definition)) if (!reads.has(name)) reads.set(name, { pointer, where });
  };
  collect(root.definition, '');
  for (const pinned of Object.values(library)) collect(pinned.definition, `sub-workflow "${pinned.name}" v${pinned.version} `);
  const found = await findVariables(db, tenantId, [...reads.keys()]);
  const variables: PinnedVariables = {};
  const errors: FieldError[] = [];
  for (const [name, { pointer, where }] of [...reads].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (found.has(name)) {
      setOwn(variables, name, found.get(name));
      continue;
    }
    errors.push({ path: pointer, message: `${where}reads $var(${JSON.stringify(name)}), which is not set: set it with setVariable (trellis vars set ${name} <value>)` });
  }
  const size = JSON.stringify(variables).length;
  if (errors.length === 0 && size > MAX_PINNED_VARIABLES_CHARS) {
    errors.push({ path: '', message: `the variables it reads take ${size} characters of JSON together; a run may pin at most ${MAX_PINNED_VARIABLES_CHARS}` });
  }
  return { variables, errors };
}
