import type { Kysely } from 'kysely';
import type { AuditEventInput } from '../interpreter/run-types';
import { recordAuditEvent } from '../src/db/audit.repository';
import type { Database } from '../src/db/database';
import type { RunVerifier } from '../src/runs/run-verifier';
import { sha256OfJson } from '../src/support/canonical-json';
import { currentExecution, verifyOrFail } from './verified-activity';

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
 * The audit sink, run as a local activity: persists the event (idempotent on what it records, see eventKey) and
 * projects it onto the run index before the interpreter moves on. It retries without limit, so a
 * PostgreSQL outage pauses runs instead of failing them. It writes only for runs the verifier
 * confirms (a refusal fails the run, not retried); it never creates a top-level run's row, and
 * creates a child run's only once Temporal confirms its parent (see `RunVerifier.verifyStart`).
 */
export function createAuditActivities(db: Kysely<Database>, verifier: RunVerifier) {
  return {
    async recordAuditEvent(event: AuditEventInput): Promise<void> {
      const execution = currentExecution();
      const claim = { tenantId: event.tenantId, runId: event.runId };
      await verifyOrFail(() => (event.type === 'RUN_STARTED' ? verifier.verifyStart(execution, event) : verifier.verify(execution, claim)));
      const { input, output, ...rest } = event;
      await recordAuditEvent(db, {
        ...rest,
        inputHash: input === undefined ? undefined : sha256OfJson(input),
        output: snapshot(output),
        stepOutput: output,
      });
    },
  };
}
