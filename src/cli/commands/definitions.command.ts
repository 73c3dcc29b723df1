import { CliError, EXIT_CODES } from '../cli-error';
import { printJson, stringOption, type CliCommand } from '../command';
import { formatDateTime, formatTable } from '../format';
import { shellQuote } from './runs.command';

const DEFINITIONS = `query Definitions($first: Int, $after: String, $search: String, $includeArchived: Boolean) {
  definitions(first: $first, after: $after, search: $search, includeArchived: $includeArchived) {
    edges { node { name description latestVersion archived createdAt updatedAt } }
    pageInfo { hasNextPage endCursor } } }`;
const VERSIONS = `query Versions($name: String!) {
  definition(name: $name) { name description latestVersion archived versions { version contentHash createdAt } } }`;

const MAX_FIRST = 1000;
const MAX_DESCRIPTION = 60;

type DefinitionRow = { name: string; description: string | null; latestVersion: number; archived: boolean; createdAt: string; updatedAt: string };
type DefinitionsPage = { edges: Array<{ node: DefinitionRow }>; pageInfo: { hasNextPage: boolean; endCursor: string | null } };
type VersionRow = { version: number; contentHash: string; createdAt: string };

/**
 * `trellis definitions`: the tenant's definitions in name order (`--search` in name and
 * description, `--archived` to include archived ones), a page at a time; `--versions <name>`
 * lists the versions of one instead.
 */
export const definitionsCommand: CliCommand = {
  name: 'definitions',
  args: [],
  summary: 'list saved definitions (or --versions of one), in name order',
  options: {
    search: { type: 'string' },
    archived: { type: 'boolean' },
    versions: { type: 'string' },
    first: { type: 'string' },
    after: { type: 'string' },
  },
  optionHelp: [
    ['--search <text>', 'only definitions whose name or description contains this text (any case)'],
    ['--archived', 'list archived definitions too'],
    ['--versions <name>', 'list the versions of this definition instead, newest first'],
    ['--first <n>', `at most n definitions (1 to ${MAX_FIRST}, default 50)`],
    ['--after <cursor>', 'the page after this cursor (see the `more:` line)'],
  ],
  async run({ api, io, options, json }) {
    const name = stringOption(options, 'versions');
    if (name !== undefined) {
      const { definition } = await api.request<{ definition: (Omit<DefinitionRow, 'createdAt' | 'updatedAt'> & { versions: VersionRow[] }) | null }>(VERSIONS, { name });
      if (!definition) throw new CliError(`definition "${name}" not found`, { code: 'NOT_FOUND' });
      if (json) printJson(io, definition);
      else {
        const rows = definition.versions.map((v) => [`v${v.version}`, v.contentHash.slice(0, 12), formatDateTime(v.createdAt)]);
        formatTable(['VERSION', 'CONTENT HASH', 'SAVED'], rows).forEach((line) => io.out(line));
      }
      return EXIT_CODES.ok;
    }
    const search = stringOption(options, 'search');
    const includeArchived = options.archived === true;
    const first = parseFirst(stringOption(options, 'first'));
    const after = stringOption(options, 'after');
    const { definitions } = await api.request<{ definitions: DefinitionsPage }>(DEFINITIONS, { first, after, search, includeArchived });
    const nodes = definitions.edges.map((edge) => edge.node);
    const nextCursor = definitions.pageInfo.hasNextPage ? definitions.pageInfo.endCursor : null;
    if (json) {
      printJson(io, { definitions: nodes, nextCursor });
      return EXIT_CODES.ok;
    }
    if (nodes.length === 0) {
      io.out(search === undefined ? 'no definitions' : `no definitions match "${search}"`);
      return EXIT_CODES.ok;
    }
    const rows = nodes.map((d) => [d.name + (d.archived ? ' (archived)' : ''), `v${d.latestVersion}`, formatDateTime(d.updatedAt), truncate(d.description ?? '')]);
    formatTable(['NAME', 'LATEST', 'UPDATED', 'DESCRIPTION'], rows).forEach((line) => io.out(line));
    if (nextCursor) {
      const words = ['trellis', 'definitions', ...(search !== undefined ? ['--search', search] : []), ...(includeArchived ? ['--archived'] : [])];
      if (first !== undefined) words.push('--first', String(first));
      words.push('--after', nextCursor);
      const url = stringOption(options, 'url');
      if (url !== undefined) words.push('--url', url);
      io.out(`more: ${words.map(shellQuote).join(' ')}`);
    }
    return EXIT_CODES.ok;
  },
};

function parseFirst(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const first = /^\d+$/.test(value) ? Number(value) : NaN;
  if (!(first >= 1 && first <= MAX_FIRST)) throw new CliError(`--first must be a whole number from 1 to ${MAX_FIRST}, not "${value}"`);
  return first;
}

function truncate(text: string): string {
  const line = text.split('\n', 1)[0]!;
  return line.length > MAX_DESCRIPTION ? `${line.slice(0, MAX_DESCRIPTION - 1)}…` : line;
}
