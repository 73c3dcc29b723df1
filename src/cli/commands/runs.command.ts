import { RUN_STATUSES } from '../../../definition/step-types';
import type { ApiClient } from '../api-client';
import { CliError, EXIT_CODES } from '../cli-error';
import { printJson, stringOption, type CliCommand, type CliOptions } from '../command';
import { formatDateTime, formatDuration, formatTable } from '../format';

const RUNS = `query Runs($filter: RunFilter, $first: Int, $after: String) {
  runs(filter: $filter, first: $first, after: $after) {
    edges { cursor node { id definition version status startedAt finishedAt } }
    pageInfo { hasNextPage endCursor } } }`;
const DEFINITION = `query Definition($name: String!) { definition(name: $name) { name } }`;

/** The largest page the API serves. */
const MAX_FIRST = 1000;

type RunRow = { id: string; definition: string; version: number; status: string; startedAt: string; finishedAt: string | null };
type RunsPage = { edges: Array<{ cursor: string; node: RunRow }>; pageInfo: { hasNextPage: boolean; endCursor: string | null } };

/**
 * `trellis runs`: runs newest first, optionally of one definition, in some statuses, or waiting
 * for a signal, one page at a time; when there is a next page, the last line is the command that
 * prints it. Test runs only with `--tests`.
 */
export const runsCommand: CliCommand = {
  name: 'runs',
  args: [],
  summary: 'list runs, newest first',
  options: {
    definition: { type: 'string' },
    status: { type: 'string', multiple: true },
    first: { type: 'string' },
    after: { type: 'string' },
    waiting: { type: 'boolean' },
    tests: { type: 'boolean' },
  },
  optionHelp: [
    ['--definition <name>', 'only the runs of this definition'],
    ['--status <S>[,<S>…]', `only runs in these statuses (any case): ${RUN_STATUSES.join(' ')}`],
    ['--first <n>', `at most n runs (1 to ${MAX_FIRST}, default 50)`],
    ['--after <cursor>', 'the page after this cursor (see the `more:` line)'],
    ['--waiting', 'only runs with a step waiting for a signal (see trellis signal)'],
    ['--tests', 'list test runs (trellis test) too; they are left out by default'],
  ],
  async run({ api, io, options, json }) {
    const definition = stringOption(options, 'definition');
    const status = parseStatuses(options.status);
    const first = parseFirst(stringOption(options, 'first'));
    const after = stringOption(options, 'after');
    const waiting = options.waiting === true ? true : undefined;
    const includeTests = options.tests === true ? true : undefined;
    const filter = { definition, status, waiting, includeTests };
    const { runs } = await api.request<{ runs: RunsPage }>(RUNS, { filter, first, after });
    if (json) {
      if (runs.edges.length === 0 && definition !== undefined && after === undefined) await requireDefinition(api, definition);
      printJson(io, { runs: runs.edges.map((edge) => edge.node), nextCursor: runs.pageInfo.hasNextPage ? runs.pageInfo.endCursor : null });
      return EXIT_CODES.ok;
    }

    if (runs.edges.length === 0) {
      if (definition !== undefined && after === undefined) await requireDefinition(api, definition);
      io.out(after === undefined ? 'no runs' : 'no more runs');
      return EXIT_CODES.ok;
    }
    const rows = runs.edges.map(({ node: run }) => [
      run.id,
      `${run.definition} v${run.version}`,
      run.status,
      formatDateTime(run.startedAt),
      run.finishedAt === null ? 'running' : formatDuration(run.startedAt, run.finishedAt),
    ]);
    formatTable(['RUN', 'DEFINITION', 'STATUS', 'STARTED', 'DURATION'], rows).forEach((line) => io.out(line));
    if (runs.pageInfo.hasNextPage && runs.pageInfo.endCursor) {
      io.out(`more: ${nextPageCommand(options, { definition, status, first, waiting, includeTests }, runs.pageInfo.endCursor)}`);
    }
    return EXIT_CODES.ok;
  },
};

/**
 * `--status` values (repeated and/or comma-separated, any case) as RunStatus values; undefined when not given.
 * @throws CliError naming the first value that is not a run status
 */
function parseStatuses(value: CliOptions[string]): string[] | undefined {
  if (value === undefined) return undefined;
  const given = (Array.isArray(value) ? value : [value]).filter((v): v is string => typeof v === 'string');
  const statuses: string[] = [];
  for (const part of given.flatMap((v) => v.split(','))) {
    const name = part.trim();
    if (name === '') continue;
    const status = name.toUpperCase();
    if (!(RUN_STATUSES as readonly string[]).includes(status)) {
      throw new CliError(`--status: "${name}" is not a run status; use one or more of ${RUN_STATUSES.join(', ')}`);
    }
    if (!statuses.includes(status)) statuses.push(status);
  }
  if (statuses.length === 0) throw new CliError(`--status needs a run status: ${RUN_STATUSES.join(', ')}`);
  return statuses;
}

function parseFirst(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const first = /^\d+$/.test(value) ? Number(value) : NaN;
  if (!(first >= 1 && first <= MAX_FIRST)) throw new CliError(`--first must be a whole number from 1 to ${MAX_FIRST}, not "${value}"`);
  return first;
}

/** An unknown definition is a mistake worth saying, not just "no runs". */
async function requireDefinition(api: ApiClient, name: string): Promise<void> {
  const { definition } = await api.request<{ definition: { name: string } | null }>(DEFINITION, { name });
  if (!definition) throw new CliError(`definition "${name}" not found`, { code: 'NOT_FOUND' });
}

/** `trellis runs …` with the same filters, page size and --url, after `cursor`. */
function nextPageCommand(
  options: CliOptions,
  given: { definition?: string; status?: string[]; first?: number; waiting?: boolean; includeTests?: boolean },
  cursor: string,
): string {
  const words = ['trellis', 'runs'];
  if (given.definition !== undefined) words.push('--definition', given.definition);
  if (given.status !== undefined) words.push('--status', given.status.join(','));
  if (given.first !== undefined) words.push('--first', String(given.first));
  if (given.waiting) words.push('--waiting');
  if (given.includeTests) words.push('--tests');
  words.push('--after', cursor);
  const url = stringOption(options, 'url');
  if (url !== undefined) words.push('--url', url);
  return words.map(shellQuote).join(' ');
}

/** A word as a POSIX shell reads it back: unchanged when safe, else single-quoted. */
export function shellQuote(word: string): string {
  if (/^[\w@%+=:,./-]+$/.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}
