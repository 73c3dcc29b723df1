import { readFileSync } from 'node:fs';
import { freePort, freePorts, isPortFree } from '../../src/net/free-port';

/** Start of Linux's ephemeral range on this machine, where the system assigns ports itself. */
const EPHEMERAL_LOW = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);

describe('freePort', () => {
  it('returns free ports below the ephemeral range, where no server asking the system for a port gets them', async () => {
    for (const port of await freePorts(20)) {
      expect(port).toBeGreaterThanOrEqual(1024);
      expect(port).toBeLessThan(EPHEMERAL_LOW);
      expect(await isPortFree(port)).toBe(true);
    }
  });

  it('returns distinct ports, none of those it is told to avoid', async () => {
    const ports = await freePorts(50);
    expect(new Set(ports).size).toBe(50);
    const avoid = ports.slice(0, 25);
    for (let i = 0; i < 25; i++) expect(avoid).not.toContain(await freePort('127.0.0.1', avoid));
  });
});
