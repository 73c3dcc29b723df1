import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { until } from '../support/until';
import { freePorts } from '../../src/net/free-port';

/**
 * `npm start` with the embedded Temporal dev server and PostgreSQL (its own data directory and
 * ports, not the test servers), killed in the ways a crash kills it. The embedded servers must not
 * outlive it, and the next start on the same ports and data must succeed.
 */

const ROOT = path.resolve(__dirname, '../..');

type Started = { child: ChildProcess; output: () => string; temporalPid: number; postgresPid: number };

let dataDir: string;
let env: NodeJS.ProcessEnv;
const started: ChildProcess[] = [];

beforeAll(async () => {
  dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'trellis-embedded-'));
  // Ports the embedded Temporal server's own services cannot take while Trellis starts.
  const [port, temporalPort, uiPort] = await freePorts(3);
  env = { ...process.env, TRELLIS_DATA_DIR: dataDir, PORT: String(port), TEMPORAL_PORT: String(temporalPort), TEMPORAL_UI_PORT: String(uiPort), TRELLIS_ROLE: 'api' };
  // The embedded servers, not the ones the jest global setup started; the generated secret key.
  for (const name of ['TEMPORAL_ADDRESS', 'TEMPORAL_UI_URL', 'DATABASE_URL', 'TRELLIS_SECRET_KEY']) delete env[name];
});

afterAll(async () => {
  for (const child of started) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  // Whatever a failed test left running on this data directory.
  for (const pid of await processesMentioning(dataDir)) kill(pid, 'SIGKILL');
  await until('nothing runs on the data directory', async () => (await processesMentioning(dataDir)).length === 0, 15_000).catch(() => undefined);
  await fs.rm(dataDir, { recursive: true, force: true });
});

/** Starts `src/main.ts` (node itself, no tsx wrapper: its pid is the one to kill) and waits until it serves. */
async function start(): Promise<Started> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  started.push(child);
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  await until('Trellis is running', () => {
    if (child.exitCode !== null) throw new Error(`Trellis exited with ${child.exitCode}:\n${output}`);
    return output.includes('Press Ctrl+C to stop.');
  }, 120_000).catch((err: unknown) => {
    throw new Error(`${(err as Error).message}\n${output}`);
  });
  const temporalPid = Number(/Temporal dev server ready .* pid (\d+)\)/.exec(output)?.[1]);
  const postgresPid = Number((await fs.readFile(path.join(dataDir, 'postgres', 'postmaster.pid'), 'utf8')).split('\n')[0]);
  expect(running(temporalPid)).toBe(true);
  expect(running(postgresPid)).toBe(true);
  return { child, output: () => output, temporalPid, postgresPid };
}

/** Running: it exists and is not a zombie (an exited process nobody has reaped holds no port or file). */
function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  return !/^\d+ \(.*\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
}

function kill(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

/** Pids of live processes whose command line mentions `text` (the servers name the data directory). */
async function processesMentioning(text: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await fs.readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const cmdline = await fs.readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.includes(text) && running(Number(entry))) pids.push(Number(entry));
  }
  return pids;
}

/** The guardians watching these pids (`sh -c … trellis-guardian <pid> …`). */
async function guardiansOf(pids: number[]): Promise<number[]> {
  const found: number[] = [];
  for (const entry of await fs.readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const args = (await fs.readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '')).split('\0');
    const at = args.indexOf('trellis-guardian');
    if (at >= 0 && pids.includes(Number(args[at + 1]))) found.push(Number(entry));
  }
  return found;
}

async function stopCleanly(trellis: Started): Promise<void> {
  trellis.child.kill('SIGTERM');
  await until('Trellis has stopped', () => trellis.child.exitCode !== null, 60_000);
  expect(trellis.child.exitCode).toBe(0);
  expect([running(trellis.temporalPid), running(trellis.postgresPid)]).toEqual([false, false]);
}

describe('the embedded Temporal server and PostgreSQL', () => {
  it('stop when Trellis is killed with SIGKILL, and the next start on the same ports and data succeeds', async () => {
    const first = await start();
    expect(await guardiansOf([first.temporalPid, first.postgresPid])).toHaveLength(2);
    first.child.kill('SIGKILL');
    await until('both servers have stopped', () => !running(first.temporalPid) && !running(first.postgresPid), 30_000);

    const second = await start();
    expect(second.temporalPid).not.toBe(first.temporalPid);
    await stopCleanly(second);
    // A clean stop releases the guardians: none is left behind.
    expect(await guardiansOf([second.temporalPid, second.postgresPid])).toEqual([]);
  }, 300_000);

  it('are stopped at the next start when they outlived Trellis and their guardians', async () => {
    const first = await start();
    for (const pid of await guardiansOf([first.temporalPid, first.postgresPid])) kill(pid, 'SIGKILL');
    first.child.kill('SIGKILL');
    await until('Trellis is gone', () => first.child.exitCode !== null || first.child.signalCode !== null);
    expect([running(first.temporalPid), running(first.postgresPid)]).toEqual([true, true]);

    const second = await start();
    expect([running(first.temporalPid), running(first.postgresPid)]).toEqual([false, false]);
    await stopCleanly(second);
  }, 300_000);

  it('start again after everything was killed at once, over their stale pid files', async () => {
    const first = await start();
    const everything = [first.child.pid!, first.temporalPid, first.postgresPid, ...(await guardiansOf([first.temporalPid, first.postgresPid]))];
    for (const pid of everything) kill(pid, 'SIGKILL');
    await until('everything is gone', () => everything.every((pid) => !running(pid)), 30_000);
    await expect(fs.access(path.join(dataDir, 'postgres', 'postmaster.pid'))).resolves.toBeUndefined();
    await expect(fs.access(path.join(dataDir, 'temporal.db.pid'))).resolves.toBeUndefined();

    await stopCleanly(await start());
  }, 300_000);

  it('keep the data directory and its files private to the user', async () => {
    const stat = async (name: string) => (await fs.stat(path.join(dataDir, name))).mode & 0o777;
    // As root, PostgreSQL runs as the postgres user, which must pass through the data directory.
    expect(await stat('.')).toBe(process.getuid?.() === 0 ? 0o711 : 0o700);
    expect(await stat('postgres')).toBe(0o700);
    for (const file of ['secret.key', 'temporal.db', 'temporal.db-wal', 'temporal.db-shm']) {
      const mode = await stat(file).catch(() => undefined);
      if (file === 'secret.key' || file === 'temporal.db') expect(mode).toBeDefined();
      if (mode !== undefined) expect({ file, mode: mode.toString(8) }).toEqual({ file, mode: '600' });
    }
  });
});
