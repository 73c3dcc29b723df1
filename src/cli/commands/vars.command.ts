import { CliError, EXIT_CODES } from '../cli-error';
import { printJson, type CliCommand } from '../command';
import { formatDateTime, formatTable } from '../format';

const LIST = `query Variables { variables { name value updatedAt } }`;
const SET = `mutation Set($name: String!, $value: JSON!) { setVariable(name: $name, value: $value) }`;
const DELETE = `mutation Delete($name: String!) { deleteVariable(name: $name) }`;

const ACTIONS = ['list', 'set', 'delete'] as const;
type VarsAction = (typeof ACTIONS)[number];

/** Longest value shown in a `vars list` row; `--json` prints them whole. */
const MAX_SHOWN = 80;

/**
 * `trellis vars list|set|delete`: the tenant's variables, which definitions read with
 * `$var('NAME')` and runs pin when they start. `set NAME VALUE` takes the value as JSON when it
 * parses as JSON (`3`, `true`, `{"a":1}`, `"text"`), else as the text itself (a URL), or always as
 * text with `--string`.
 */
export const varsCommand: CliCommand = {
  name: 'vars',
  args: ['<list|set|delete>'],
  optionalArgs: ['[name]', '[value]'],
  summary: "list, set or delete the tenant's variables, read by $var('NAME') and pinned per run",
  options: { string: { type: 'boolean' } },
  optionHelp: [
    ['set <name> <value>', 'the value as JSON when it parses as JSON, else as text (a URL…)'],
    ['--string', 'set: take the value as text even when it parses as JSON ("3" stays "3")'],
    ['delete <name>', 'runs in flight keep the value they pinned; new runs reading it cannot start'],
  ],
  async run({ api, io, args, options, json }) {
    const action = args[0] as VarsAction;
    if (!ACTIONS.includes(action)) throw new CliError(`unknown action "${args[0]}": use ${ACTIONS.join(', ')}`);
    const [, name, text] = args;
    const wanted = action === 'list' ? 1 : action === 'set' ? 3 : 2;
    if (args.length !== wanted) {
      throw new CliError(action === 'list' ? 'vars list takes no more arguments' : action === 'set' ? 'usage: trellis vars set <name> <value>' : 'usage: trellis vars delete <name>');
    }
    if (action === 'list') {
      const { variables } = await api.request<{ variables: Array<{ name: string; value: unknown; updatedAt: string }> }>(LIST);
      if (json) printJson(io, { variables });
      else if (variables.length === 0) io.out('no variables');
      else formatTable(['NAME', 'VALUE', 'UPDATED'], variables.map((v) => [v.name, shown(v.value), formatDateTime(v.updatedAt)])).forEach((line) => io.out(line));
      return EXIT_CODES.ok;
    }
    if (action === 'set') {
      const value = options.string === true ? text! : parseValue(text!);
      await api.request(SET, { name, value });
      if (json) printJson(io, { name, value });
      else io.out(`${name} = ${JSON.stringify(value)}; runs started from now on read it (runs in flight keep theirs)`);
      return EXIT_CODES.ok;
    }
    const { deleteVariable: deleted } = await api.request<{ deleteVariable: boolean }>(DELETE, { name });
    if (json) printJson(io, { name, deleted });
    else io.out(deleted ? `deleted ${name}` : `no variable ${name}`);
    return EXIT_CODES.ok;
  },
};

/** The value as JSON when it is JSON, else the text itself. */
function parseValue(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

function shown(value: unknown): string {
  const text = JSON.stringify(value);
  return text.length > MAX_SHOWN ? `${text.slice(0, MAX_SHOWN - 1)}…` : text;
}
