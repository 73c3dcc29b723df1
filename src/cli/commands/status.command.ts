import { EXIT_CODES } from '../cli-error';
import { printJson, type CliCommand } from '../command';
import { formatFields, formatRunResult, formatSteps } from '../format';
import { fetchRun } from '../run-query';

/** `trellis status <runId>`: a run's status, its steps and its output or error. */
export const statusCommand: CliCommand = {
  name: 'status',
  args: ['<runId>'],
  summary: "show a run's status, steps and output or error",
  options: {},
  optionHelp: [],
  async run({ api, io, args, json }) {
    const run = await fetchRun(api, args[0]!);
    if (json) {
      printJson(io, run);
      return EXIT_CODES.ok;
    }
    const lines = [
      ...formatFields([
        ['run', run.id],
        ['definition', `${run.definition} v${run.version}`],
        ['status', run.status],
        ['started', run.startedAt],
        ['finished', run.finishedAt],
        ['temporal', run.temporal.uiUrl ?? `workflow ${run.temporal.workflowId}`],
      ]),
      '',
      ...formatSteps(run.steps),
    ];
    const result = formatRunResult(run);
    if (result.length > 0) lines.push('', ...result);
    lines.forEach((line) => io.out(line));
    return EXIT_CODES.ok;
  },
};
