import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Connection } from '@temporalio/client';
import { freePort, isPortFree } from '../net/free-port';
import { guardProcess } from '../support/process-guardian';
import { clearStaleProcess } from '../support/stale-process';

/** Search attribute types accepted by `temporal server start-dev --search-attribute`. */
export const SEARCH_ATTRIBUTE_TYPES = ['Keyword', 'Int', 'Text', 'Datetime', 'Bool', 'Double', 'KeywordList'] as const;
export type SearchAttributeType = (typeof SEARCH_ATTRIBUTE_TYPES)[number];

/** Options of {@link startTemporalDevServer}. */
export interface TemporalDevServerOptions {
  /** Temporal CLI executable, as returned by `resolveTemporalCli`. */
  cliPath: string;
  /** Interface the gRPC service and the Web UI bind to. @default '127.0.0.1' */
  ip?: string;
  /** gRPC port; `0` or `undefined` picks a free port. @default undefined */
  port?: number;
  /** Web UI port; `0` or `undefined` picks a free port; `false` runs headless. @default undefined */
  uiPort?: number | false;
  /** Port of the frontend's HTTP API; `0` or `undefined` picks a free port. @default undefined */
  httpPort?: number;
  /** Port of the server's Prometheus metrics; `0` or `undefined` picks a free port. @default undefined */
  metricsPort?: number;
  /** Where the ports not given come from. @default {@link freePort} */
  freePort?: (host: string, avoid: readonly number[]) => Promise<number>;
  /** Namespace to create at start (`default` always exists). @default 'default' */
  namespace?: string;
  /** SQLite file that keeps runs across restarts; its directory is created. @default undefined (in memory) */
  dbFile?: string;
  /**
   * SQLite pragmas of the `dbFile` (`--sqlite-pragma name=value`); `{}` keeps SQLite's own
   * defaults. Ignored in memory. @default {@link PERSISTENT_SQLITE_PRAGMAS}
   */
  sqlitePragmas?: Readonly<Record<string, string>>;
  /** Search attributes to register, by name. @default {} */
  searchAttributes?: Readonly<Record<string, SearchAttributeType>>;
  /** Server log level (debug, info, warn, error, never). @default 'warn' */
  logLevel?: string;
  /** Further `start-dev` flags, e.g. `['--dynamic-config-value', 'k=v']`. @default [] */
  extraArgs?: readonly string[];
  /** How long to wait for the server to answer and the namespace to exist. @default 30_000 */
  readyTimeoutMs?: number;
  /** How long `stop()` waits after SIGTERM before SIGKILL. @default 10_000 */
  stopTimeoutMs?: number;
  /** Receives one line when the server is ready. @default no logging */
  log?: (message: string) => void;
  /** Receives everything the server writes to stdout and stderr, chunk by chunk (the benchmark reads its warnings). @default ignored */
  onOutput?: (text: string) => void;
}

/**
 * The pragmas a persistent dev server's SQLite file gets unless told otherwise: a write-ahead
 * log instead of a rollback journal, and fsync at checkpoints instead of at every commit. Every
 * workflow task, activity and timer commits a transaction, so the rollback journal's two fsyncs
 * per commit bound how fast runs go. With WAL and `synchronous=NORMAL` a commit survives a crash
 * of the server process; an operating-system crash or power loss can lose the last commits
 * (not corrupt the file), which suits the single-machine default this server is.
 */
export const PERSISTENT_SQLITE_PRAGMAS: Readonly<Record<string, string>> = Object.freeze({ journal_mode: 'wal', synchronous: 'normal' });

/** A running `temporal server start-dev` child process. */
export interface TemporalDevServer {
  /** gRPC address, `host:port`. */
  address: string;
  /** Web UI base URL; `undefined` when headless. */
  uiUrl: string | undefined;
  /** Port of the frontend's HTTP API. */
  httpPort: number;
  /** Port of the server's Prometheus metrics. */
  metricsPort: number;
  namespace: string;
  pid: number;
  /** Stops the server (SIGTERM, then SIGKILL after `stopTimeoutMs`); safe to call twice. */
  stop(): Promise<void>;
}

const OUTPUT_TAIL_CHARS = 4000;
/** Starts tried when a port the server was to listen on was taken meanwhile. */
const PORT_ATTEMPTS = 3;

