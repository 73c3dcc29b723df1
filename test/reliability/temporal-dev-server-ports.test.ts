import net from 'node:net';
import { Connection } from '@temporalio/client';
import { freePort } from '../../src/net/free-port';
import { startTemporalDevServer } from '../../src/temporal/dev-server';
import { resolveTemporalCli } from '../../src/temporal/temporal-cli';

/**
 * The dev server listens on ports Trellis picks and on ports its own services ask the system for;
 * either can be taken by someone else between the pick and the server's bind (seen in CI: the
 * history service got the very port picked for metrics). Such a start is tried again on new ports.
 */

let cliPath: string;
let occupier: net.Server;
let occupied: number;

beforeAll(async () => {
  cliPath = (await resolveTemporalCli({})).path;
  // Readiness probes that reach it get nowhere (a listener held open would keep them, and jest, waiting).
  occupier = net.createServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => occupier.listen(0, '127.0.0.1', resolve));
  occupied = (occupier.address() as net.AddressInfo).port;
});

afterAll(async () => {
  await new Promise<void>((resolve) => occupier.close(() => resolve()));
});

/** Hands out the occupied port as the first pick of the first `times` starts: taken between pick and bind. */
function takenFirst(times: number): (host: string, avoid: readonly number[]) => Promise<number> {
  let clashes = 0;
  return async (host, avoid) => {
    if (avoid.length === 0 && clashes < times) {
      clashes++;
      return occupied;
    }
    return freePort(host, avoid);
  };
}

describe('the Temporal dev server', () => {
  it('starts again on other ports when one it was given is taken before it binds it', async () => {
    const lines: string[] = [];
    const server = await startTemporalDevServer({ cliPath, uiPort: false, freePort: takenFirst(1), log: (line) => lines.push(line) });
    try {
      expect(server.address).not.toBe(`127.0.0.1:${occupied}`);
      expect([server.httpPort, server.metricsPort]).not.toContain(occupied);
      expect(lines[0]).toBe('Temporal dev server: a port was taken while it started (attempt 1 of 3); starting it again on other ports');
      expect(lines[1]).toMatch(/^Temporal dev server ready in \d+ ms/);
      const connection = await Connection.connect({ address: server.address });
      try {
        await expect(connection.workflowService.getSystemInfo({})).resolves.toBeDefined();
      } finally {
        await connection.close();
      }
    } finally {
      await server.stop();
    }
  });

  it('gives up after three starts, with the server output naming the port in use', async () => {
    const lines: string[] = [];
    const started = startTemporalDevServer({ cliPath, uiPort: false, freePort: takenFirst(3), log: (line) => lines.push(line) });
    await expect(started).rejects.toThrow(new RegExp(`--port ${occupied} [\\s\\S]*address already in use`));
    expect(lines).toHaveLength(2);
  });

  it('does not start again when the failure is not a taken port', async () => {
    const lines: string[] = [];
    const started = startTemporalDevServer({ cliPath, uiPort: false, extraArgs: ['--no-such-flag'], log: (line) => lines.push(line) });
    await expect(started).rejects.toThrow(/--no-such-flag/);
    expect(lines).toEqual([]);
  });
});
