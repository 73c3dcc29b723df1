import { FINAL_RUN_STATUSES } from '../../../definition/step-types';
import type { ApiClient } from '../api-client';
import { CliError, EXIT_CODES } from '../cli-error';
import { printJson, stringOption, type CliCommand } from '../command';
import { eventFields, followRun, printRunEnd } from '../follow-run';
import { formatEvent, type EventView } from '../format';
import { fetchRun } from '../run-query';

const eventsPage = (json: boolean) => `query Events($id: ID!, $after: String) {
  run(id: $id) { events(first: 1000, after: $after) { edges { node { ${eventFields(json)} } } pageInfo { hasNextPage endCursor } } } }`;

type EventsPage = { edges: Array<{ node: EventView }>; pageInfo: { hasNextPage: boolean; endCursor: string | null } };

/**
 * `trellis events <runId> [--follow] [--after <seq>]`: a run's audit trail, stored events after
 * `--after`; with `--follow`, then its live events until it ends (attaching to a run that is
 * already going), exiting 0 only if it COMPLETED.
 */
export const eventsCommand: CliCommand = {
  name: 'events',
  args: ['<runId>'],
  summary: "print a run's audit events; --follow attaches to a running run until it ends",
  options: { follow: { type: 'boolean', short: 'f' }, after: { type: 'string' } },
  optionHelp: [
    ['-f, --follow', 'then print live events until the run ends; exit 0 only if it COMPLETED'],
    ['--after <seq>', 'only events after this seq (to resume where a previous listing stopped)'],
  ],
  async run({ api, io, args, options, json }) {
    const runId = args[0]!;
    const afterSeq = parseSeq(stringOption(options, 'after'));
    const run = await fetchRun(api, runId);
    // A finished run's trail is complete: following it would wait for events that never come
    // when --after is at or past its final event.
    if (options.follow === true && !FINAL_RUN_STATUSES.has(run.status)) {
      if (json) printJson(io, { run });
      return followRun(api, io, runId, { json, afterSeq });
    }
    const events = await storedEvents(api, runId, afterSeq ?? 0, json);
    if (options.follow === true) {
      events.forEach((event) => (json ? printJson(io, { event }) : io.out(formatEvent(event))));
      return printRunEnd(io, run, json);
    }
    if (json) printJson(io, { events });
    else if (events.length === 0) io.out(afterSeq === undefined ? 'no events' : `no events after #${afterSeq}`);
    else events.forEach((event) => io.out(formatEvent(event)));
    return EXIT_CODES.ok;
  },
};

/** Every stored event of a run with a seq above `afterSeq`, in seq order, a page of 1000 at a time. */
async function storedEvents(api: ApiClient, runId: string, afterSeq: number, json: boolean): Promise<EventView[]> {
  const found: EventView[] = [];
  let after: string | null = null;
  for (;;) {
    const { run }: { run: { events: EventsPage } | null } = await api.request(eventsPage(json), { id: runId, after });
    if (!run) throw new CliError(`run "${runId}" not found`, { code: 'NOT_FOUND' });
    found.push(...run.events.edges.map((edge) => edge.node).filter((event) => event.seq > afterSeq));
    if (!run.events.pageInfo.hasNextPage || !run.events.pageInfo.endCursor) return found;
    after = run.events.pageInfo.endCursor;
  }
}

function parseSeq(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw new CliError(`--after must be an event seq (0, 1, 2, …), not "${value}"`);
  return Number(value);
}
