import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');
const TSX = path.join(ROOT, 'node_modules/.bin/tsx');
/** What `src/main.ts` prints once the worker polls its task queue. */
const READY = 'Trellis is running (role: worker)';

/** Every worker process started and not yet known to have exited, for the exit hook below. */
const live = new Set<WorkerProcess>();

/**
 * A Trellis worker (`TRELLIS_ROLE=worker`) in a child process of its own, started as `npm start`
 * would start it, that a test can kill without warning. The child leads its own process group:
 * `tsx` runs the entry point in a grandchild and cannot pass on a SIGKILL, so signals go to the
 * whole group.
 */
export class WorkerProcess {
  private output = '';
  private readonly exited: Promise<void>;

  private constructor(private readonly child: ChildProcess) {
    const collect = (chunk: Buffer): void => {
      this.output += chunk.toString();
    };
    child.stdout!.on('data', collect);
    child.stderr!.on('data', collect);
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    live.add(this);
    void this.exited.then(() => live.delete(this));
  }

  /**
   * Starts `src/main.ts` with `env` (which must name the database, the Temporal server, the task
   * queue and the secret key) and `TRELLIS_ROLE=worker`, and waits for its readiness line.
   * @throws when the process exits first, or is not ready within `limitMs`, with its output.
   */
  static async start(env: Record<string, string>, limitMs = 60_000): Promise<WorkerProcess> {
    const child = spawn(TSX, ['src/main.ts'], {
      cwd: ROOT,
      env: { ...process.env, ...env, TRELLIS_ROLE: 'worker' },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    const worker = new WorkerProcess(child);
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`the worker was not ready within ${limitMs} ms:\n${worker.output}`)), limitMs);
        const check = (): void => {
          if (!worker.output.includes(READY)) return;
          clearTimeout(timer);
          resolve();
        };
        child.stdout!.on('data', check);
        child.once('exit', (code, signal) => {
          clearTimeout(timer);
          reject(new Error(`the worker exited (${signal ?? code}) before it was ready:\n${worker.output}`));
        });
      });
    } catch (err) {
      await worker.kill();
      throw err;
    }
    return worker;
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

  /** SIGKILLs the whole process group (no shutdown, no drain) and waits until the child is gone. */
  async kill(): Promise<void> {
    killGroup(this.pid);
    await this.exited;
  }
}

function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // ESRCH: the group is already gone
  }
}

// Even if the test process ends without its afterAll (a crash, jest's forced exit), no worker
// is left behind to take tasks from the shared Temporal server.
process.once('exit', () => {
  for (const worker of live) killGroup(worker.pid);
});
