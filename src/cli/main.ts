import { parseArgs, type ParseArgsConfig } from 'node:util';
import { createApiClient, type ApiClient } from './api-client';
import { resolveApiKey, resolveApiUrl, DEFAULT_API_URL } from './cli-config';
import { CliError, EXIT_CODES } from './cli-error';
import type { CliCommand, CliIo } from './command';
import { applyCommand } from './commands/apply.command';
import { cancelCommand } from './commands/cancel.command';
import { definitionsCommand } from './commands/definitions.command';
import { eventsCommand } from './commands/events.command';
import { logsCommand } from './commands/logs.command';
import { keysCommand } from './commands/keys.command';
import { publishCommand } from './commands/publish.command';
import { runCommand } from './commands/run.command';
import { runsCommand } from './commands/runs.command';
import { schedulesCommand } from './commands/schedules.command';
import { triggersCommand } from './commands/triggers.command';
import { retryCommand } from './commands/retry.command';
import { signalCommand } from './commands/signal.command';
import { statusCommand } from './commands/status.command';
import { testCommand } from './commands/test.command';
import { validateCommand } from './commands/validate.command';
import { webhooksCommand } from './commands/webhooks.command';
import { varsCommand } from './commands/vars.command';
import { formatFieldErrors } from './format';

/** Every command, in the order the usage lists them. */
export const COMMANDS: readonly CliCommand[] = [
  validateCommand,
  applyCommand,
  testCommand,
  definitionsCommand,
  runCommand,
  runsCommand,
  statusCommand,
  eventsCommand,
  logsCommand,
  cancelCommand,
  retryCommand,
  signalCommand,
  webhooksCommand,
  triggersCommand,
  schedulesCommand,
  publishCommand,
  varsCommand,
  keysCommand,
];

const GLOBAL_OPTIONS = {
  url: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies NonNullable<ParseArgsConfig['options']>;

const GLOBAL_HELP: Array<[string, string]> = [
  ['--url <url>', `the GraphQL API (default: $TRELLIS_URL, else ${DEFAULT_API_URL})`],
  ['--json', 'print JSON: one document, or one object a line for --follow (errors too, on stderr)'],
  ['-h, --help', 'show this help'],
];

/**
 * Runs one `trellis` command line and returns its exit code: 0 on success, 1 when something is
 * invalid or refused (or a followed run did not complete), 2 when the API cannot be reached.
 * Never throws and never exits, so tests run it in-process.
 * @param argv the arguments after the program name, e.g. `['run', 'order', '--follow']`
 * @param io where output and error go (each call is a line, or a block of lines, without the final newline)
 * @example
 * const code = await runCli(['validate', 'order.json', '--url', url], { out: (l) => lines.push(l), err: (l) => lines.push(l) });
 */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  let api: ApiClient | undefined;
  // Known before parsing, so that even a usage error is reported as JSON.
  const json = argv.includes('--json');
  try {
    const { command, help } = findCommand(argv);
    if (help) {
      io.out(command ? commandUsage(command) : usage());
      return EXIT_CODES.ok;
    }
    const { values, positionals } = parseCommandLine(command, argv);
    if (values.help === true) {
      io.out(commandUsage(command));
      return EXIT_CODES.ok;
    }
    api = createApiClient(resolveApiUrl(typeof values.url === 'string' ? values.url : undefined), resolveApiKey());
    return await command.run({ api, io, args: positionals.slice(1), options: values, json });
  } catch (err) {
    if (!(err instanceof CliError)) {
      const message = `unexpected failure: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`;
      io.err(json ? JSON.stringify({ error: { message } }) : `error: ${message}`);
      return EXIT_CODES.failed;
    }
    if (json) {
      io.err(JSON.stringify({ error: { message: err.message, code: err.code ?? null, errors: err.fieldErrors } }));
      return err.exitCode;
    }
    io.err(`error: ${err.message}`);
    formatFieldErrors(err.fieldErrors).forEach((line) => io.err(line));
    return err.exitCode;
  } finally {
    await api?.close();
  }
}

