import { EXIT_CODES } from '../cli-error';
import { printJson, stringOption, type CliCommand } from '../command';

const CANCEL = `mutation Cancel($id: ID!, $reason: String) { cancelRun(id: $id, reason: $reason) { id status } }`;

/** `trellis cancel <runId> [--reason <text>]`: asks a running run to stop. */
export const cancelCommand: CliCommand = {
  name: 'cancel',
  args: ['<runId>'],
  summary: 'ask a running run to stop (running steps are cancelled)',
  options: { reason: { type: 'string' } },
  optionHelp: [['--reason <text>', 'recorded in the run\'s RUN_CANCELLED event']],
  async run({ api, io, args, options, json }) {
    const { cancelRun: run } = await api.request<{ cancelRun: { id: string; status: string } }>(CANCEL, {
      id: args[0]!,
      reason: stringOption(options, 'reason') ?? null,
    });
    if (json) printJson(io, run);
    else io.out(`cancel requested for run ${run.id} (status ${run.status}); \`trellis status ${run.id}\` shows when it has stopped`);
    return EXIT_CODES.ok;
  },
};
