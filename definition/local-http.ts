import type { Definition } from './definition-schema';
import { walkSteps } from './definition-walk';
import { parseDuration } from './duration';
import { pointerJoin } from './json-pointer';

/**
 * Longest attempt of an `http` step or action with `"local": true` (10 s). A local activity runs
 * inside the workflow task of its run: past the workflow task timeout (10 s) the worker has to
 * keep the task alive with heartbeats, and a worker that dies in the middle repeats the request
 * from the start of the task. Short calls only.
 */
export const MAX_LOCAL_HTTP_TIMEOUT_MS = 10_000;
/** Timeout of a local `http` attempt when neither it nor `defaults.timeout` sets one. */
export const DEFAULT_LOCAL_HTTP_TIMEOUT = '10s';

/** The timeout one attempt of a local `http` call gets: its own, else the definition's default, else {@link DEFAULT_LOCAL_HTTP_TIMEOUT}. */
export function localHttpTimeout(own: string | undefined, defaultTimeout: string | undefined): string {
  return own ?? defaultTimeout ?? DEFAULT_LOCAL_HTTP_TIMEOUT;
}

/**
 * Checks every `http` step, compensation and `map` action with `"local": true` of a parsed
 * definition: its attempt timeout (see {@link localHttpTimeout}) must be at most
 * {@link MAX_LOCAL_HTTP_TIMEOUT_MS}. Other step types cannot say `local` (the schema refuses it).
 */
export function localHttpErrors(definition: Definition): Array<{ path: string; message: string }> {
  const errors: Array<{ path: string; message: string }> = [];
  const check = (action: { type: string; local?: boolean; timeout?: string }, pointer: string): void => {
    if (action.type !== 'http' || action.local !== true) return;
    const timeout = localHttpTimeout(action.timeout, definition.defaults?.timeout);
    if ((parseDuration(timeout) ?? Infinity) <= MAX_LOCAL_HTTP_TIMEOUT_MS) return;
    const own = action.timeout !== undefined;
    errors.push({
      path: pointerJoin(pointer, own ? 'timeout' : 'local'),
      message: own
        ? `a local http call may take at most 10s per attempt; timeout is "${action.timeout}"`
        : `a local http call may take at most 10s per attempt, and defaults.timeout is "${definition.defaults?.timeout}": set a timeout of at most 10s on it`,
    });
  };
  for (const { step, pointer } of walkSteps(definition.steps)) {
    check(step, pointer);
    if (step.compensate) check(step.compensate, pointerJoin(pointer, 'compensate'));
    if (step.type === 'map' && 'type' in step.do) check(step.do, pointerJoin(pointer, 'do'));
  }
  return errors;
}
