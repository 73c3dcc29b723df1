import { NoResultError, type SelectQueryNode } from 'kysely';
import { permanentDatabaseError } from '../../src/db/database-error';

/** An error as node-postgres raises it for a SQLSTATE. */
function pgError(code: string, message = 'refused'): Error {
  return Object.assign(new Error(message), { code, detail: 'Failing row contains (the data)' });
}

describe('permanentDatabaseError', () => {
  it('names errors retrying cannot fix, with their SQLSTATE and class, but not their detail', () => {
    expect(permanentDatabaseError(pgError('23514', 'violates check constraint "c"'))).toBe(
      'PostgreSQL refused it: violates check constraint "c" (SQLSTATE 23514, integrity constraint violation)',
    );
    for (const code of ['22P05', '22021', '23505', '42P01', '42501', '54001', 'P0001', '21000', '2F005', '3F000', '44000']) {
      expect({ code, permanent: permanentDatabaseError(pgError(code)) !== undefined }).toEqual({ code, permanent: true });
    }
    expect(permanentDatabaseError(pgError('23514'))).not.toContain('the data');
  });

  it('leaves to retrying what may pass: connections, resources, shutdowns, conflicts, locks and the unknown', () => {
    for (const code of ['08006', '08001', '53300', '53100', '57P01', '57P03', '57014', '40001', '40P01', '55P03', '58030', 'XX000']) {
      expect({ code, permanent: permanentDatabaseError(pgError(code)) }).toEqual({ code, permanent: undefined });
    }
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    expect(permanentDatabaseError(refused)).toBeUndefined();
    expect(permanentDatabaseError(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }))).toBeUndefined();
    expect(permanentDatabaseError(new Error('Connection terminated unexpectedly'))).toBeUndefined();
    expect(permanentDatabaseError('a string')).toBeUndefined();
  });

  it('takes values JavaScript cannot serialise and missing rows as permanent', () => {
    expect(permanentDatabaseError(new RangeError('Maximum call stack size exceeded'))).toBe('the value cannot be serialised: Maximum call stack size exceeded');
    expect(permanentDatabaseError(new NoResultError({ kind: 'SelectQueryNode' } as SelectQueryNode))).toMatch(/^a row it needs does not exist/);
  });
});
