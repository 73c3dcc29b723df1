import { randomInt } from 'node:crypto';
import { isPortFree } from '../../src/net/free-port';

/** Below Linux's default ephemeral range (32768–60999), where the OS never assigns ports itself. */
const LOW = 15_000;
const HIGH = 32_000;

/**
 * TCP ports that are free now and stay free while a test starts servers on them some seconds
 * later: picked below the ephemeral range, so no outgoing connection and no server asking the OS
 * for any free port (the Temporal dev server's internal services do) can take them meanwhile, as
 * happens to ports `freePort()` returns.
 * @param count how many distinct ports
 * @throws when `count` free ports are not found in 200 tries
 */
export async function stablePorts(count: number): Promise<number[]> {
  const ports: number[] = [];
  for (let tries = 0; ports.length < count; tries++) {
    if (tries === 200) throw new Error(`no free port between ${LOW} and ${HIGH} after 200 tries`);
    const port = randomInt(LOW, HIGH);
    if (!ports.includes(port) && (await isPortFree(port))) ports.push(port);
  }
  return ports;
}
