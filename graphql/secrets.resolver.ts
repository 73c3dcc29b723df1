import { isPrototypeKey } from '../definition/prototype-keys';
import { BadUserInputError } from '../src/errors';
import { MAX_SECRET_BYTES, SECRET_NAME_PATTERN } from '../src/secrets/secret-store';
import type { GraphQLContext } from './context';

function checkName(name: string): void {
  if (!SECRET_NAME_PATTERN.test(name)) {
    throw new BadUserInputError(`invalid secret name ${JSON.stringify(name)}`, [
      { path: '/name', message: 'use a letter or "_" then letters, digits or "_", at most 128 characters' },
    ]);
  }
  if (isPrototypeKey(name)) {
    throw new BadUserInputError(`invalid secret name ${JSON.stringify(name)}`, [
      { path: '/name', message: `"${name}" is a name every JavaScript object has (Object.prototype.${name}): use another name` },
    ]);
  }
}

export const secretsResolvers = {
  Query: {
    secrets(_: unknown, _args: unknown, ctx: GraphQLContext) {
      return ctx.secrets.list(ctx.tenantId);
    },
  },
  Mutation: {
    async setSecret(_: unknown, args: { name: string; value: string }, ctx: GraphQLContext) {
      checkName(args.name);
      if (Buffer.byteLength(args.value) > MAX_SECRET_BYTES) {
        throw new BadUserInputError(`secret "${args.name}" is too large`, [{ path: '/value', message: `at most ${MAX_SECRET_BYTES} bytes` }]);
      }
      await ctx.secrets.set(ctx.tenantId, args.name, args.value);
      return true;
    },
    async deleteSecret(_: unknown, args: { name: string }, ctx: GraphQLContext) {
      checkName(args.name);
      return ctx.secrets.delete(ctx.tenantId, args.name);
    },
  },
};
