import fs from 'node:fs/promises';

/** Stops the servers started by the global setup and removes their temporary directory. */
export default async function globalTeardown(): Promise<void> {
  const servers = globalThis.__trellisTestServers;
  if (servers === undefined) return;
  globalThis.__trellisTestServers = undefined;
  const results = await Promise.allSettled([servers.temporal?.stop(), servers.postgres?.stop()]);
  await fs.rm(servers.tempDir, { recursive: true, force: true });
  const failed = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
  if (failed !== undefined) throw failed.reason;
}
