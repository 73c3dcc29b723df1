import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import type { Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';

/** Search attributes every run carries, so the Temporal Web UI can filter runs. */
export const SEARCH_ATTRIBUTES = {
  definition: defineSearchAttributeKey('TrellisDefinition', SearchAttributeType.KEYWORD),
  version: defineSearchAttributeKey('TrellisVersion', SearchAttributeType.INT),
  tenant: defineSearchAttributeKey('TrellisTenant', SearchAttributeType.KEYWORD),
  trigger: defineSearchAttributeKey('TrellisTrigger', SearchAttributeType.KEYWORD),
} as const;

/** The same attributes in the `Name=Type` form of `temporal server start-dev --search-attribute`. */
export const SEARCH_ATTRIBUTE_FLAGS: Record<string, 'Keyword' | 'Int'> = {
  TrellisDefinition: 'Keyword',
  TrellisVersion: 'Int',
  TrellisTenant: 'Keyword',
  TrellisTrigger: 'Keyword',
};

const INDEXED_TYPES = { Keyword: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD, Int: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_INT };

/**
 * Registers the search attributes that `namespace` lacks (an existing cluster, where the embedded
 * server's start flags do not apply). Attributes already present are left alone.
 */
export async function ensureSearchAttributes(connection: Connection, namespace: string): Promise<void> {
  const existing = await connection.operatorService.listSearchAttributes({ namespace });
  const known = new Set(Object.keys(existing.customAttributes ?? {}));
  const missing = Object.entries(SEARCH_ATTRIBUTE_FLAGS).filter(([name]) => !known.has(name));
  if (missing.length === 0) return;
  await connection.operatorService.addSearchAttributes({
    namespace,
    searchAttributes: Object.fromEntries(missing.map(([name, type]) => [name, INDEXED_TYPES[type]])),
  });
}
