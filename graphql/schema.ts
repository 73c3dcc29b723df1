import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { makeExecutableSchema } from '@graphql-tools/schema';
import type { GraphQLSchema } from 'graphql';
import { apiKeysResolvers } from './api-keys.resolver';
import { withArgumentChecks } from './argument-guard';
import { definitionsResolvers } from './definitions.resolver';
import { runsResolvers } from './runs.resolver';
import { secretsResolvers } from './secrets.resolver';
import { variablesResolvers } from './variables.resolver';
import { DateTimeScalar, JSONScalar } from './scalars';

/** The SDL files of this folder, in name order. */
export function loadTypeDefs(): string {
  return readdirSync(__dirname)
    .filter((file) => file.endsWith('.graphql'))
    .sort()
    .map((file) => readFileSync(path.join(__dirname, file), 'utf8'))
    .join('\n');
}

/** The resolvers of every SDL file, by type and field. */
export const RESOLVERS = [{ JSON: JSONScalar, DateTime: DateTimeScalar }, definitionsResolvers, runsResolvers, secretsResolvers, variablesResolvers, apiKeysResolvers];

/** The executable schema: SDL from `graphql/*.graphql`, resolvers from this folder. */
export function createSchema(): GraphQLSchema {
  return makeExecutableSchema({
    typeDefs: loadTypeDefs(),
    // Every argument is checked (depth, values PostgreSQL cannot store) before a resolver runs.
    resolvers: RESOLVERS.map(withArgumentChecks),
    // A resolver for a field the SDL lacks fails at start-up; test/unit/graphql-schema.test.ts
    // checks the other way round (every root field and every field with arguments is served).
    resolverValidationOptions: { requireResolversToMatchSchema: 'error' },
  });
}
