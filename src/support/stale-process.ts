import fs from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** Whether a process with this pid exists (EPERM: it does, under another user). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Whether `pid` runs `program` with `mention` among its arguments, from `/proc/<pid>/cmdline`;
 * `true` where `/proc` is not available (the pid is then all there is to go by).
 */
export async function runsProgram(pid: number, program: string, mention: string): Promise<boolean> {
  const cmdline = await fs.readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => undefined);
  if (cmdline === undefined) return (await fs.stat('/proc/self').catch(() => undefined)) === undefined;
  const [argv0 = '', ...args] = cmdline.split('\0');
  return path.basename(argv0) === path.basename(program) && args.some((arg) => arg.includes(mention));
}

/** Options of {@link clearStaleProcess}. */
export type StaleProcessOptions = {
  /** The server's program, as started. */
  program: string;
  /** An argument the server was started with that ties it to this data (its data file). */
  mustMention: string;
  /** Names the server in the error thrown when its owner still runs. */
  what: string;
  /** How long SIGTERM has before SIGKILL. @default 10_000 */
  graceMs?: number;
};

/**
 * Handles a pid file (`<server pid>\n<owner pid>\n`) left by an earlier start, before a server is
 * started again on the same data: a server still running for an owner that is gone (one the
 * guardian could not stop, e.g. a machine under memory pressure) is stopped (SIGTERM, SIGKILL
 * after the grace period); a pid file naming no such server (it exited, or its pid was reused by
 * another program) is removed.
 * @throws Error when the server runs for an owner that is still alive
 */
export async function clearStaleProcess(pidFile: string, options: StaleProcessOptions): Promise<void> {
  const lines = await fs.readFile(pidFile, 'utf8').then((text) => text.split('\n'), () => undefined);
  if (lines === undefined) return;
  const [server, owner] = [Number(lines[0]), Number(lines[1])];
  if (Number.isInteger(server) && server > 0 && isAlive(server) && (await runsProgram(server, options.program, options.mustMention))) {
    if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && isAlive(owner)) {
      throw new Error(
        `${options.what} is already running (pid ${server}) for process ${owner}: ` +
          'stop that process, or point this one at another data directory',
      );
    }
    process.kill(server, 'SIGTERM');
    const deadline = Date.now() + (options.graceMs ?? 10_000);
    while (isAlive(server) && Date.now() < deadline) await sleep(50);
    if (isAlive(server)) process.kill(server, 'SIGKILL');
    // A killed process whose new parent does not reap it stays a zombie: it holds no port or lock.
    const killedBy = Date.now() + 5_000;
    while (isAlive(server) && Date.now() < killedBy) await sleep(50);
  }
  await fs.rm(pidFile, { force: true });
}
