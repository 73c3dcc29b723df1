import type { Kysely } from 'kysely';
import type { Database } from '../src/db/database';
import type { GuardedFetch } from '../src/net/guarded-fetch';
import type { RunService } from '../src/runs/run.service';
import type { RunVerifier, VerifiedRun } from '../src/runs/run-verifier';
import type { TriggerChains } from '../src/triggers/trigger-chain';
import type { StepTypeDefinition } from '../src/step-types/define-step-type';
import type { CodeSandbox } from '../src/code-steps/code-sandbox';
import { createAuditActivities } from './audit.activity';
import { createCodeStepActivity } from './code-step.activity';
import { createCustomStepActivity } from './custom-step.activity';
import type { SecretResolver } from './deferred-values';
import { createHttpActivity } from './http.activity';
import { checkJsonSchema } from './json-schema.activity';
import { createRetentionActivities, type RetentionSettings } from './retention.activity';
import { createScheduleFireActivities } from './schedule-fire.activity';
import { verifiedActivity } from './verified-activity';

export type ActivityDependencies = {
  db: Kysely<Database>;
  /** Checks that a run acting for a tenant was started by Trellis, before anything is done for it. */
  verifier: RunVerifier;
  /** Resolves `$secret()` for http and custom steps; without it such steps fail. */
  secrets?: SecretResolver;
  /** Custom step types this worker runs. */
  stepTypes?: readonly StepTypeDefinition[];
  /** The egress-guarded HTTP client (SPEC §7b) every step that calls out uses. */
  fetch: GuardedFetch;
  /** What the retention job deletes (`TRELLIS_RETENTION_DAYS`). @default retention off */
  retention?: RetentionSettings;
  /** Makes the `Trellis-Chain` header every `http` request carries; without it none is sent. */
  chains?: TriggerChains;
  /** Records the runs of schedule fires (with the owner's database); without it fires fail. */
  runs?: RunService;
  /** Runs code steps (with the configured limits). */
  code: CodeSandbox;
};

/** Every activity the interpreter calls, bound to their dependencies. */
export function createActivities({ db, verifier, secrets, stepTypes = [], fetch, retention = { days: 0, batchSize: 10_000 }, chains, runs, code }: ActivityDependencies) {
  const chainHeaderOf = chains && ((run: VerifiedRun) => chains.encode([...run.chain, chains.linkOf(run.tenantId, run.definition, run.id)]));
  return {
    httpRequest: verifiedActivity(verifier, createHttpActivity(secrets, fetch, chainHeaderOf), (request) => ({ tenantId: request.tenantId })),
    runCustomStep: verifiedActivity(verifier, createCustomStepActivity(stepTypes, secrets, fetch), (call) => ({ tenantId: call.tenantId, runId: call.runId })),
    runCodeStep: verifiedActivity(verifier, createCodeStepActivity(code), (call) => ({ tenantId: call.tenantId, runId: call.runId })),
    // Pure: reads its input only, for no tenant.
    checkJsonSchema,
    ...createAuditActivities(db, verifier),
    // For no tenant: deletes what the worker's configuration says, whatever started it.
    ...createRetentionActivities(db, retention),
    ...createScheduleFireActivities(db, verifier, runs),
  };
}

export type Activities = ReturnType<typeof createActivities>;
