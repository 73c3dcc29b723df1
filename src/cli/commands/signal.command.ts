import { EXIT_CODES } from '../cli-error';
import { printJson, stringOption, type CliCommand } from '../command';
import { parseDocumentArgument } from '../document-file';

const SIGNAL = `mutation Signal($id: ID!, $signal: String!, $payload: JSON) { signalRun(id: $id, signal: $signal, payload: $payload) { id status } }`;

/** `trellis signal <runId> <signal> [--payload <json>]`: delivers a signal to a run's `wait` steps. */
export const signalCommand: CliCommand = {
  name: 'signal',
  args: ['<runId>', '<signal>'],
  summary: "send a signal to a run's wait steps (an approval, an external event)",
  options: { payload: { type: 'string' } },
  optionHelp: [['--payload <json>', "the payload as JSON or YAML: the wait step's output (default null)"]],
  async run({ api, io, args, options, json }) {
    const text = stringOption(options, 'payload');
    const payload = text === undefined ? null : parseDocumentArgument(text, '--payload');
    const { signalRun: run } = await api.request<{ signalRun: { id: string; status: string } }>(SIGNAL, { id: args[0]!, signal: args[1]!, payload });
    if (json) printJson(io, run);
    else io.out(`signal "${args[1]!}" sent to run ${run.id}; \`trellis status ${run.id}\` shows where it is`);
    return EXIT_CODES.ok;
  },
};
