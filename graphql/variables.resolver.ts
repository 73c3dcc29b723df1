import { isPrototypeKey } from '../definition/prototype-keys';
import { VARIABLE_NAME_PATTERN } from '../definition/variables';
import { deleteVariable, listVariables, setVariable } from '../src/db/variables.repository';
import { BadUserInputError } from '../src/errors';
import { MAX_VARIABLE_CHARS } from '../src/variables/pin-variables';
import type { GraphQLContext } from './context';

/** @throws BadUserInputError at `/name` for a name `$var('NAME')` cannot read */
function checkName(name: string): void {
  if (!VARIABLE_NAME_PATTERN.test(name)) {
    throw new BadUserInputError(`invalid variable name ${JSON.stringify(name)}`, [
      { path: '/name', message: 'use a letter or "_" then letters, digits or "_", at most 128 characters' },
    ]);
  }
  if (isPrototypeKey(name)) {
    throw new BadUserInputError(`invalid variable name ${JSON.stringify(name)}`, [
      { path: '/name', message: `"${name}" is a name every JavaScript object has (Object.prototype.${name}): use another name` },
    ]);
  }
}

export const variablesResolvers = {
  Query: {
    variables(_: unknown, _args: unknown, ctx: GraphQLContext) {
      return listVariables(ctx.db, ctx.tenantId);
    },
  },
  Mutation: {
    async setVariable(_: unknown, args: { name: string; value: unknown }, ctx: GraphQLContext) {
      checkName(args.name);
      if (args.value === null || args.value === undefined) {
        throw new BadUserInputError(`variable "${args.name}" needs a value`, [{ path: '/value', message: 'is null: delete the variable instead' }]);
      }
      const size = JSON.stringify(args.value).length;
      if (size > MAX_VARIABLE_CHARS) {
        throw new BadUserInputError(`variable "${args.name}" is too large`, [{ path: '/value', message: `is ${size} characters of JSON; at most ${MAX_VARIABLE_CHARS}` }]);
      }
      await setVariable(ctx.db, ctx.tenantId, args.name, args.value);
      return true;
    },
    deleteVariable(_: unknown, args: { name: string }, ctx: GraphQLContext) {
      checkName(args.name);
      return deleteVariable(ctx.db, ctx.tenantId, args.name);
    },
  },
};
