import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely';

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
  temporal_run_id: string | null;
  retry_of: string | null;
  /** Sub-workflow versions the run pinned, by reference (`send-invoice@latest` → 3); null before retries existed. */
  pinned_versions: ColumnType<Record<string, number> | null, string | null | undefined, string | null>;
  /** How a run started by `retryRun` reuses the run it retries. */
  retry_plan: ColumnType<RetryPlan | null, string | null | undefined, string | null>;
  /** The variables the run read (`$var`), pinned when it started, by name; null for runs started before variables existed. */
  variables: ColumnType<Record<string, unknown> | null, string | null | undefined, string | null>;
  /** The unsaved definition of a `testRun` (whose version is 0); null for every other run. */
  spec: ColumnType<unknown, string | null | undefined, string | null>;
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
  actor: Json;
  /** What the event records (see eventKey); unique per run, so a redone event is not written twice. */
  event_key: string;
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
  variables: VariablesTable;
}

export type DefinitionRow = Selectable<DefinitionsTable>;
export type DefinitionVersionRow = Selectable<DefinitionVersionsTable>;
export type RunRow = Selectable<RunsTable>;
export type NewRun = Insertable<RunsTable>;
export type RunUpdate = Updateable<RunsTable>;
export type RunStepRow = Selectable<RunStepsTable>;
export type AuditEventRow = Selectable<AuditEventsTable>;