/**
 * Starts the Temporal dev server (the real server with SQLite and the Web UI in one binary) as a
 * child process and resolves once it answers gRPC and the namespace exists.
 *
 * The child stops when this process exits, and also when it dies without running any hook (an
 * unhandled signal, SIGKILL): a guardian process stops it then (see `guardProcess`). With a
 * `dbFile`, `<dbFile>.pid` names the server and its owner, so a server left running by an owner
 * that is gone is stopped before a new one starts on that file. The child does not keep the event
 * loop alive.
 *
 * Besides the ports it is given, the server's own internal services (history, matching, worker)
 * ask the operating system for any free port. When one of its ports turns out to be taken while
 * it starts (it exits with "address already in use"), it is started again on newly picked ports,
 * up to three times.
 *
 * @throws Error with the tail of the server's output when it exits early or is not ready in time.
 * @example
 * ```ts
 * const server = await startTemporalDevServer({ cliPath, uiPort: false });
 * const connection = await Connection.connect({ address: server.address });
 * await server.stop();
 * ```
 */
export async function startTemporalDevServer(options: TemporalDevServerOptions): Promise<TemporalDevServer> {
  const ip = options.ip ?? '127.0.0.1';
  // First, so that a server left running on this data by a dead owner frees its ports.
  const dbFile = options.dbFile === undefined ? undefined : path.resolve(options.dbFile);
  if (dbFile !== undefined) {
    await fs.mkdir(path.dirname(dbFile), { recursive: true });
    await clearStaleProcess(`${dbFile}.pid`, { program: options.cliPath, mustMention: dbFile, what: `The Temporal dev server on ${dbFile}` });
  }
  // A server already on the port would answer the readiness probe in place of ours.
  const given = { port: options.port, uiPort: options.uiPort, httpPort: options.httpPort, metricsPort: options.metricsPort };
  for (const [what, wanted] of [['gRPC', given.port], ['Web UI', given.uiPort], ['HTTP API', given.httpPort], ['metrics', given.metricsPort]] as const) {
    if (typeof wanted === 'number' && wanted !== 0 && !(await isPortFree(wanted, ip))) {
      throw new Error(`Temporal dev server: ${what} port ${ip}:${wanted} is already in use`);
    }
  }
  const pickPort = options.freePort ?? freePort;
  for (let attempt = 1; ; attempt++) {
    const taken = Object.values(given).filter((port): port is number => typeof port === 'number' && port !== 0);
    const choose = async (wanted: number | undefined): Promise<number> => {
      if (wanted) return wanted;
      const port = await pickPort(ip, taken);
      taken.push(port);
      return port;
    };
    const ports: Ports = {
      port: await choose(given.port),
      uiPort: given.uiPort === false ? undefined : await choose(given.uiPort),
      httpPort: await choose(given.httpPort),
      metricsPort: await choose(given.metricsPort),
    };
    try {
      return await startOnce(options, ip, dbFile, ports);
    } catch (error) {
      if (!(error instanceof StartFailure) || !error.portInUse || attempt === PORT_ATTEMPTS) throw error;
      options.log?.(`Temporal dev server: a port was taken while it started (attempt ${attempt} of ${PORT_ATTEMPTS}); starting it again on other ports`);
    }
  }
}

interface Ports {
  port: number;
  uiPort: number | undefined;
  httpPort: number;
  metricsPort: number;
}

/** The server exited or was not ready; `portInUse` when it could not listen on a port. */
class StartFailure extends Error {
  constructor(
    message: string,
    readonly portInUse: boolean,
  ) {
    super(message);
    this.name = 'Error';
  }
}

