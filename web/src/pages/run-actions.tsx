import { useState } from 'react';
import { GraphQLRequestError, request } from '../graphql';
import { Modal } from '../modal';
import { CANCEL_RUN, RETRY_RUN, SIGNAL_RUN } from '../queries';
import { navigate } from '../router';
import type { Run } from '../types';

const errorText = (error: unknown) => (error instanceof GraphQLRequestError ? error.message : String(error));

/** Cancel a running run, with a reason, after a confirmation. */
export function CancelDialog({ run, onClose }: { run: Run; onClose: () => void }) {
  const [reason, setReason] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const confirm = async () => {
    setBusy(true);
    try {
      await request(CANCEL_RUN, { id: run.id, reason: reason.trim() || null });
      onClose();
    } catch (err) {
      setError(errorText(err));
      setBusy(false);
    }
  };
  return (
    <Modal title="Cancel this run?" confirmLabel="Cancel the run" danger busy={busy} error={error} onConfirm={() => void confirm()} onCancel={onClose}>
      <p>Running steps are cancelled and every step that succeeded with a compensate action is rolled back, newest first.</p>
      <label className="block">
        Reason (recorded in the audit trail)
        <input name="reason" value={reason} onChange={(event) => setReason(event.target.value)} placeholder="e.g. customer called to cancel" />
      </label>
    </Modal>
  );
}

type Plan = { fromStep: string | null; reused: Array<{ stepId: string }>; rerun: string[] };

/** Retry a finished run: choose a step (or the failure point), see the dry-run plan, then start it. */
export function RetryDialog({ run, initialStep, onClose }: { run: Run; initialStep?: string | null; onClose: () => void }) {
  const [fromStep, setFromStep] = useState<string>(initialStep ?? '');
  const [plan, setPlan] = useState<Plan | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const variables = { id: run.id, fromStep: fromStep || null };
  const planRetry = async () => {
    setBusy(true);
    setError(null);
    try {
      const { retryRun } = await request<{ retryRun: { retryPlan: Plan } }>(RETRY_RUN, { ...variables, dryRun: true });
      setPlan(retryRun.retryPlan);
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };
  const start = async () => {
    setBusy(true);
    try {
      const { retryRun } = await request<{ retryRun: { id: string } }>(RETRY_RUN, { ...variables, dryRun: false });
      onClose();
      navigate(`/runs/${retryRun.id}`);
    } catch (err) {
      setError(errorText(err));
      setBusy(false);
    }
  };
  return (
    <Modal
      title="Retry this run"
      confirmLabel={plan ? 'Start the retry' : 'Show the plan'}
      busy={busy}
      error={error}
      onConfirm={() => void (plan ? start() : planRetry())}
      onCancel={onClose}
    >
      <label className="block">
        Run again from
        <select
          name="fromStep"
          value={fromStep}
          onChange={(event) => {
            setFromStep(event.target.value);
            setPlan(null);
          }}
        >
          <option value="">the failure point</option>
          {run.steps.map((step) => (
            <option key={step.id} value={step.id}>
              {step.id} (and what follows)
            </option>
          ))}
        </select>
      </label>
      {plan && (
        <div className="plan" data-plan>
          <p>A new run linked to this one will:</p>
          <p>
            <b>reuse</b> the outputs of {plan.reused.length ? plan.reused.map((s) => <code key={s.stepId}>{s.stepId}</code>) : 'no step'}
          </p>
          <p>
            <b>run again</b> {plan.rerun.length ? plan.rerun.map((id) => <code key={id}>{id}</code>) : 'no step'}
          </p>
        </div>
      )}
      {!plan && <p className="muted">Nothing starts until you have seen the plan and confirmed it.</p>}
    </Modal>
  );
}

/** Approve or reject a waiting step: sends its signal with a payload. */
export function SignalDialog({ run, stepId, signal, approve, onClose }: { run: Run; stepId: string; signal: string; approve: boolean; onClose: () => void }) {
  const [payload, setPayload] = useState(JSON.stringify(approve ? { approved: true } : { approved: false, reason: '' }, null, 2));
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  let parsed: unknown;
  let parseError: string | null = null;
  try {
    parsed = payload.trim() ? JSON.parse(payload) : null;
  } catch (err) {
    parseError = `the payload is not JSON: ${(err as Error).message}`;
  }
  const confirm = async () => {
    setBusy(true);
    try {
      await request(SIGNAL_RUN, { id: run.id, signal, payload: parsed });
      onClose();
    } catch (err) {
      setError(errorText(err));
      setBusy(false);
    }
  };
  return (
    <Modal
      title={`${approve ? 'Approve' : 'Reject'} “${stepId}”?`}
      confirmLabel={approve ? 'Approve' : 'Reject'}
      danger={!approve}
      busy={busy}
      error={error ?? parseError}
      confirmDisabled={parseError !== null}
      onConfirm={() => void confirm()}
      onCancel={onClose}
    >
      <p>
        Sends the signal <code>{signal}</code>; the step takes the payload as its output.
      </p>
      <label className="block">
        Payload (JSON)
        <textarea name="payload" rows={5} value={payload} onChange={(event) => setPayload(event.target.value)} spellCheck={false} />
      </label>
    </Modal>
  );
}