/** The usage text of the whole CLI (`trellis --help`). */
export function usage(): string {
  const commands: Array<[string, string]> = [
    ...COMMANDS.map((c): [string, string] => [synopsis(c), c.summary]),
    ['help [command]', 'show this help, or the help of one command'],
  ];
  const sections = ['Usage: trellis <command> [options]', '', 'Commands:', ...columns(commands)];
  for (const command of COMMANDS) {
    if (command.optionHelp.length > 0) sections.push('', `Options of ${command.name}:`, ...columns(command.optionHelp));
  }
  sections.push('', 'Global options:', ...columns(GLOBAL_HELP), '', ...FOOTER);
  return sections.join('\n');
}

function commandUsage(command: CliCommand): string {
  const sections = [`Usage: trellis ${synopsis(command)} [options]`, '', command.summary];
  if (command.optionHelp.length > 0) sections.push('', 'Options:', ...columns(command.optionHelp));
  sections.push('', 'Global options:', ...columns(GLOBAL_HELP), '', ...FOOTER);
  return sections.join('\n');
}

const FOOTER = [
  'Definition and input files are JSON (.json) or YAML (.yaml, .yml; other names: either).',
  'Exit codes: 0 done; 1 invalid, refused, or a followed run that did not complete;',
  '            2 the API could not be reached.',
];

/** A command's name and arguments as the usage shows them: `vars <list|set|delete> [name] [value]`. */
function synopsis(command: CliCommand): string {
  return [command.name, ...command.args, ...(command.optionalArgs ?? [])].join(' ');
}

function columns(rows: Array<[string, string]>): string[] {
  const width = Math.max(...rows.map(([left]) => left.length));
  return rows.map(([left, right]) => `  ${left.padEnd(width)}  ${right}`);
}

/**
 * The command named by the first positional argument, and whether help was asked for:
 * `trellis`, `trellis --help` and `trellis help` show the usage; `trellis help run` is `trellis run --help`.
 */
function findCommand(argv: string[]): { command: CliCommand; help: boolean } | { command: undefined; help: true } {
  // Every command's flags are known here so that a flag's value is not taken for the command name.
  const options = Object.assign({}, GLOBAL_OPTIONS, ...COMMANDS.map((c) => c.options)) as NonNullable<ParseArgsConfig['options']>;
  const { positionals } = parseArgs({ args: argv, options, strict: false, allowPositionals: true });
  const [name, topic] = positionals;
  if (name === undefined) {
    if (argv.includes('--help') || argv.includes('-h')) return { command: undefined, help: true };
    throw new CliError(`no command given\n\n${usage()}`);
  }
  if (name === 'help') return topic === undefined ? { command: undefined, help: true } : { command: commandNamed(topic), help: true };
  return { command: commandNamed(name), help: false };
}

function commandNamed(name: string): CliCommand {
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) throw new CliError(`unknown command "${name}"; commands: ${COMMANDS.map((c) => c.name).join(', ')} (see trellis --help)`);
  return command;
}

function parseCommandLine(command: CliCommand, argv: string[]) {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: { ...GLOBAL_OPTIONS, ...command.options }, strict: true, allowPositionals: true });
  } catch (err) {
    // parseArgs's own messages name the flag ("Unknown option '--foo'", "Option '--input <value>' argument missing").
    throw new CliError(`${(err as Error).message}\n(see trellis ${command.name} --help)`);
  }
  const args = parsed.positionals.slice(1);
  const most = command.args.length + (command.optionalArgs?.length ?? 0);
  if (parsed.values.help !== true && (args.length < command.args.length || args.length > most)) {
    const expected = `trellis ${synopsis(command)}`;
    throw new CliError(args.length < command.args.length ? `missing ${command.args[args.length]}: ${expected}` : `too many arguments: ${expected}`);
  }
  return parsed;
}

async function main(): Promise<void> {
  const write = (stream: NodeJS.WriteStream) => (line: string) => void stream.write(`${line}\n`);
  const code = await runCli(process.argv.slice(2), { out: write(process.stdout), err: write(process.stderr) });
  // Exit now rather than wait for fetch's idle keep-alive sockets to time out.
  process.exit(code);
}

if (require.main === module) void main();
