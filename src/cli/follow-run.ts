import type { ApiClient } from './api-client';
import { EXIT_CODES } from './cli-error';
import { printJson, type CliIo } from './command';
import { formatEvent, formatFields, formatRunResult, type EventView } from './format';
import { fetchRun, type RunView } from './run-query';

/** The fields of an audit event the CLI reads: what a line shows, or (`json`) every field. */
export function eventFields(json: boolean): string {
  return json ? 'seq at type stepId attempt message error inputHash output actor' : 'seq at type stepId attempt message error';
}

const events = (json: boolean) =>
  `subscription Events($runId: ID!, $afterSeq: Int) { runEvents(runId: $runId, afterSeq: $afterSeq) { ${eventFields(json)} } }`;

/** How {@link followRun} prints: text lines, or one JSON object a line (`{"event": …}`, then `{"run": …}`). */
export type FollowOptions = { json: boolean; afterSeq?: number };

/**
 * Prints a run's events (stored ones after `afterSeq`, then live ones) until its final event,
 * then how it ended; 0 only when it COMPLETED. The caller makes sure the run has not finished
 * with its final event at or before `afterSeq` (the subscription would then wait forever).
 * Under `json`, each event is a line `{"event": {...}}` and the last line is `{"run": {...}}`.
 */
export async function followRun(api: ApiClient, io: CliIo, runId: string, options: FollowOptions): Promise<0 | 1> {
  if (!options.json) io.out('');
  const print = (event: EventView) => (options.json ? printJson(io, { event }) : io.out(formatEvent(event)));
  // The subscription replays stored events first, so nothing is missed between starting the run and here.
  await api.subscribe<{ runEvents: EventView }>(events(options.json), { runId, afterSeq: options.afterSeq ?? null }, ({ runEvents }) => print(runEvents));
  return printRunEnd(io, await fetchRun(api, runId), options.json);
}

/**
 * Prints how a followed run ended (its status and output or error; `{"run": …}` under `json`);
 * 0 only when it COMPLETED.
 */
export function printRunEnd(io: CliIo, run: RunView, json: boolean): 0 | 1 {
  if (json) {
    printJson(io, { run });
  } else {
    io.out('');
    formatFields([['status', run.status]]).forEach((line) => io.out(line));
    formatRunResult(run).forEach((line) => io.out(line));
  }
  return run.status === 'COMPLETED' ? EXIT_CODES.ok : EXIT_CODES.failed;
}
