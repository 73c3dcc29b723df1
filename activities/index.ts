import type { Kysely } from 'kysely';
import type { Database } from '../src/db/database';
import { createAuditActivities } from './audit.activity';
import { httpRequest } from './http.activity';

/** Every activity the interpreter calls, bound to their dependencies. */
export function createActivities(db: Kysely<Database>) {
  return { httpRequest, ...createAuditActivities(db) };
}

export type Activities = ReturnType<typeof createActivities>;
