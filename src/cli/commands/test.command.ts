import fs from 'node:fs/promises';
import { CliError } from '../cli-error';
import { stringOption, type CliCommand } from '../command';
import { readDefinitionFile } from '../definition-file';
import { parseDocumentArgument, readDocumentFile } from '../document-file';
import { readInput, startedRun, type StartedRun } from './run.command';

const TEST_RUN = `mutation Test($spec: JSON!, $input: JSON, $mocks: JSON) {
  testRun(spec: $spec, input: $input, mocks: $mocks) { id definition version status temporal { workflowId uiUrl } } }`;

/**
 * `trellis test <file> [--input <json>] [--mocks <json|file>]`: runs a definition file without
 * saving it (testRun, version 0), mocked steps taking their mock as output, and follows it like
 * `run --follow` (exit 0 only if it COMPLETED) unless `--detach`.
 */
export const testCommand: CliCommand = {
  name: 'test',
  args: ['<file>'],
  summary: 'run a definition file without saving it, with mocked step outputs, and follow it',
  options: {
    input: { type: 'string' },
    'input-file': { type: 'string' },
    mocks: { type: 'string' },
    detach: { type: 'boolean' },
  },
  optionHelp: [
    ['--input <json>', 'the run input as JSON or YAML (default {}); or --input-file <file>'],
    ['--mocks <json|file>', 'outputs standing in for steps, by step id: JSON or YAML text, or a file'],
    ['--detach', 'print the test run and exit without following it'],
  ],
  async run({ api, io, args, options, json }) {
    const { file, spec, name } = await readDefinitionFile(args[0]!);
    const input = await readInput(options);
    const mocks = await readMocks(stringOption(options, 'mocks'));
    let run: StartedRun;
    try {
      run = (await api.request<{ testRun: StartedRun }>(TEST_RUN, { spec, input, mocks })).testRun;
    } catch (err) {
      if (err instanceof CliError && err.code === 'BAD_USER_INPUT') throw new CliError(`${name} (${file}): ${err.message}`, err.options);
      throw err;
    }
    return startedRun(io, run, { json, follow: options.detach !== true, api });
  },
};

/**
 * `--mocks`: the file of that name when there is one, else the text itself as JSON or YAML.
 * @throws CliError naming the file or the text that does not parse
 */
async function readMocks(value: string | undefined): Promise<unknown> {
  if (value === undefined) return undefined;
  const isFile = await fs.stat(value).then((stat) => stat.isFile(), () => false);
  return isFile ? readDocumentFile(value, '--mocks file') : parseDocumentArgument(value, '--mocks');
}
