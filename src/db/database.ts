import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely';
import type { ChainLink } from '../../interpreter/run-types';

/** A JSON column: read as parsed JSON, written as a JSON string (pg serialises objects itself). */
type Json<T = unknown> = ColumnType<T, string, string>;
type Timestamp = ColumnType<Date, Date | string, Date | string>;
type NullableTimestamp = ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
/** A timestamp the database fills in on insert (`default now()`). */
type DefaultedTimestamp = ColumnType<Date, Date | string | undefined, Date | string>;

export interface DefinitionsTable {
  tenant_id: string;
  name: string;
  latest_version: number;
  description: string | null;
  archived_at: NullableTimestamp;
  created_at: DefaultedTimestamp;
  updated_at: DefaultedTimestamp;
}

export interface DefinitionVersionsTable {
  tenant_id: string;
  name: string;
  version: number;
  /** SHA-256 of the canonical JSON of `spec`. */
  content_hash: string;
  spec: Json;
  created_at: DefaultedTimestamp;
}

/** Which steps of the retried run a retry reuses (with their outputs) and which it runs again. */
export type RetryPlan = { fromStep: string | null; reused: Array<{ stepId: string; output: unknown }>; rerun: string[] };

export interface RunsTable {
  id: string;
  tenant_id: string;
  definition_name: string;
  definition_version: number;
  status: string;
  input: Json;
  output: Json | null;
  error: Json | null;
  trigger: Json;
  idempotency_key: string | null;
  workflow_id: string;
  /**
   * The Temporal execution the run is: the first, or the latest reset of it Trellis accepted
   * (see run-resets.ts). Activities act only for this execution.
   */
  temporal_run_id: string | null;
  /** Resets in Temporal the run has taken; the events of each reset's execution carry it in their key. */
  reset_count: Generated<number>;
  /** The run this one retries; null once retention has deleted that run. */
  retry_of: string | null;
  /** Sub-workflow versions the run pinned, by reference (`send-invoice@latest` → 3); null before retries existed. */
  pinned_versions: ColumnType<Record<string, number> | null, string | null | undefined, string | null>;
  /** How a run started by `retryRun` reuses the run it retries. */
  retry_plan: ColumnType<RetryPlan | null, string | null | undefined, string | null>;
  /** The variables the run read (`$var`), pinned when it started, by name; null for runs started before variables existed. */
  variables: ColumnType<Record<string, unknown> | null, string | null | undefined, string | null>;
  /** The unsaved definition of a `testRun` (whose version is 0); null for every other run. */
  spec: ColumnType<unknown, string | null | undefined, string | null>;
  /** The runs and events that led to this run (loop prevention, see `trigger-chain.ts`); null for none. */
  chain: ColumnType<ChainLink[] | null, string | null | undefined, string | null>;
  started_at: Timestamp;
  finished_at: NullableTimestamp;
  updated_at: DefaultedTimestamp;
}

export interface ApiKeysTable {
  id: string;
  tenant_id: string;
  name: string;
  admin: Generated<boolean>;
  /** SHA-256 (hex) of the key; the key itself is shown once and never stored. */
  key_hash: string;
  /** The key's first characters, to tell keys apart in lists. */
  key_prefix: string;
  created_at: DefaultedTimestamp;
  revoked_at: NullableTimestamp;
}
export type ApiKeyRow = Selectable<ApiKeysTable>;

export interface RunStepsTable {
  run_id: string;
  step_id: string;
  tenant_id: string;
  type: string;
  status: string;
  attempts: Generated<number>;
  started_at: NullableTimestamp;
  finished_at: NullableTimestamp;
  /** The resolved input of the latest attempt, capped like output snapshots; null before it starts. */
  input: ColumnType<unknown, string | null | undefined, string | null>;
  output: Json | null;
  error: Json | null;
  /** A map step's items, from its latest STEP_STARTED; null for other steps. */
  items_total: ColumnType<number | null, number | null | undefined, number | null>;
  /** A map step's items finished (per batch workflow, and all once it succeeded). */
  items_done: ColumnType<number | null, number | null | undefined, number | null>;
}

export interface AuditEventsTable {
  run_id: string;
  seq: number;
  tenant_id: string;
  at: Timestamp;
  type: string;
  step_id: string | null;
  attempt: number | null;
  input_hash: string | null;
  output: Json | null;
  error: Json | null;
  message: string | null;
  /** A LOG event's level (debug, info, warn, error); null on every other event. */
  level: string | null;
  actor: Json;
  /** What the event records (see eventKey); unique per run, so a redone event is not written twice. */
  event_key: string;
  /** A final event of a workflow task that was aborted and redone: kept, but no longer final. */
  superseded: Generated<boolean>;
}

export interface SecretsTable {
  tenant_id: string;
  name: string;
  /** AES-256-GCM ciphertext of the value; `<tenant>/<name>` is its additional authenticated data. */
  ciphertext: Buffer;
  iv: Buffer;
  auth_tag: Buffer;
  created_at: DefaultedTimestamp;
  updated_at: DefaultedTimestamp;
}

