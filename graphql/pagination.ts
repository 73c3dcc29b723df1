import { unstorableReason } from '../definition/storable-json';
import { BadUserInputError } from '../src/errors';

/** The largest `first` any connection accepts. */
export const MAX_PAGE_SIZE = 1000;

/** Opaque Relay cursor over a list of key parts (a seq, a name, a timestamp and an id…). */
export function encodeCursor(...parts: Array<string | number>): string {
  return Buffer.from(JSON.stringify(parts)).toString('base64url');
}

/**
 * The key parts of a cursor this API returned, checked against `shape` (`'n'` a number, `'s'` a string).
 * @throws BadUserInputError for anything else
 */
export function decodeCursor(cursor: string, shape: ReadonlyArray<'n' | 's'>): Array<string | number> {
  let parts: unknown;
  try {
    parts = JSON.parse(Buffer.from(cursor, 'base64url').toString());
  } catch {
    parts = undefined;
  }
  const valid =
    Array.isArray(parts) &&
    parts.length === shape.length &&
    parts.every((part, i) => (shape[i] === 'n' ? Number.isInteger(part) : typeof part === 'string' && unstorableReason(part) === undefined));
  if (!valid) throw new BadUserInputError('invalid cursor', [{ path: '/after', message: 'is not a cursor this API returned' }]);
  return parts as Array<string | number>;
}

/**
 * `first`, defaulted and checked.
 * @default 50
 * @throws BadUserInputError when outside 1…{@link MAX_PAGE_SIZE}, naming the value given
 */
export function pageSize(first: number | null | undefined, fallback = 50): number {
  const size = first ?? fallback;
  if (!Number.isInteger(size) || size < 1 || size > MAX_PAGE_SIZE) {
    throw new BadUserInputError('invalid page size', [{ path: '/first', message: `must be between 1 and ${MAX_PAGE_SIZE}, got ${size}` }]);
  }
  return size;
}

/** A connection from `rows` fetched with `limit: size + 1` (the extra row says there is a next page). */
export function connection<Row, Node>(rows: Row[], size: number, cursorOf: (row: Row) => string, nodeOf: (row: Row) => Node) {
  const page = rows.slice(0, size);
  return {
    edges: page.map((row) => ({ cursor: cursorOf(row), node: nodeOf(row) })),
    pageInfo: { hasNextPage: rows.length > size, endCursor: page.length > 0 ? cursorOf(page[page.length - 1]!) : null },
  };
}
