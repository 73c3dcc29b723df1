import type { ParseArgsConfig } from 'node:util';
import type { ApiClient } from './api-client';
import type { ExitCode } from './cli-error';

/** Where a command writes: one line (or a block of lines) per call, without the trailing newline. */
export type CliIo = { out: (line: string) => void; err: (line: string) => void };

/** The parsed flags of a command line (`--input x` → `{ input: 'x' }`, `--follow` → `{ follow: true }`). */
export type CliOptions = Record<string, string | boolean | Array<string | boolean> | undefined>;

/** What a command runs with. */
export type CommandContext = {
  api: ApiClient;
  io: CliIo;
  /** The positional arguments after the command name: those {@link CliCommand.args} names, then any optional ones given. */
  args: string[];
  options: CliOptions;
  /**
   * `--json`: print machine-readable output instead of text, one JSON document (see
   * {@link printJson}), or one JSON object a line while following a run.
   */
  json: boolean;
};

/** One `trellis <command>`: its help, its flags and what it does. */
export type CliCommand = {
  name: string;
  /** Positional arguments, all required, as shown in the usage (`<file>`). */
  args: string[];
  /** Positional arguments that may follow the required ones, as shown in the usage (`[name]`). */
  optionalArgs?: string[];
  /** One line for the command list. */
  summary: string;
  /** Flags besides the global `--url` and `--help`, with one help line each. */
  options: NonNullable<ParseArgsConfig['options']>;
  optionHelp: Array<[flag: string, help: string]>;
  /** Runs the command; throws CliError for anything the user should read. */
  run(ctx: CommandContext): Promise<ExitCode>;
};

/**
 * The string value of a flag, or undefined when it was not given.
 * @example stringOption(ctx.options, 'input')
 */
export function stringOption(options: CliOptions, name: string): string | undefined {
  const value = options[name];
  return typeof value === 'string' ? value : undefined;
}

/** Prints `value` as one line of JSON: the whole output of a command under `--json`, or one line of a followed run. */
export function printJson(io: CliIo, value: unknown): void {
  io.out(JSON.stringify(value ?? null));
}
