import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');
const TSX = path.join(ROOT, 'node_modules/.bin/tsx');

/** What `src/main.ts` prints once each role is ready: the API's banner names its URL. */
const READY: Record<'api' | 'worker', RegExp> = {
  api: /GraphQL:\s+(\S+)/,
  worker: /Trellis is running \(role: worker\)/,
};

/**
 * `sh` starts Trellis (`$0` is tsx) and exits with its status; a second job reads the stdin pipe
 * (through fd 3: `sh` gives background jobs /dev/null as stdin) and, at end-of-file, stops the
 * whole group: SIGTERM, SIGKILL 10 s later. End-of-file comes when the test process is gone,
 * however it ended (Ctrl+C, jest killing a worker), which an exit hook cannot catch: jest gives
 * test files a copy of `process` whose `'exit'` event never fires.
 */
const WATCHDOG = `exec 3<&0
"$0" src/main.ts 3<&- & trellis=$!
(cat <&3 >/dev/null; trap '' TERM; kill -TERM 0; sleep 10; kill -KILL 0) &
exec 3<&-
wait "$trellis"`;

/**
 * A Trellis API or worker (`TRELLIS_ROLE`) in a child process of its own, started as `npm start`
 * would start it. The child leads its own process group (`tsx` runs the entry point in a
 * grandchild and cannot pass signals on), so signals go to the whole group. The group stops
 * itself if the test process ends without stopping it.
 */
export class TrellisProcess {
  private output = '';
  private url = '';
  private readonly exited: Promise<void>;

  private constructor(private readonly child: ChildProcess) {
    const collect = (chunk: Buffer): void => {
      this.output += chunk.toString();
    };
    child.stdout!.on('data', collect);
    child.stderr!.on('data', collect);
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
  }

  /**
   * Starts `src/main.ts` with `env` (which must name the database, the Temporal server, the task
   * queue and the secret key) in `role`, an API on a port the system picks, and waits until it
   * is ready.
   * @throws when the process exits first, or is not ready within `limitMs`, with its output;
   *   the process is gone by then.
   */
  static async start(role: 'api' | 'worker', env: Record<string, string>, limitMs = 60_000): Promise<TrellisProcess> {
    const child = spawn('sh', ['-c', WATCHDOG, TSX], {
      cwd: ROOT,
      env: { ...process.env, ...env, TRELLIS_ROLE: role, ...(role === 'api' ? { PORT: '0' } : {}) },
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: true,
    });
    const started = new TrellisProcess(child);
    try {
      started.url = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`the ${role} was not ready within ${limitMs} ms:\n${started.output}`)), limitMs);
        const check = (): void => {
          const match = READY[role].exec(started.output);
          if (!match) return;
          clearTimeout(timer);
          resolve(match[1] ?? '');
        };
        child.stdout!.on('data', check);
        child.once('exit', (code, signal) => {
          clearTimeout(timer);
          reject(new Error(`the ${role} exited (${signal ?? code}) before it was ready:\n${started.output}`));
        });
      });
    } catch (err) {
      await started.kill();
      throw err;
    }
    return started;
  }

  /** An API's `http://127.0.0.1:<port>/graphql`; subscriptions use the same path over `ws://`. */
  get graphqlUrl(): string {
    return this.url;
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** Everything the process printed so far, for failure messages. */
  get log(): string {
    return this.output;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /**
   * Stops the process as `kill <pid>` would stop `npm start` (SIGTERM to the group), SIGKILLs the
   * group if it is still there after `graceMs`, and resolves once no process of the group is left.
   * @throws when the group outlives its SIGKILL by `graceMs`.
   */
  async stop(graceMs = 10_000): Promise<void> {
    signalGroup(this.pid, 'SIGTERM');
    if (!(await groupGoneWithin(this.pid, graceMs))) await this.kill(graceMs);
    await this.exited;
    this.child.stdin!.destroy();
  }

  /** SIGKILLs the whole group (no shutdown, no drain) and resolves once no process of it is left. Safe to call more than once. */
  async kill(graceMs = 10_000): Promise<void> {
    signalGroup(this.pid, 'SIGKILL');
    if (!(await groupGoneWithin(this.pid, graceMs))) throw new Error(`process group ${this.pid} survived SIGKILL:\n${this.output}`);
    await this.exited;
    this.child.stdin!.destroy();
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: the group is already gone
  }
}

/** Signal 0 checks for existence: it fails with ESRCH once no process of the group is left. */
function groupExists(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function groupGoneWithin(pid: number, limitMs: number): Promise<boolean> {
  const deadline = Date.now() + limitMs;
  while (groupExists(pid)) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return true;
}
