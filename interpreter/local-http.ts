import { proxyLocalActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { parseDuration } from '../definition/duration';
import { DEFAULT_LOCAL_HTTP_TIMEOUT, localHttpTimeout } from '../definition/local-http';

/**
 * The `httpRequest` activity as a Temporal local activity, for `http` steps and actions with
 * `"local": true`: it runs in this worker inside the run's workflow task, with no activity task
 * scheduled, polled and completed through the server. One attempt, like the regular activity
 * (the interpreter retries, so each attempt has its own audit events); same input, so the same
 * Idempotency-Key, egress policy and secret handling. Opt-in per step: runs without it schedule
 * exactly the commands they did.
 * @param timeout the step's own timeout, else `defaultTimeout` (the definition's), else 10 s
 * @param summary what Temporal's UI shows for the call (the step's path and method)
 */
export function localHttpActivity(timeout: string | undefined, defaultTimeout: string | undefined, summary: string | undefined): Activities['httpRequest'] {
  const chosen = localHttpTimeout(timeout, defaultTimeout);
  return proxyLocalActivities<Activities>({
    ...(summary === undefined ? {} : { summary }),
    startToCloseTimeout: parseDuration(chosen) ?? parseDuration(DEFAULT_LOCAL_HTTP_TIMEOUT)!,
    retry: { maximumAttempts: 1 },
  }).httpRequest;
}
