import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/**
 * Search attributes every run carries, so the Temporal Web UI can filter runs. Defined here,
 * with the workflow code, because the interpreter tags the child runs it starts.
 */
export const SEARCH_ATTRIBUTES = {
  definition: defineSearchAttributeKey('TrellisDefinition', SearchAttributeType.KEYWORD),
  version: defineSearchAttributeKey('TrellisVersion', SearchAttributeType.INT),
  tenant: defineSearchAttributeKey('TrellisTenant', SearchAttributeType.KEYWORD),
  trigger: defineSearchAttributeKey('TrellisTrigger', SearchAttributeType.KEYWORD),
} as const;
