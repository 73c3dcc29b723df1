import { EXIT_CODES } from '../cli-error';
import type { CliCommand } from '../command';

const CANCEL = `mutation Cancel($id: ID!) { cancelRun(id: $id) { id status } }`;

/** `trellis cancel <runId>`: asks a running run to stop. */
export const cancelCommand: CliCommand = {
  name: 'cancel',
  args: ['<runId>'],
  summary: 'ask a running run to stop (running steps are cancelled)',
  options: {},
  optionHelp: [],
  async run({ api, io, args }) {
    const { cancelRun: run } = await api.request<{ cancelRun: { id: string; status: string } }>(CANCEL, { id: args[0]! });
    io.out(`cancel requested for run ${run.id} (status ${run.status}); \`trellis status ${run.id}\` shows when it has stopped`);
    return EXIT_CODES.ok;
  },
};
