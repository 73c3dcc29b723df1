import net from 'node:net';

/**
 * Asks the operating system for a TCP port that is free right now on `host`.
 *
 * The port is released before this resolves, so another process may take it before the caller
 * binds it; callers that spawn servers should report a bind failure clearly rather than assume.
 *
 * @param host Interface to probe. @default '127.0.0.1'
 * @returns A port number between 1024 and 65535.
 * @example
 * ```ts
 * const port = await freePort();
 * ```
 */
export function freePort(host = '127.0.0.1'): Promise<number> {
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
