import { NoResultError } from 'kysely';

/**
 * SQLSTATE classes (the first two characters of PostgreSQL's error code) of errors that running
 * the same statement again cannot fix: the data, a constraint, the schema or a permission is
 * wrong, or a limit was hit. Anything else — connection exceptions (08), insufficient resources
 * (53), operator intervention such as an admin shutdown (57), serialisation failures and
 * deadlocks (40), lock timeouts (55), system errors (58), errors with no SQLSTATE at all (a
 * refused or reset connection, a pool timeout) — may pass, and is retried.
 */
export const PERMANENT_SQLSTATE_CLASSES = Object.freeze({
  '21': 'cardinality violation',
  '22': 'data exception',
  '23': 'integrity constraint violation',
  '27': 'triggered data change violation',
  '2F': 'SQL routine exception',
  '38': 'external routine exception',
  '39': 'external routine invocation exception',
  '3F': 'invalid schema name',
  '42': 'syntax error or access rule violation',
  '44': 'WITH CHECK OPTION violation',
  '54': 'program limit exceeded',
  P0: 'PL/pgSQL error',
} as const);

/**
 * Why a database call failed for good, for a human (`PostgreSQL refused it: … (SQLSTATE 23514,
 * integrity constraint violation)`), or undefined when retrying may help (see
 * {@link PERMANENT_SQLSTATE_CLASSES}). Also permanent: a value JavaScript cannot serialise
 * (`RangeError`: nested too deep, a string too long) and a row the statement requires that does
 * not exist (kysely's `NoResultError`). PostgreSQL's `detail`, which may quote the data, is left
 * out.
 */
export function permanentDatabaseError(err: unknown): string | undefined {
  if (err instanceof RangeError) return `the value cannot be serialised: ${err.message}`;
  if (err instanceof NoResultError) return `a row it needs does not exist: ${err.message}`;
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== 'string' || !/^[0-9A-Z]{5}$/.test(code)) return undefined;
  const kind = (PERMANENT_SQLSTATE_CLASSES as Readonly<Record<string, string>>)[code.slice(0, 2)];
  if (kind === undefined) return undefined;
  const message = err instanceof Error ? err.message : 'error';
  return `PostgreSQL refused it: ${message} (SQLSTATE ${code}, ${kind})`;
}
