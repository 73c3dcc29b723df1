import type { ApiClient } from '../api-client';
import { CliError, EXIT_CODES } from '../cli-error';
import { stringOption, type CliCommand, type CliIo, type CliOptions } from '../command';
import { formatEvent, formatFields, formatRunResult, type EventView } from '../format';
import { parseDocumentArgument, readDocumentFile } from '../document-file';
import { fetchRun } from '../run-query';

const START = `mutation Start($definition: String!, $version: Int, $input: JSON, $idempotencyKey: String) {
  startRun(definition: $definition, version: $version, input: $input, idempotencyKey: $idempotencyKey) {
    id definition version status temporal { workflowId uiUrl } } }`;
const EVENTS = `subscription Events($runId: ID!, $afterSeq: Int) {
  runEvents(runId: $runId, afterSeq: $afterSeq) { seq at type stepId attempt message error } }`;

type StartedRun = { id: string; definition: string; version: number; status: string; temporal: { workflowId: string; uiUrl: string | null } };

/**
 * `trellis run <definition>`: starts a run; with `--follow`, prints its events live and exits 0
 * only when it COMPLETED.
 */
export const runCommand: CliCommand = {
  name: 'run',
  args: ['<definition>'],
  summary: 'start a run of the latest (or --version) version of a definition',
  options: {
    input: { type: 'string' },
    'input-file': { type: 'string' },
    version: { type: 'string' },
    'idempotency-key': { type: 'string' },
    follow: { type: 'boolean', short: 'f' },
  },
  optionHelp: [
    ['--input <json>', 'the run input as JSON or YAML (default {})'],
    ['--input-file <file>', 'read the run input from a JSON or YAML file instead'],
    ['--version <n>', 'run this version instead of the latest'],
    ['--idempotency-key <k>', 'a repeated key returns the run it first started'],
    ['-f, --follow', 'print events until the run ends; exit 0 only if it COMPLETED'],
  ],
  async run({ api, io, args, options }) {
    const variables = {
      definition: args[0]!,
      version: parseVersion(stringOption(options, 'version')),
      input: await readInput(options),
      idempotencyKey: stringOption(options, 'idempotency-key'),
    };
    const { startRun: run } = await api.request<{ startRun: StartedRun }>(START, variables);
    fieldLines(io, [
      ['run', run.id],
      ['definition', `${run.definition} v${run.version}`],
      ['status', run.status],
      ['temporal', run.temporal.uiUrl ?? `workflow ${run.temporal.workflowId}`],
    ]);
    if (options.follow !== true) return EXIT_CODES.ok;
    return follow(api, io, run.id);
  },
};

/** Prints a run's events until it ends, then its result; 0 only when it COMPLETED. */
export async function follow(api: ApiClient, io: CliIo, runId: string): Promise<0 | 1> {
  io.out('');
  // The subscription replays stored events first, so nothing is missed between startRun and here.
  await api.subscribe<{ runEvents: EventView }>(EVENTS, { runId }, ({ runEvents }) => io.out(formatEvent(runEvents)));
  const run = await fetchRun(api, runId);
  io.out('');
  fieldLines(io, [['status', run.status]]);
  formatRunResult(run).forEach((line) => io.out(line));
  return run.status === 'COMPLETED' ? EXIT_CODES.ok : EXIT_CODES.failed;
}

function fieldLines(io: CliIo, fields: Parameters<typeof formatFields>[0]): void {
  formatFields(fields).forEach((line) => io.out(line));
}

async function readInput(options: CliOptions): Promise<unknown> {
  const text = stringOption(options, 'input');
  const file = stringOption(options, 'input-file');
  if (text !== undefined && file !== undefined) throw new CliError('give either --input or --input-file, not both');
  if (text !== undefined) return parseDocumentArgument(text, '--input');
  if (file !== undefined) return readDocumentFile(file, '--input-file');
  return undefined;
}

function parseVersion(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^[1-9]\d*$/.test(value)) throw new CliError(`--version must be a version number (1, 2, …), not "${value}"`);
  return Number(value);
}