async function startOnce(options: TemporalDevServerOptions, ip: string, dbFile: string | undefined, ports: Ports): Promise<TemporalDevServer> {
  const namespace = options.namespace ?? 'default';
  const { port, uiPort, httpPort, metricsPort } = ports;
  const address = `${ip}:${port}`;
  const uiUrl = uiPort === undefined ? undefined : `http://${ip}:${uiPort}`;
  const pidFile = dbFile === undefined ? undefined : `${dbFile}.pid`;

  const args = ['server', 'start-dev', '--ip', ip, '--port', String(port), '--http-port', String(httpPort), '--metrics-port', String(metricsPort)];
  if (namespace !== 'default') args.push('--namespace', namespace);
  if (dbFile !== undefined) {
    args.push('--db-filename', dbFile);
    for (const [name, value] of Object.entries(options.sqlitePragmas ?? PERSISTENT_SQLITE_PRAGMAS)) args.push('--sqlite-pragma', `${name}=${value}`);
  }
  if (uiPort === undefined) args.push('--headless');
  else args.push('--ui-port', String(uiPort), '--ui-disable-news-fetch');
  for (const [name, type] of Object.entries(options.searchAttributes ?? {})) {
    args.push('--search-attribute', `${name}=${type}`);
  }
  args.push('--log-level', options.logLevel ?? 'warn', ...(options.extraArgs ?? []));

  const startedAt = Date.now();
  // Through sh for its umask: the SQLite files the server creates are private (0600), and `exec`
  // keeps the pid, so signals reach the server itself.
  const child = spawn('sh', ['-c', 'umask 077 && exec "$0" "$@"', options.cliPath, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const guard = child.pid === undefined ? undefined : guardProcess(child.pid, { program: options.cliPath });
  if (pidFile !== undefined && child.pid !== undefined) await fs.writeFile(pidFile, `${child.pid}\n${process.pid}\n`, { mode: 0o600 });
  let output = '';
  const capture = (chunk: Buffer): void => {
    const text = chunk.toString('utf8');
    output = (output + text).slice(-OUTPUT_TAIL_CHARS);
    options.onOutput?.(text);
  };
  // Both pipes are drained for the whole life of the child: a full pipe would block the server.
  child.stdout.on('data', capture);
  child.stderr.on('data', capture);

  const exited = new Promise<string>((resolve) => {
    child.once('error', (error) => resolve(`could not be started: ${error.message}`));
    child.once('exit', (code, signal) => resolve(`exited with ${signal ?? `code ${code}`}`));
  });
  let exitReason: string | undefined;
  // Done once the child is gone and its pid file removed (a next start writes that file again).
  const cleanedUp = exited.then(async (reason) => {
    exitReason = reason;
    process.removeListener('exit', killOnExit);
    guard?.release();
    if (pidFile !== undefined) await fs.rm(pidFile, { force: true });
  });
  function killOnExit(): void {
    child.kill('SIGTERM');
  }
  process.on('exit', killOnExit);
  child.unref();
  for (const stream of [child.stdout, child.stderr] as unknown as Array<{ unref?: () => void }>) stream.unref?.();

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      if (exitReason !== undefined) return;
      // Keep this process alive until the child is gone, or the exit hook would cut shutdown short.
      child.ref();
      child.kill('SIGTERM');
      const timedOut = Symbol('timeout');
      const result = await Promise.race([exited, sleep(options.stopTimeoutMs ?? 10_000, timedOut, { ref: false })]);
      if (result === timedOut) {
        child.kill('SIGKILL');
        await exited;
      }
    })();
    return stopping;
  };

  try {
    await waitUntilReady(address, namespace, startedAt + (options.readyTimeoutMs ?? 30_000), () => exitReason);
  } catch (error) {
    const reason = exitReason ?? (error instanceof Error ? error.message : String(error));
    await stop();
    await cleanedUp;
    throw new StartFailure(
      `Temporal dev server (${options.cliPath} ${args.join(' ')}) ${reason}.` + (output.trim() ? `\nLast output:\n${output.trim()}` : ''),
      /address already in use/i.test(output),
    );
  }

  options.log?.(
    `Temporal dev server ready in ${Date.now() - startedAt} ms at ${address} (namespace ${namespace}` +
      `${uiUrl === undefined ? ', headless' : `, Web UI ${uiUrl}`}, ` +
      `${dbFile === undefined ? 'in memory' : `data in ${dbFile}`}, pid ${child.pid})`,
  );
  return { address, uiUrl, httpPort, metricsPort, namespace, pid: child.pid ?? -1, stop };
}

async function waitUntilReady(
  address: string,
  namespace: string,
  deadline: number,
  exitReason: () => string | undefined,
): Promise<void> {
  let connection: Connection | undefined;
  let lastError: unknown;
  try {
    while (exitReason() === undefined) {
      const remaining = deadline - Date.now();
      if (remaining <= 0) {
        const detail = lastError instanceof Error ? `: ${lastError.message}` : '';
        throw new Error(`was not ready within the deadline${detail}`);
      }
      try {
        // gRPC backs off for a second after a refused connection; a plain TCP probe does not.
        if (connection === undefined) await probeTcp(address);
        connection ??= await Connection.connect({ address, connectTimeout: Math.min(1000, remaining) });
        await connection.workflowService.getSystemInfo({});
        await connection.workflowService.describeNamespace({ namespace });
        return;
      } catch (error) {
        lastError = error;
        await sleep(50);
      }
    }
    throw new Error(exitReason());
  } finally {
    await connection?.close();
  }
}

function probeTcp(address: string): Promise<void> {
  const separator = address.lastIndexOf(':');
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: address.slice(0, separator), port: Number(address.slice(separator + 1)) });
    socket.once('connect', () => {
      socket.destroy();
      resolve();
    });
    socket.once('error', (error) => {
      socket.destroy();
      reject(error);
    });
  });
}

