import { spawn } from 'node:child_process';
import path from 'node:path';

/**
 * The guardian: `sh` holding the read end of a pipe whose write end only this process holds.
 * The kernel closes that end when this process dies, however it dies (SIGKILL included), so the
 * guardian reads end-of-file and stops the server. `release` first means the server was stopped
 * cleanly and the guardian leaves. It ignores the terminal's signals, which reach the whole
 * process group, so a Ctrl+C cannot take it down before it has done its job; a SIGKILL of the
 * whole group takes it with the server.
 *
 * `$1` pid, `$2` signal (TERM, INT…), `$3` the program's name as /proc/<pid>/comm shows it (a pid
 * reused by another program is left alone; an exited one not yet reaped, a zombie, is gone), `$4`
 * seconds before SIGKILL.
 */
const GUARDIAN_SCRIPT = `trap '' INT TERM HUP
pid=$1 signal=$2 name=$3 grace=$4
read -r word || true
[ "$word" = release ] && exit 0
ours() {
  if [ -r "/proc/$pid/stat" ]; then
    read -r _ _ state _ < "/proc/$pid/stat" 2>/dev/null || return 1
    [ "$state" = Z ] && return 1
    case "$(cat "/proc/$pid/comm" 2>/dev/null)" in "$name"*) return 0 ;; esac
    return 1
  fi
  kill -0 "$pid" 2>/dev/null
}
ours || exit 0
kill -s "$signal" "$pid" 2>/dev/null
i=0
while ours; do
  if [ "$i" -ge $((grace * 10)) ]; then kill -s KILL "$pid" 2>/dev/null; exit 0; fi
  sleep 0.1
  i=$((i + 1))
done`;

/** Options of {@link guardProcess}. */
export type GuardOptions = {
  /** Signal that asks the process to stop, without `SIG`. @default 'TERM' */
  signal?: 'TERM' | 'INT' | 'QUIT';
  /** Path or name of the program, to tell it from an unrelated process that got its pid. */
  program: string;
  /** Seconds between `signal` and SIGKILL. @default 10 */
  graceSeconds?: number;
};

/** A running guardian. */
export type ProcessGuard = {
  /** The process was stopped cleanly: the guardian leaves without signalling anything. Idempotent. */
  release(): void;
};

/**
 * Makes sure process `pid` (a server this process started) stops when this process dies, however
 * it dies, SIGKILL included: `exit` hooks and signal handlers cannot run then, so a small guardian
 * process (`sh`) waits on a pipe from this one and, at end-of-file, sends `signal`, then SIGKILL
 * after the grace period. Call `release()` once the process has been stopped normally.
 *
 * The guardian keeps neither this process's event loop alive nor any other child from seeing the
 * pipe (Node opens it close-on-exec).
 * @example
 * ```ts
 * const guard = guardProcess(child.pid, { program: cliPath });
 * // … later, after a clean stop:
 * guard.release();
 * ```
 */
export function guardProcess(pid: number, options: GuardOptions): ProcessGuard {
  // /proc/<pid>/comm holds at most 15 characters of the program's file name.
  const name = path.basename(options.program).slice(0, 15);
  const guardian = spawn('sh', ['-c', GUARDIAN_SCRIPT, 'trellis-guardian', String(pid), options.signal ?? 'TERM', name, String(options.graceSeconds ?? 10)], {
    stdio: ['pipe', 'ignore', 'ignore'],
  });
  guardian.on('error', () => undefined); // no sh: nothing guards, as before guardians existed
  guardian.stdin.on('error', () => undefined); // the guardian already left
  guardian.unref();
  (guardian.stdin as unknown as { unref?: () => void }).unref?.();
  let released = false;
  return {
    release() {
      if (released) return;
      released = true;
      guardian.stdin.end('release\n');
    },
  };
}
