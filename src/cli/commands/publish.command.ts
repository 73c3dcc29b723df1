import { EXIT_CODES } from '../cli-error';
import { printJson, stringOption, type CliCommand } from '../command';
import { parseDocumentArgument } from '../document-file';

const PUBLISH = `mutation($type: String!, $payload: JSON!, $id: String) {
  publishEvent(type: $type, payload: $payload, id: $id) { id status lastError firings { triggerId status runId reason } } }`;

type Published = { id: string; status: string; lastError: string | null; firings: Array<{ triggerId: string; status: string; runId: string | null; reason: string | null }> };

/** `trellis publish <type> --payload <json> [--id <id>]`: publishes an event (SPEC §7). */
export const publishCommand: CliCommand = {
  name: 'publish',
  args: ['<type>'],
  summary: 'publish an event: matching triggers start their runs',
  options: { payload: { type: 'string' }, id: { type: 'string' } },
  optionHelp: [
    ['--payload <json>', 'the event payload, JSON or YAML (default {})'],
    ['--id <id>', 'the event id: publishing it again starts nothing new (default: a new UUID)'],
  ],
  async run({ api, io, args, options, json }) {
    const text = stringOption(options, 'payload');
    const payload = text === undefined ? {} : parseDocumentArgument(text, '--payload');
    const { publishEvent: event } = await api.request<{ publishEvent: Published }>(PUBLISH, { type: args[0]!, payload, id: stringOption(options, 'id') });
    if (json) {
      printJson(io, event);
      return EXIT_CODES.ok;
    }
    io.out(`event ${event.id} ${event.status}${event.lastError ? ` (${event.lastError}: Trellis retries)` : ''}`);
    for (const firing of event.firings) {
      io.out(`  trigger ${firing.triggerId}: ${firing.status === 'STARTED' ? `run ${firing.runId}` : `refused: ${firing.reason}`}`);
    }
    if (event.firings.length === 0 && event.status !== 'PENDING') io.out('  no trigger fired');
    return EXIT_CODES.ok;
  },
};
