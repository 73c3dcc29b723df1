import type { Kysely } from 'kysely';
import type { Definition } from '../../definition/definition-schema';
import { DEFINITION_NAME_PATTERN } from '../../definition/definition-schema';
import type { Database } from '../db/database';
import { findDefinition, findVersion } from '../db/definitions.repository';
import { BadUserInputError, NotFoundError } from '../errors';

/**
 * The definition a new webhook, trigger or schedule will run: it must exist and not be archived
 * (a trigger of an archived definition could only ever be refused).
 * @returns its latest version
 * @throws NotFoundError for a definition the tenant does not have; BadUserInputError for an archived one
 */
export async function requireTriggerTarget(db: Kysely<Database>, tenantId: string, name: string): Promise<{ definition: Definition; version: number }> {
  if (!DEFINITION_NAME_PATTERN.test(name)) throw new NotFoundError(`definition "${name}"`);
  const row = await findDefinition(db, tenantId, name);
  if (!row) throw new NotFoundError(`definition "${name}"`);
  if (row.archived_at) {
    throw new BadUserInputError(`definition "${name}" is archived: save it again before triggering it`, [{ path: '/definition', message: 'is archived' }]);
  }
  const version = await findVersion(db, tenantId, name, 'latest');
  if (!version) throw new NotFoundError(`definition "${name}"`);
  return { definition: version.spec as Definition, version: version.version };
}
