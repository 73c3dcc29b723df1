import { runCli } from '../../src/cli/main';
import type { TestContext } from './test-context';

/** What one `trellis` command printed, line by line, and its exit code. */
export type CliResult = { code: number; out: string[]; err: string[] };

/**
 * A function that runs the CLI in-process against `ctx`'s API (unless the arguments name their
 * own --url), as a user would type it after `trellis`.
 * @example const cli = cliFor(ctx); const { code, out } = await cli('runs', '--waiting');
 */
export function cliFor(ctx: TestContext): (...argv: string[]) => Promise<CliResult> {
  return async (...argv) => {
    const out: string[] = [];
    const err: string[] = [];
    const args = argv.includes('--url') ? argv : [...argv, '--url', ctx.graphqlUrl];
    const code = await runCli(args, { out: (line) => out.push(line), err: (line) => err.push(line) });
    return { code, out, err };
  };
}

/** The id on the `run  <id>` line a started run prints. */
export function runIdOf(result: CliResult): string {
  const line = result.out.find((l) => /^run +[0-9a-f-]{36}$/.test(l));
  if (!line) throw new Error(`no run line in:\n${[...result.out, ...result.err].join('\n')}`);
  return line.split(/ +/)[1]!;
}
