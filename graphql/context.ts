import type { Client } from '@temporalio/client';
import type { Kysely } from 'kysely';
import type { Actor } from '../interpreter/run-types';
import type { Caller } from '../src/api/authenticate';
import type { TriggerSettings } from '../src/config';
import type { Database } from '../src/db/database';
import type { TenantDatabases } from '../src/db/tenant-database';
import { RunService } from '../src/runs/run.service';
import type { EnvironmentSecrets } from '../src/secrets/environment-secrets';
import type { SealedValues } from '../src/secrets/sealed-values';
import { SecretStore } from '../src/secrets/secret-store';
import type { TriggerChains } from '../src/triggers/trigger-chain';
import { EventService } from '../src/triggers/event.service';
import { ScheduleService } from '../src/triggers/schedule.service';
import { TriggerService } from '../src/triggers/trigger.service';
import { WebhookService } from '../src/triggers/webhook.service';
import type { StepTypeDefinition } from '../src/step-types/define-step-type';
import type { TaskQueuePolicy } from '../definition/task-queues';
import type { AuditEventHub } from './audit-event-hub';

/** What an API process shares between requests. */
export type ApiServices = {
  /** The database as Trellis's owner role sees it: API key lookups only. */
  db: Kysely<Database>;
  /** The database as each tenant sees it, under row-level security. */
  tenants: TenantDatabases;
  client: Client;
  /** Starts runs with eager workflow start, where a worker shares this process (see `RunServiceOptions.starter`). @default none */
  starter?: Client;
  taskQueue: string;
  hub: AuditEventHub;
  secrets: { key: Buffer; environment: EnvironmentSecrets };
  /** Custom step types definitions may use (checked at save). */
  stepTypes: readonly StepTypeDefinition[];
  /** The task queues steps may name and the queue of each step type (checked at save, pinned in runs). @default none */
  taskQueues?: TaskQueuePolicy;
  temporal: { namespace: string; uiUrl: string | undefined };
  /** Runs a tenant may have in flight (RunService). @default 1000 */
  maxRunsInFlight?: number;
  /** Webhooks, event triggers and schedules: their settings, the chain checks, webhook secrets' sealing. */
  triggers: { settings: Readonly<TriggerSettings>; chains: TriggerChains; sealed: SealedValues };
};

/** What a request says besides its operation: its `Trellis-Chain` and the base URL it reached the API at. */
export type RequestFacts = {
  /** The request's (or the socket's connection parameters') `Trellis-Chain`, unparsed. */
  chainHeader?: string | readonly string[];
  /** `<protocol>://<host>` of the request, for webhook URLs when `TRELLIS_PUBLIC_URL` is not set. */
  baseUrl?: string;
};

/** A RunService of one tenant's database, as every entry point builds it. */
export function runServiceFor(services: ApiServices, db: Kysely<Database>): RunService {
  return new RunService({
    db,
    client: services.client,
    taskQueue: services.taskQueue,
    stepTypes: services.stepTypes,
    ...(services.taskQueues ? { taskQueues: services.taskQueues } : {}),
    maxRunsInFlight: services.maxRunsInFlight,
    chains: services.triggers.chains,
    startTimeoutMs: services.triggers.settings.startTimeoutMs,
    starter: services.starter,
  });
}

/**
 * Per-request context. `db` and everything built on it see only the caller's tenant (row-level
 * security), so a resolver that forgot a tenant condition still could not reach another tenant.
 */
export type GraphQLContext = {
  tenantId: string;
  caller: Caller;
  /** Recorded as the trigger of runs this request starts, and on cancellations and signals. */
  actor: Actor;
  db: Kysely<Database>;
  runs: RunService;
  secrets: SecretStore;
  hub: AuditEventHub;
  stepTypes: readonly StepTypeDefinition[];
  temporal: { namespace: string; uiUrl: string | undefined };
  services: ApiServices;
  request: RequestFacts;
  webhooks: WebhookService;
  schedules: ScheduleService;
  triggers: TriggerService;
  events: EventService;
};

export function contextFor(services: ApiServices, caller: Caller, request: RequestFacts = {}): GraphQLContext {
  const db = services.tenants.for(caller.tenantId);
  const { settings, sealed } = services.triggers;
  const runs = runServiceFor(services, db);
  return {
    tenantId: caller.tenantId,
    caller,
    actor: { type: 'api', id: caller.keyId ?? caller.tenantId },
    db,
    runs,
    secrets: new SecretStore(db, services.secrets.key, services.secrets.environment),
    hub: services.hub,
    stepTypes: services.stepTypes,
    temporal: services.temporal,
    services,
    request,
    webhooks: new WebhookService({ db, sealed, secretOverlapMs: settings.secretOverlapMs }),
    schedules: new ScheduleService({ db, client: services.client, taskQueue: services.taskQueue }),
    triggers: new TriggerService(db),
    events: new EventService({ db, runs }),
  };
}
