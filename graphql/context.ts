import type { Kysely } from 'kysely';
import type { Database } from '../src/db/database';
import type { RunService } from '../src/runs/run.service';
import type { SecretStore } from '../src/secrets/secret-store';
import type { StepTypeDefinition } from '../src/step-types/define-step-type';
import type { AuditEventHub } from './audit-event-hub';

/** What resolvers use; one instance per API process. */
export type ApiServices = {
  db: Kysely<Database>;
  runs: RunService;
  hub: AuditEventHub;
  secrets: SecretStore;
  /** Custom step types definitions may use (checked at save). */
  stepTypes: readonly StepTypeDefinition[];
  temporal: { namespace: string; uiUrl: string | undefined };
};

/** Per-request context: the services and the tenant the caller acts for. */
export type GraphQLContext = ApiServices & { tenantId: string };
