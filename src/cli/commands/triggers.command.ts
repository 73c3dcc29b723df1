import { CliError, EXIT_CODES } from '../cli-error';
import { printJson, stringOption, type CliCommand } from '../command';
import { formatTable } from '../format';

const ACTIONS = ['list', 'create', 'delete'] as const;

const LIST = `query { triggers { id event filter definition input } }`;
const CREATE = `mutation($event: String!, $filter: String, $definition: String!, $input: String) {
  createTrigger(event: $event, filter: $filter, definition: $definition, input: $input) { id event definition } }`;
const DELETE = `mutation($id: ID!) { deleteTrigger(id: $id) }`;

type Trigger = { id: string; event: string; filter: string | null; definition: string; input: string | null };

/** `trellis triggers list|create|delete`: a tenant's event triggers (SPEC §7). */
export const triggersCommand: CliCommand = {
  name: 'triggers',
  args: ['<list|create|delete>'],
  summary: 'manage event triggers: runs started by published events',
  options: { event: { type: 'string' }, filter: { type: 'string' }, definition: { type: 'string' }, input: { type: 'string' }, id: { type: 'string' } },
  optionHelp: [
    ['--event <type>', 'create: the event type (e.g. order.created)'],
    ['--filter <jsonata>', 'create: JSONata on $event that must be true (default: every event of the type)'],
    ['--definition <name>', 'create: the definition to run'],
    ['--input <jsonata>', 'create: JSONata on $event giving the run input (default: the payload)'],
    ['--id <trigger id>', 'delete: the trigger'],
  ],
  async run({ api, io, args, options, json }) {
    const action = args[0] as (typeof ACTIONS)[number];
    if (!ACTIONS.includes(action)) throw new CliError(`unknown action "${args[0]}": use ${ACTIONS.join(', ')}`);
    if (action === 'list') {
      const { triggers } = await api.request<{ triggers: Trigger[] }>(LIST);
      if (json) {
        printJson(io, { triggers });
        return EXIT_CODES.ok;
      }
      if (triggers.length === 0) io.out('no triggers');
      else formatTable(['TRIGGER', 'EVENT', 'DEFINITION', 'FILTER'], triggers.map((t) => [t.id, t.event, t.definition, t.filter ?? '-'])).forEach((line) => io.out(line));
    } else if (action === 'create') {
      const event = stringOption(options, 'event');
      const definition = stringOption(options, 'definition');
      if (event === undefined || definition === undefined) throw new CliError('triggers create needs --event <type> and --definition <name>');
      const { createTrigger: trigger } = await api.request<{ createTrigger: Trigger }>(CREATE, { event, definition, filter: stringOption(options, 'filter'), input: stringOption(options, 'input') });
      if (json) {
        printJson(io, trigger);
        return EXIT_CODES.ok;
      }
      io.out(`created trigger ${trigger.id}: ${trigger.event} runs ${trigger.definition}`);
    } else {
      const id = stringOption(options, 'id');
      if (id === undefined) throw new CliError('triggers delete needs --id <trigger id> (see trellis triggers list)');
      const { deleteTrigger } = await api.request<{ deleteTrigger: boolean }>(DELETE, { id });
      if (!deleteTrigger) throw new CliError(`no trigger ${id}`, { code: 'NOT_FOUND' });
      if (json) {
        printJson(io, { deleted: id });
        return EXIT_CODES.ok;
      }
      io.out(`deleted trigger ${id}`);
    }
    return EXIT_CODES.ok;
  },
};
