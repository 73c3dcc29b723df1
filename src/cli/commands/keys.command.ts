import path from 'node:path';
import type { Kysely } from 'kysely';
import { allowKeyless, createApiKey, keysRequired, listApiKeys, revokeApiKey } from '../../api/api-keys';
import { loadConfig } from '../../config';
import { createDatabase } from '../../db/create-database';
import type { ApiKeyRow, Database } from '../../db/database';
import { runningEmbeddedPostgresUrl } from '../../db/embedded-postgres';
import { migrateToLatest } from '../../db/migrator';
import { TrellisError } from '../../errors';
import { CliError, EXIT_CODES } from '../cli-error';
import { printJson, stringOption, type CliCommand, type CliIo } from '../command';

const ACTIONS = ['create', 'list', 'revoke', 'allow-keyless'] as const;

/**
 * `trellis keys create|list|revoke|allow-keyless`: manages API keys with direct database access
 * (SPEC §5: operators create tenants and their first key this way). Uses `DATABASE_URL`, else
 * the embedded PostgreSQL under `TRELLIS_DATA_DIR` (the running one, or started for the command).
 * A revocation takes effect at once in every API process (a trigger notifies them).
 */
export const keysCommand: CliCommand = {
  name: 'keys',
  args: ['<create|list|revoke|allow-keyless>'],
  summary: 'manage API keys in the database directly (operators; no API key needed)',
  options: { tenant: { type: 'string' }, name: { type: 'string' }, admin: { type: 'boolean' }, id: { type: 'string' } },
  optionHelp: [
    ['--tenant <name>', 'create: the tenant the key acts for (created with its first key); list: only its keys'],
    ['--name <text>', 'create: what the key is for (default: "cli")'],
    ['--admin', 'create: the key may create and revoke the tenant\'s keys'],
    ['--id <key id>', 'revoke: the key to revoke'],
    ['allow-keyless', 'once every key is revoked: serve loopback clients without a key again, as tenant "default"'],
  ],
  async run({ io, args, options, json }) {
    const action = args[0] as (typeof ACTIONS)[number];
    if (!ACTIONS.includes(action)) throw new CliError(`unknown action "${args[0]}": use ${ACTIONS.join(', ')}`);
    const tenant = stringOption(options, 'tenant');
    const id = stringOption(options, 'id');
    if (action === 'create' && tenant === undefined) throw new CliError('keys create needs --tenant <name>');
    if (action === 'revoke' && id === undefined) throw new CliError('keys revoke needs --id <key id> (see trellis keys list)');
    return withOwnerDatabase(async (db) => {
      if (action === 'create') {
        const { row, secret } = await createApiKey(db, tenant!, stringOption(options, 'name') ?? 'cli', options.admin === true);
        if (json) {
          printJson(io, { ...keyJson(row), secret });
          return EXIT_CODES.ok;
        }
        io.out(`created ${row.admin ? 'admin ' : ''}key ${row.id} (${row.name}) of tenant ${row.tenant_id}`);
        io.out(`secret  ${secret}`);
        io.out('Store the secret now: it is not shown again. Clients send it as "Authorization: Bearer <secret>" (the CLI reads TRELLIS_API_KEY).');
      } else if (action === 'list') {
        const rows = await listApiKeys(db, tenant);
        if (json) {
          printJson(io, { keysRequired: await keysRequired(db), keys: rows.map(keyJson) });
          return EXIT_CODES.ok;
        }
        if (rows.length === 0 && tenant) io.out(`tenant ${tenant} has no keys`);
        else if (rows.length === 0 || !rows.some((row) => row.revoked_at === null)) io.out(await modeLine(db));
        rows.forEach((row) => io.out(keyLine(row)));
      } else if (action === 'allow-keyless') {
        if (!(await allowKeyless(db))) throw new CliError('a key is still active: revoke every key first (see trellis keys list)');
        if (json) printJson(io, { keysRequired: false });
        else io.out('keyless mode: the API serves loopback clients without a key, as tenant "default", until the next key is created');
      } else {
        if (!/^[0-9a-f-]{36}$/i.test(id!)) throw new CliError(`--id: "${id}" is not a key id (see trellis keys list)`);
        const row = await revokeApiKey(db, id!);
        if (!row) throw new CliError(`no key ${id}`);
        if (json) printJson(io, keyJson(row));
        else io.out(`revoked key ${row.id} (${row.name}) of tenant ${row.tenant_id}`);
      }
      return EXIT_CODES.ok;
    }, io);
  },
};

async function modeLine(db: Kysely<Database>): Promise<string> {
  return (await keysRequired(db))
    ? 'no active keys: every request is refused until a key is created (keys were used; trellis keys allow-keyless returns to keyless mode)'
    : 'no keys: the API serves loopback clients as tenant "default"';
}

/** A key as `--json` prints it: never its hash. */
function keyJson(row: ApiKeyRow) {
  return { id: row.id, tenant: row.tenant_id, name: row.name, admin: row.admin, prefix: row.key_prefix, revokedAt: row.revoked_at?.toISOString() ?? null };
}

function keyLine(row: ApiKeyRow): string {
  const state = row.revoked_at ? `revoked ${row.revoked_at.toISOString()}` : 'active';
  return `${row.id}  ${row.tenant_id}  ${row.name}${row.admin ? ' (admin)' : ''}  ${row.key_prefix}…  ${state}`;
}

async function withOwnerDatabase<T>(work: (db: Kysely<Database>) => Promise<T>, io: CliIo): Promise<T> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    throw new CliError((err as Error).message);
  }
  const dataDir = path.join(config.dataDir, 'postgres');
  let url = config.databaseUrl ?? (await runningEmbeddedPostgresUrl(dataDir));
  let stopEmbedded: (() => Promise<void>) | undefined;
  if (!url) {
    const { startEmbeddedPostgres } = await import('../../db/embedded-postgres');
    const server = await startEmbeddedPostgres({ dataDir, log: (line) => io.err(line) });
    url = server.url;
    stopEmbedded = server.stop;
  }
  const db = createDatabase(url, { max: 2 });
  try {
    await migrateToLatest(db);
    return await work(db);
  } catch (err) {
    if (err instanceof TrellisError) throw new CliError(err.message, { fieldErrors: err.errors });
    throw err;
  } finally {
    await db.destroy();
    await stopEmbedded?.();
  }
}
