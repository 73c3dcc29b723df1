import { ApplicationFailure } from '@temporalio/common';
import type { Kysely } from 'kysely';
import { toStorableJson } from '../definition/storable-json';
import { AUDIT_WRITE_REFUSED, type AuditEventInput, type StepProgress } from '../interpreter/run-types';
import { AuditBatchError, SupersededExecutionError, recordAuditEvents } from '../src/db/audit.repository';
import type { Database } from '../src/db/database';
import { permanentDatabaseError } from '../src/db/database-error';
import type { RunVerifier } from '../src/runs/run-verifier';
import { sha256OfJson } from '../src/support/canonical-json';
import { observeAuditEvent } from '../src/observability/audit-observer';
import { metrics } from '../src/observability/metrics';
import { DEFERRED_MARK } from '../interpreter/deferred-templates';
import { UNVERIFIED_RUN_FAILURE, currentExecution, verifyOrFail } from './verified-activity';

/** Output and error snapshots in the audit trail are cut past this many bytes of JSON. */
export const SNAPSHOT_LIMIT_BYTES = 16 * 1024;

/** A snapshot that was too large to keep whole. */
export type TruncatedSnapshot = { truncated: true; bytes: number; preview: string };

export function snapshot(value: unknown): unknown {
  if (value === undefined) return undefined;
  const text = JSON.stringify(value);
  if (text === undefined || text.length <= SNAPSHOT_LIMIT_BYTES) return value;
  return { truncated: true, bytes: Buffer.byteLength(text), preview: text.slice(0, SNAPSHOT_LIMIT_BYTES) } satisfies TruncatedSnapshot;
}

/**
 * A step's resolved input as people read it: strings the workflow left for the activity because
 * they read `$secret()` show as their template text (`Bearer {% $secret('PAY_TOKEN') %}`), never a
 * value, and the bindings those templates carry are dropped.
 */
export function presentableInput(input: unknown): unknown {
  if (input === null || typeof input !== 'object' || Array.isArray(input) || !('deferred' in input)) return input;
  const { deferred, ...rest } = input as { deferred?: { templates?: unknown } };
  const templates = Array.isArray(deferred?.templates) ? deferred.templates : [];
  const visit = (node: unknown): unknown => {
    if (typeof node === 'string' && node.startsWith(DEFERRED_MARK)) return templates[Number(node.slice(DEFERRED_MARK.length))] ?? '';
    if (Array.isArray(node)) return node.map(visit);
    if (node !== null && typeof node === 'object') return Object.fromEntries(Object.entries(node).map(([key, item]) => [key, visit(item)]));
    return node;
  };
  return visit(rest);
}

/**
 * The audit sink, run as a local activity: persists the event (idempotent on what it records, see
 * eventKey) and projects it onto the run index before the interpreter moves on.
 *
 * Values from outside (step outputs, HTTP bodies, error texts) are stored as PostgreSQL can
 * store them ({@link toStorableJson}: U+0000 and unpaired surrogates become U+FFFD); the run
 * itself keeps them exact, and `inputHash` is of the exact input. A failure retrying may cure
 * (PostgreSQL unreachable, restarting, out of resources, a deadlock) is thrown as is and retried
 * without limit, so an outage pauses runs instead of failing them; one it cannot (see
 * {@link permanentDatabaseError}) is thrown as a non-retryable {@link AUDIT_WRITE_REFUSED},
 * which ends the run FAILED. It writes only for runs the verifier confirms (a refusal fails the
 * run, not retried); it never creates a top-level run's row, and creates a child run's only once
 * Temporal confirms its parent (see `RunVerifier.verifyStart`).
 */
export function createAuditActivities(db: Kysely<Database>, verifier: RunVerifier) {
  return {
    async recordAuditEvent(event: AuditEventInput): Promise<void> {
      await recordEvents(db, verifier, [event]);
    },
    /**
     * Records the events one workflow activation emitted, in order, in one transaction (see
     * `recordAuditEvents`); as {@link recordAuditEvent} otherwise. A refusal names the refused
     * event's index in its details (`[{ index }]`); the batch is then stored not at all.
     */
    async recordAuditEvents(events: AuditEventInput[], progress: StepProgress[] = []): Promise<void> {
      await recordEvents(db, verifier, events, progress);
    },
  };
}

async function recordEvents(db: Kysely<Database>, verifier: RunVerifier, events: AuditEventInput[], progress: StepProgress[] = []): Promise<void> {
  const first = events[0] ?? progress[0];
  if (!first) return;
  const execution = currentExecution();
  const claim = { tenantId: first.tenantId, runId: first.runId };
  // Everything in a batch must belong to the run this execution verifies as.
  if ([...events, ...progress].some((event) => event.tenantId !== claim.tenantId || event.runId !== claim.runId)) {
    throw ApplicationFailure.nonRetryable('an audit batch mixes the events of several runs', AUDIT_WRITE_REFUSED);
  }
  const start = events.find((event) => event.type === 'RUN_STARTED');
  await verifyOrFail(() => (start ? verifier.verifyStart(execution, start) : verifier.verify(execution, claim)));
  let index = 0;
  const startedAt = process.hrtime.bigint();
  const seconds = () => Number(process.hrtime.bigint() - startedAt) / 1e9;
  try {
    const records = events.map((event, i) => {
      index = i;
      const { input, output, ...rest } = event;
      return toStorableJson({
        ...rest,
        inputHash: input === undefined ? undefined : sha256OfJson(input),
        output: snapshot(output),
        stepOutput: output,
        stepInput: rest.type === 'STEP_STARTED' ? snapshot(presentableInput(input)) : undefined,
        itemsTotal: rest.type === 'STEP_STARTED' && rest.stepType === 'map' ? mapItemCount(input) : undefined,
      });
    });
    // Checked again under the run's lock: a reset accepted since the check above replaced this execution.
    const written = await recordAuditEvents(db, records, progress, { temporalRunId: execution.runId });
    metrics.auditWriteDuration.observe({ outcome: written.some(Boolean) ? 'ok' : 'duplicate' }, seconds());
    // Once per event, whatever retries and redone workflow tasks send it again; off the run's
    // path (its reads cost the run nothing, and it never throws).
    for (const [i, isNew] of written.entries()) if (isNew) void observeAuditEvent(db, events[i]!);
  } catch (err) {
    metrics.auditWriteDuration.observe({ outcome: 'error' }, seconds());
    if (err instanceof SupersededExecutionError) throw ApplicationFailure.nonRetryable(`refused: ${err.message}`, UNVERIFIED_RUN_FAILURE);
    const cause = err instanceof AuditBatchError ? err.cause : err;
    if (err instanceof AuditBatchError) index = err.index;
    const reason = permanentDatabaseError(cause);
    if (reason === undefined) throw cause;
    throw ApplicationFailure.create({ message: reason, type: AUDIT_WRITE_REFUSED, nonRetryable: true, details: [{ index }] });
  }
}

/** How many items a map step's resolved input holds ({items, maxConcurrency}). */
function mapItemCount(input: unknown): number | undefined {
  const items = (input as { items?: unknown } | null | undefined)?.items;
  return Array.isArray(items) ? items.length : undefined;
}
