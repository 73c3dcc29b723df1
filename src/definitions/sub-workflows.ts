import type { Kysely } from 'kysely';
import type { Definition } from '../../definition/definition-schema';
import { childWorkflows } from '../../definition/definition-walk';
import { libraryKey, type DefinitionLibrary, type PinnedDefinition } from '../../interpreter/run-types';
import { MAX_WORKFLOW_DEPTH } from '../../interpreter/step-actions';
import type { Database } from '../db/database';
import { findVersion } from '../db/definitions.repository';
import type { FieldError } from '../errors';

/** The outcome of {@link pinSubWorkflows}: the pinned definitions, or why they cannot be. */
export type PinnedSubWorkflows = { library: DefinitionLibrary; errors: FieldError[] };

/**
 * Resolves every sub-workflow a definition can start, directly or through its children, for one
 * tenant: `"latest"` becomes the newest version now, so a run pins them all at its start (or the
 * version `pins` names for that reference: a retry pins what the run it retries pinned). Finds
 * references to missing definitions or versions, recursion between definitions (including a
 * definition starting itself) and chains deeper than {@link MAX_WORKFLOW_DEPTH}; each error is
 * located at the root definition's reference that leads to it.
 */
export async function pinSubWorkflows(
  db: Kysely<Database>,
  tenantId: string,
  root: { name: string; definition: Definition },
  pins: Readonly<Record<string, number>> = {},
): Promise<PinnedSubWorkflows> {
  const library: DefinitionLibrary = {};
  const errors: FieldError[] = [];
  const loaded = new Map<string, PinnedDefinition | undefined>();
  const load = async (name: string, version: number | 'latest'): Promise<PinnedDefinition | undefined> => {
    const key = libraryKey(name, version);
    if (!loaded.has(key)) {
      const row = await findVersion(db, tenantId, name, pins[key] ?? version);
      loaded.set(key, row && { name: row.name, version: row.version, definition: row.spec as Definition });
    }
    return loaded.get(key);
  };

  // Depth-first from each of the root's references, carrying the chain of names that led here.
  const visit = async (definition: Definition, chain: string[], pointer: string | undefined): Promise<void> => {
    for (const reference of childWorkflows(definition)) {
      const at = pointer ?? reference.pointer;
      const path = [...chain, reference.definition];
      if (chain.includes(reference.definition)) {
        errors.push({ path: at, message: `sub-workflows recurse: ${path.join(' → ')}; a definition cannot start itself, directly or through others` });
        continue;
      }
      // The root runs at depth 1, so a chain of n names runs its last one at depth n.
      if (path.length > MAX_WORKFLOW_DEPTH) {
        errors.push({ path: at, message: `sub-workflows nest ${path.length} deep (${path.join(' → ')}); the limit is ${MAX_WORKFLOW_DEPTH}` });
        continue;
      }
      const pinned = await load(reference.definition, reference.version);
      if (!pinned) {
        const what = reference.version === 'latest' ? `definition "${reference.definition}" does not exist` : `definition "${reference.definition}" has no version ${reference.version}`;
        errors.push({ path: at, message: `${what}${pointer ? ` (reached through ${path.slice(0, -1).join(' → ')})` : ''}: save it first` });
        continue;
      }
      library[libraryKey(reference.definition, reference.version)] = pinned;
      await visit(pinned.definition, path, at);
    }
  };
  await visit(root.definition, [root.name], undefined);
  return { library, errors: dedupe(errors) };
}

/** The version each reference of a library resolved to, to pin the same ones again. */
export function pinnedVersions(library: DefinitionLibrary): Record<string, number> {
  return Object.fromEntries(Object.entries(library).map(([key, pinned]) => [key, pinned.version]));
}

function dedupe(errors: FieldError[]): FieldError[] {
  return [...new Map(errors.map((error) => [`${error.path}\u0000${error.message}`, error])).values()];
}
