import fs from 'node:fs/promises';

/** TCP state LISTEN in `/proc/net/tcp`. */
const TCP_LISTEN = '0A';

/**
 * The TCP ports a process listens on, read from `/proc` (Linux): its socket inodes from
 * `/proc/<pid>/fd`, matched against the listening sockets of `/proc/<pid>/net/tcp{,6}`.
 * @returns the ports, ascending; empty where `/proc` is not there or not readable (other systems)
 */
export async function listeningPorts(pid: number): Promise<number[]> {
  try {
    const inodes = new Set<string>();
    for (const fd of await fs.readdir(`/proc/${pid}/fd`)) {
      const target = await fs.readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
      const match = /^socket:\[(\d+)\]$/.exec(target);
      if (match) inodes.add(match[1]!);
    }
    const ports = new Set<number>();
    for (const table of ['tcp', 'tcp6']) {
      const text = await fs.readFile(`/proc/${pid}/net/${table}`, 'utf8').catch(() => '');
      for (const line of text.split('\n').slice(1)) {
        // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
        const fields = line.trim().split(/\s+/);
        const [local, state, inode] = [fields[1], fields[3], fields[9]];
        if (state !== TCP_LISTEN || inode === undefined || !inodes.has(inode) || local === undefined) continue;
        ports.add(parseInt(local.slice(local.lastIndexOf(':') + 1), 16));
      }
    }
    return [...ports].sort((a, b) => a - b);
  } catch {
    return [];
  }
}
