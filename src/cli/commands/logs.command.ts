import { LOG_LEVELS, type LogLevel } from '../../../definition/log-levels';
import { FINAL_RUN_STATUSES } from '../../../definition/step-types';
import type { ApiClient } from '../api-client';
import { CliError, EXIT_CODES } from '../cli-error';
import { printJson, stringOption, type CliCommand, type CliIo } from '../command';
import { formatTime } from '../format';
import { fetchRun } from '../run-query';

/** A LOG event as the CLI reads it. */
type LogView = { seq: number; at: string; type: string; stepId: string | null; attempt: number | null; level: string | null; message: string | null };

const LOG_FIELDS = 'seq at type stepId attempt level message';

const logsPage = `query Logs($id: ID!, $level: LogLevel, $after: String) {
  run(id: $id) { logs(level: $level, first: 1000, after: $after) { edges { node { ${LOG_FIELDS} } } pageInfo { hasNextPage endCursor } } } }`;

const liveLogs = `subscription Logs($runId: ID!, $afterSeq: Int, $level: LogLevel) {
  runEvents(runId: $runId, afterSeq: $afterSeq, level: $level) { ${LOG_FIELDS} } }`;

type LogsPage = { edges: Array<{ node: LogView }>; pageInfo: { hasNextPage: boolean; endCursor: string | null } };

/**
 * `trellis logs <runId> [--level <level>] [--follow]`: a run's log lines (LOG events) of a level
 * and above; with `--follow`, then its live lines until the run ends, exiting 0 only if it
 * COMPLETED. Under `--json`: `{"logs": [...]}`, or with `--follow` one `{"log": …}` a line and a
 * last `{"run": {id, status}}`.
 */
export const logsCommand: CliCommand = {
  name: 'logs',
  args: ['<runId>'],
  summary: "print a run's log lines; --follow prints live ones until the run ends",
  options: { follow: { type: 'boolean', short: 'f' }, level: { type: 'string', short: 'l' } },
  optionHelp: [
    ['-l, --level <level>', `only lines of this level and above: ${LOG_LEVELS.join(', ')} (default: every line)`],
    ['-f, --follow', 'then print live lines until the run ends; exit 0 only if it COMPLETED'],
  ],
  async run({ api, io, args, options, json }) {
    const runId = args[0]!;
    const level = parseLevel(stringOption(options, 'level'));
    const run = await fetchRun(api, runId);
    const print = (line: LogView) => (json ? printJson(io, { log: line }) : io.out(formatLogLine(line)));
    if (options.follow !== true) {
      const lines = await storedLogs(api, runId, level);
      if (json) printJson(io, { logs: lines });
      else if (lines.length === 0) io.out(level === undefined ? 'no log lines' : `no log lines of level ${level} or above`);
      else lines.forEach((line) => io.out(formatLogLine(line)));
      return EXIT_CODES.ok;
    }
    if (FINAL_RUN_STATUSES.has(run.status)) {
      // A finished run's log is complete: no subscription, which would replay the whole trail.
      (await storedLogs(api, runId, level)).forEach(print);
    } else {
      // Replays stored events, then live ones, and completes after the run's final event.
      await api.subscribe<{ runEvents: LogView }>(liveLogs, { runId, afterSeq: 0, level: level ?? null }, ({ runEvents }) => {
        if (runEvents.type === 'LOG') print(runEvents);
      });
    }
    return printEnd(io, await fetchRun(api, runId), json);
  },
};

/** One line: `hh:mm:ss.mmm LEVEL step [attempt n] message` (a message's own lines indented under it). */
export function formatLogLine(line: LogView): string {
  const parts = [formatTime(line.at), (line.level ?? 'info').toUpperCase().padEnd(5)];
  if (line.stepId) parts.push(line.stepId);
  if (line.attempt != null && line.attempt > 1) parts.push(`(attempt ${line.attempt})`);
  const [first = '', ...rest] = (line.message ?? '').split('\n');
  return [`  ${parts.join(' ')}  ${first}`, ...rest.map((text) => `      ${text}`)].join('\n');
}

function printEnd(io: CliIo, run: { id: string; status: string }, json: boolean): 0 | 1 {
  if (json) printJson(io, { run: { id: run.id, status: run.status } });
  else io.out(`run ${run.status}`);
  return run.status === 'COMPLETED' ? EXIT_CODES.ok : EXIT_CODES.failed;
}

/** Every stored log line of a run of `level` and above, in seq order, a page of 1000 at a time. */
async function storedLogs(api: ApiClient, runId: string, level: LogLevel | undefined): Promise<LogView[]> {
  const found: LogView[] = [];
  let after: string | null = null;
  for (;;) {
    const { run }: { run: { logs: LogsPage } | null } = await api.request(logsPage, { id: runId, level: level ?? null, after });
    if (!run) throw new CliError(`run "${runId}" not found`, { code: 'NOT_FOUND' });
    found.push(...run.logs.edges.map((edge) => edge.node));
    if (!run.logs.pageInfo.hasNextPage || !run.logs.pageInfo.endCursor) return found;
    after = run.logs.pageInfo.endCursor;
  }
}

function parseLevel(value: string | undefined): LogLevel | undefined {
  if (value === undefined) return undefined;
  if (!(LOG_LEVELS as readonly string[]).includes(value)) throw new CliError(`--level must be one of ${LOG_LEVELS.join(', ')}, not "${value}"`);
  return value as LogLevel;
}
