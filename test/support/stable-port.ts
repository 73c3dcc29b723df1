import { randomInt } from 'node:crypto';
import { isPortFree } from '../../src/net/free-port';

/** Below Linux's default ephemeral range (32768–60999), where the OS never assigns ports itself. */
const LOW = 15_000;
const HIGH = 32_000;

/**
 * A TCP port that is free now and stays free while a test starts a server on it some seconds
 * later: picked below the ephemeral range, so no outgoing connection and no server asking the OS
 * for any free port (the Temporal dev server's internal services do) can take it meanwhile, as
 * happens to a port `freePort()` returns.
 * @param avoid ports already handed out to the same test
 * @throws when no free port is found after 200 tries
 */
export async function stablePort(avoid: readonly number[] = []): Promise<number> {
  for (let tries = 0; tries < 200; tries++) {
    const port = randomInt(LOW, HIGH);
    if (!avoid.includes(port) && (await isPortFree(port))) return port;
  }
  throw new Error(`no free port between ${LOW} and ${HIGH} after 200 tries`);
}
