import type { Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { SEARCH_ATTRIBUTES } from '../../interpreter/search-attributes';

export { SEARCH_ATTRIBUTES };

const KEYS = Object.values(SEARCH_ATTRIBUTES);

// The CLI's spelling of each type, and the operator API's enum value for it.
const CLI_TYPE_NAMES = { KEYWORD: 'Keyword', INT: 'Int' } as const;
const INDEXED_TYPES = {
  KEYWORD: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
  INT: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_INT,
} as const;

/** The same attributes in the `Name=Type` form of `temporal server start-dev --search-attribute`. */
export const SEARCH_ATTRIBUTE_FLAGS: Record<string, 'Keyword' | 'Int'> = Object.fromEntries(
  KEYS.map((key) => [key.name, CLI_TYPE_NAMES[key.type]]),
);

/**
 * Registers the search attributes that `namespace` lacks (an existing cluster, where the embedded
 * server's start flags do not apply). Attributes already present are left alone.
 */
export async function ensureSearchAttributes(connection: Connection, namespace: string): Promise<void> {
  const existing = await connection.operatorService.listSearchAttributes({ namespace });
  const known = new Set(Object.keys(existing.customAttributes ?? {}));
  const missing = KEYS.filter((key) => !known.has(key.name));
  if (missing.length === 0) return;
  await connection.operatorService.addSearchAttributes({
    namespace,
    searchAttributes: Object.fromEntries(missing.map((key) => [key.name, INDEXED_TYPES[key.type]])),
  });
}
