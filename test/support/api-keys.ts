import { runCli } from '../../src/cli/main';

/**
 * Creates an admin API key of `tenant` with `trellis keys create`, as an operator would, against
 * the database at `databaseUrl`, and returns the key.
 * @throws when the CLI fails or prints no key.
 */
export async function createAdminKey(databaseUrl: string, tenant: string): Promise<string> {
  const out: string[] = [];
  const err: string[] = [];
  const previous = process.env.DATABASE_URL;
  process.env.DATABASE_URL = databaseUrl;
  try {
    const code = await runCli(['keys', 'create', '--tenant', tenant, '--admin'], { out: (line) => out.push(line), err: (line) => err.push(line) });
    const key = out.map((line) => /^secret {2}(trk_\S+)$/.exec(line)?.[1]).find((found) => found !== undefined);
    if (code !== 0 || key === undefined) throw new Error(`trellis keys create failed (${code}):\n${[...out, ...err].join('\n')}`);
    return key;
  } finally {
    if (previous === undefined) delete process.env.DATABASE_URL;
    else process.env.DATABASE_URL = previous;
  }
}
