import { CliError, EXIT_CODES } from '../cli-error';
import { printJson, stringOption, type CliCommand, type CliIo, type CliOptions } from '../command';
import { formatFields } from '../format';
import { parseDocumentArgument, readDocumentFile } from '../document-file';
import { followRun } from '../follow-run';

const START = `mutation Start($definition: String!, $version: Int, $input: JSON, $idempotencyKey: String) {
  startRun(definition: $definition, version: $version, input: $input, idempotencyKey: $idempotencyKey) {
    id definition version status temporal { workflowId uiUrl } } }`;

/** A run as `run` and `test` print it when it starts. */
export type StartedRun = { id: string; definition: string; version: number; status: string; temporal: { workflowId: string; uiUrl: string | null } };

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
  async run({ api, io, args, options, json }) {
    const variables = {
      definition: args[0]!,
      version: parseVersion(stringOption(options, 'version')),
      input: await readInput(options),
      idempotencyKey: stringOption(options, 'idempotency-key'),
    };
    const { startRun: run } = await api.request<{ startRun: StartedRun }>(START, variables);
    return startedRun(io, run, { json, follow: options.follow === true, api });
  },
};

/**
 * Prints a run just started (`run`, `test`), then, with `follow`, its events until it ends (see
 * {@link followRun}); under `json`, the run is one JSON line (`{"run": …}` when following).
 */
export async function startedRun(
  io: CliIo,
  run: StartedRun,
  how: { json: boolean; follow: boolean; api: Parameters<typeof followRun>[0] },
): Promise<0 | 1> {
  if (how.json) {
    printJson(io, how.follow ? { run } : run);
  } else {
    fieldLines(io, [
      ['run', run.id],
      ['definition', `${run.definition} v${run.version}`],
      ['status', run.status],
      ['temporal', run.temporal.uiUrl ?? `workflow ${run.temporal.workflowId}`],
    ]);
  }
  if (!how.follow) return EXIT_CODES.ok;
  return followRun(how.api, io, run.id, { json: how.json });
}

function fieldLines(io: CliIo, fields: Parameters<typeof formatFields>[0]): void {
  formatFields(fields).forEach((line) => io.out(line));
}

/**
 * The input given by `--input` (JSON or YAML text) or `--input-file`; undefined when neither.
 * @throws CliError when both are given, or naming the one that does not parse
 */
export async function readInput(options: CliOptions): Promise<unknown> {
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
