import { runCli } from '../../src/cli/main';

export type CliResult = { code: number; out: string[]; err: string[] };

/**
 * Runs `trellis keys …` against the database at `databaseUrl`, as an operator would (the CLI
 * writes the database directly, never through the API).
 */
export async function keysCli(databaseUrl: string, ...argv: string[]): Promise<CliResult> {
  const out: string[] = [];
  const err: string[] = [];
  const previous = process.env.DATABASE_URL;
  process.env.DATABASE_URL = databaseUrl;
  try {
    const code = await runCli(['keys', ...argv], { out: (line) => out.push(line), err: (line) => err.push(line) });
    return { code, out, err };
  } finally {
    if (previous === undefined) delete process.env.DATABASE_URL;
    else process.env.DATABASE_URL = previous;
  }
}

/** Creates a key with the CLI and returns its id and secret. @throws when the CLI fails */
export async function createKeyWithCli(databaseUrl: string, tenant: string, options: { admin?: boolean; name?: string } = {}): Promise<{ id: string; secret: string }> {
  const result = await keysCli(databaseUrl, 'create', '--tenant', tenant, '--name', options.name ?? 'test', ...(options.admin ? ['--admin'] : []));
  const id = /^created (?:admin )?key ([0-9a-f-]{36}) /.exec(result.out[0] ?? '')?.[1];
  const secret = /^secret {2}(trk_\S+)$/.exec(result.out[1] ?? '')?.[1];
  if (result.code !== 0 || !id || !secret) throw new Error(`trellis keys create failed: ${JSON.stringify(result)}`);
  return { id, secret };
}
