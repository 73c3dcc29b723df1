import { DEFAULT_MAX_DEFINITION_BYTES } from '../definition/definition-validator';
import type { DefinitionRow, DefinitionVersionRow } from '../src/db/database';
import { archiveDefinition, findDefinition, findVersion, listDefinitions, listVersions } from '../src/db/definitions.repository';
import { BadUserInputError, NotFoundError } from '../src/errors';
import { checkDefinitionForTenant, definitionChecks, saveDefinition } from '../src/definitions/definition.service';
import { isDocumentSyntaxError } from '../src/support/document-syntax-error';
import { parseDocumentText, type DocumentTextOptions } from '../src/support/document-text';
import type { GraphQLContext } from './context';
import { connection, decodeCursor, encodeCursor, pageSize } from './pagination';

const versionNode = (row: DefinitionVersionRow) => ({
  name: row.name,
  version: row.version,
  contentHash: row.content_hash,
  spec: row.spec,
  createdAt: row.created_at,
});

const definitionNode = (row: DefinitionRow) => ({
  name: row.name,
  description: row.description,
  latestVersion: row.latest_version,
  archived: row.archived_at !== null,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
});

type DefinitionNode = ReturnType<typeof definitionNode>;

/**
 * What a definition's YAML text may be, so that parsing it stays under a second: no longer than
 * the largest definition (the validator's size limit), and at most 25,000 tokens (the YAML parser
 * spends 10 µs on each in block style, 25 µs in dense flow style: 0.6 s of CPU at the limit; the
 * README's example holds 24 per step, so this is room for about 1,000 such steps, twice the step
 * limit). A JSON text has neither limit.
 */
export const SPEC_TEXT_LIMITS: DocumentTextOptions = Object.freeze({ maxYamlLength: DEFAULT_MAX_DEFINITION_BYTES, maxYamlTokens: 25_000 });

/**
 * A `spec: JSON!` argument as a document: a string is the definition's YAML or JSON text (what
 * a client read from a file), anything else is the document itself.
 * @throws BadUserInputError with the syntax error at path "" (the text's line and column in its message)
 */
export function specDocument(spec: unknown): unknown {
  if (typeof spec !== 'string') return spec;
  try {
    return parseDocumentText(spec, undefined, SPEC_TEXT_LIMITS);
  } catch (err) {
    if (!isDocumentSyntaxError(err)) throw err;
    throw new BadUserInputError(`spec is not valid ${err.format}`, [{ path: '', message: err.message }]);
  }
}

/**
 * {@link specDocument}, with a text parsed in its own turn of the event loop, queued with the
 * definition checks (YAML of 256 KiB takes 100 ms or more).
 */
export function readSpecDocument(spec: unknown): Promise<unknown> {
  return typeof spec === 'string' ? definitionChecks.run(() => specDocument(spec)) : Promise.resolve(spec);
}

export const definitionsResolvers = {
  Query: {
    async definitions(
      _: unknown,
      args: { first?: number | null; after?: string | null; search?: string | null; includeArchived?: boolean | null },
      ctx: GraphQLContext,
    ) {
      const size = pageSize(args.first);
      const rows = await listDefinitions(ctx.db, ctx.tenantId, {
        afterName: args.after ? (decodeCursor(args.after, ['s'])[0] as string) : undefined,
        search: args.search ?? undefined,
        includeArchived: args.includeArchived ?? false,
        limit: size + 1,
      });
      return connection(rows, size, (row) => encodeCursor(row.name), definitionNode);
    },
    async definition(_: unknown, args: { name: string }, ctx: GraphQLContext) {
      const row = await findDefinition(ctx.db, ctx.tenantId, args.name);
      return row && definitionNode(row);
    },
    async validateDefinition(_: unknown, args: { spec: unknown }, ctx: GraphQLContext) {
      const result = await checkDefinitionForTenant(ctx.db, ctx.tenantId, await readSpecDocument(args.spec), { stepTypes: ctx.stepTypes, taskQueues: ctx.services.taskQueues });
      return { valid: result.valid, errors: result.errors };
    },
  },
  Mutation: {
    async archiveDefinition(_: unknown, args: { name: string }, ctx: GraphQLContext) {
      const row = await archiveDefinition(ctx.db, ctx.tenantId, args.name);
      if (!row) throw new NotFoundError(`definition "${args.name}"`);
      return definitionNode(row);
    },
    async saveDefinition(_: unknown, args: { spec: unknown }, ctx: GraphQLContext) {
      const { row } = await saveDefinition(ctx.db, ctx.tenantId, await readSpecDocument(args.spec), { stepTypes: ctx.stepTypes, taskQueues: ctx.services.taskQueues });
      return versionNode(row);
    },
  },
  Definition: {
    async version(parent: DefinitionNode, args: { version?: number | null }, ctx: GraphQLContext) {
      const row = await findVersion(ctx.db, ctx.tenantId, parent.name, args.version ?? 'latest');
      return row && versionNode(row);
    },
    async versions(parent: DefinitionNode, _: unknown, ctx: GraphQLContext) {
      return (await listVersions(ctx.db, ctx.tenantId, parent.name)).map(versionNode);
    },
  },
};
