import { randomInt } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import net from 'node:net';

/** Lowest port handed out; below it lie well-known services' ports. */
const LOWEST = 15_000;
/** Linux's default ephemeral range starts here (macOS's and Windows' at 49152). */
const DEFAULT_EPHEMERAL_LOW = 32_768;
/** Random tries in the range before asking the operating system for any free port. */
const TRIES = 200;

/**
 * Asks for a TCP port that is free right now on `host`.
 *
 * The port is picked at random below the operating system's ephemeral range (Linux's
 * `ip_local_port_range`, 32768–60999 by default), where the system never assigns ports itself: a
 * server that asks for "any free port" (the Temporal dev server's internal services do) or an
 * outgoing connection cannot take it while the caller starts the server meant for it. A port the
 * system handed out is released at once and is often handed out again moments later, to whoever
 * asks next. When the range below holds no free port, the system's own choice is returned.
 *
 * The port is released before this resolves, so another process may still bind it first; callers
 * that spawn servers should report a bind failure clearly rather than assume.
 *
 * @param host Interface to probe. @default '127.0.0.1'
 * @param avoid Ports not to return (ones already picked and not bound yet). @default []
 * @returns A port number between 1024 and 65535.
 * @example
 * ```ts
 * const port = await freePort();
 * ```
 */
export async function freePort(host = '127.0.0.1', avoid: readonly number[] = []): Promise<number> {
  const ephemeralStart = await ephemeralLow();
  if (ephemeralStart - LOWEST >= 1_000) {
    for (let tries = 0; tries < TRIES; tries++) {
      const port = randomInt(LOWEST, ephemeralStart);
      if (!avoid.includes(port) && (await isPortFree(port, host))) return port;
    }
  }
  for (;;) {
    const port = await systemFreePort(host);
    if (!avoid.includes(port)) return port;
  }
}

/**
 * `count` distinct TCP ports, each free right now on `host` (see {@link freePort}).
 * @param host Interface to probe. @default '127.0.0.1'
 */
export async function freePorts(count: number, host = '127.0.0.1'): Promise<number[]> {
  const ports: number[] = [];
  while (ports.length < count) ports.push(await freePort(host, ports));
  return ports;
}

/** Start of the ephemeral range; on systems without `/proc`, Linux's default (below the others'). */
async function ephemeralLow(): Promise<number> {
  const range = await readFile('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').catch(() => '');
  const low = Number(range.trim().split(/\s+/)[0]);
  return Number.isInteger(low) && low > 0 ? low : DEFAULT_EPHEMERAL_LOW;
}

/** The port the system assigns to a socket bound to port 0. */
function systemFreePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : undefined;
      server.close((closeError) => {
        if (closeError) reject(closeError);
        else if (port === undefined) reject(new Error(`Could not read the port of a probe socket on ${host}`));
        else resolve(port);
      });
    });
  });
}

/**
 * Whether a TCP port can be bound on `host` right now.
 *
 * @param host Interface to probe. @default '127.0.0.1'
 * @throws Error for failures other than the port being taken (e.g. EACCES for ports below 1024).
 */
export function isPortFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EADDRINUSE') resolve(false);
      else reject(error);
    });
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}