/** A webhook: a URL that starts runs of one definition for senders who sign with its secret. */
export interface WebhooksTable {
  id: string;
  tenant_id: string;
  definition_name: string;
  /** JSONata on `$body` giving the run's input; null: the body is the input. */
  input: string | null;
  /** The signing secret, AES-256-GCM under the secret store's key (`webhook/<tenant>/<id>` as additional data). */
  secret_ciphertext: Buffer;
  secret_iv: Buffer;
  secret_tag: Buffer;
  /** The secret before the last rotation, still accepted until `previous_expires_at`. */
  previous_ciphertext: Buffer | null;
  previous_iv: Buffer | null;
  previous_tag: Buffer | null;
  previous_expires_at: NullableTimestamp;
  created_at: DefaultedTimestamp;
  rotated_at: NullableTimestamp;
}
export type WebhookRow = Selectable<WebhooksTable>;

/** One request to a webhook's URL and how it was answered. */
export interface WebhookDeliveriesTable {
  id: string;
  tenant_id: string;
  webhook_id: string;
  received_at: Timestamp;
  status_code: number;
  latency_ms: number;
  run_id: string | null;
  /** `{message, errors?}` when the answer was not 202. */
  error: Json | null;
  idempotency_key: string | null;
  /** SHA-256 (hex) of the signed content `<t>.<raw body>`, once the signature checked out. */
  signed_digest: string | null;
  chain: ColumnType<ChainLink[] | null, string | null | undefined, string | null>;
}
export type WebhookDeliveryRow = Selectable<WebhookDeliveriesTable>;

/** An event a tenant published; the dispatcher starts its triggers' runs until it is DISPATCHED. */
export interface EventsTable {
  tenant_id: string;
  id: string;
  type: string;
  payload: Json;
  /** SHA-256 of the canonical JSON of `{type, payload}`: the same id with another event is a conflict. */
  payload_hash: string;
  chain: ColumnType<ChainLink[] | null, string | null | undefined, string | null>;
  published_at: Timestamp;
  /** `PENDING` until every matching trigger has fired or been refused, then `DISPATCHED`. */
  status: string;
  attempts: Generated<number>;
  next_attempt_at: Timestamp;
  dispatched_at: NullableTimestamp;
  last_error: string | null;
}
export type EventRow = Selectable<EventsTable>;

/** An event trigger: runs a definition for every event of a type its filter accepts. */
export interface TriggersTable {
  id: string;
  tenant_id: string;
  event_type: string;
  /** JSONata on `$event`; null: every event of the type. */
  filter: string | null;
  definition_name: string;
  /** JSONata on `$event` giving the run's input; null: the event's payload. */
  input: string | null;
  created_at: DefaultedTimestamp;
}
export type TriggerRow = Selectable<TriggersTable>;

/** What one trigger did with one event: the run it started, or why it refused. */
export interface TriggerFiringsTable {
  tenant_id: string;
  event_id: string;
  trigger_id: string;
  /** `STARTED` or `REFUSED`. */
  status: string;
  run_id: string | null;
  reason: string | null;
  at: Timestamp;
}
export type TriggerFiringRow = Selectable<TriggerFiringsTable>;

/** A schedule: what each fire of its Temporal Schedule (`<tenant>/<definition>/<id>`) runs. */
export interface SchedulesTable {
  id: string;
  tenant_id: string;
  definition_name: string;
  cron: string | null;
  every: string | null;
  timezone: string | null;
  input: Json;
  /** `SKIP`, `BUFFER_ONE` or `ALLOW_ALL`. */
  overlap: string;
  paused: Generated<boolean>;
  created_at: DefaultedTimestamp;
  /** Why the last fire started no run (the definition archived, its input schema changed…). */
  last_error: string | null;
  last_error_at: NullableTimestamp;
}
export type ScheduleRow = Selectable<SchedulesTable>;
/** A tenant's variable: a non-secret JSON value definitions read with `$var('NAME')`. */
export interface VariablesTable {
  tenant_id: string;
  name: string;
  value: Json;
  created_at: DefaultedTimestamp;
  updated_at: DefaultedTimestamp;
}

/**
 * The one row saying whether API keys are required (see the api-key-events migration): set when
 * the first key is created, and kept when every key is revoked.
 */
export interface ApiKeyModeTable {
  only_row: Generated<boolean>;
  keys_required_since: NullableTimestamp;
}

/** Every table Trellis owns; each row carries the `tenant_id` it belongs to, but `api_key_mode`'s. */
export interface Database {
  api_key_mode: ApiKeyModeTable;
  definitions: DefinitionsTable;
  definition_versions: DefinitionVersionsTable;
  runs: RunsTable;
  api_keys: ApiKeysTable;
  run_steps: RunStepsTable;
  audit_events: AuditEventsTable;
  secrets: SecretsTable;
  webhooks: WebhooksTable;
  webhook_deliveries: WebhookDeliveriesTable;
  events: EventsTable;
  triggers: TriggersTable;
  trigger_firings: TriggerFiringsTable;
  schedules: SchedulesTable;
  variables: VariablesTable;
}

export type DefinitionRow = Selectable<DefinitionsTable>;
export type DefinitionVersionRow = Selectable<DefinitionVersionsTable>;
export type RunRow = Selectable<RunsTable>;
export type NewRun = Insertable<RunsTable>;
export type RunUpdate = Updateable<RunsTable>;
export type RunStepRow = Selectable<RunStepsTable>;
export type AuditEventRow = Selectable<AuditEventsTable>;
