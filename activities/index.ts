import type { Kysely } from 'kysely';
import type { Database } from '../src/db/database';
import type { GuardedFetch } from '../src/net/guarded-fetch';
import type { StepTypeDefinition } from '../src/step-types/define-step-type';
import { createAuditActivities } from './audit.activity';
import { createCustomStepActivity } from './custom-step.activity';
import type { SecretResolver } from './deferred-values';
import { createHttpActivity } from './http.activity';
import { checkJsonSchema } from './json-schema.activity';

export type ActivityDependencies = {
  db: Kysely<Database>;
  /** Resolves `$secret()` for http and custom steps; without it such steps fail. */
  secrets?: SecretResolver;
  /** Custom step types this worker runs. */
  stepTypes?: readonly StepTypeDefinition[];
  /** The egress-guarded HTTP client (SPEC §7b) every step that calls out uses. */
  fetch: GuardedFetch;
};

/** Every activity the interpreter calls, bound to their dependencies. */
export function createActivities({ db, secrets, stepTypes = [], fetch }: ActivityDependencies) {
  return {
    httpRequest: createHttpActivity(secrets, fetch),
    runCustomStep: createCustomStepActivity(stepTypes, secrets, fetch),
    checkJsonSchema,
    ...createAuditActivities(db),
  };
}

export type Activities = ReturnType<typeof createActivities>;
