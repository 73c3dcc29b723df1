import fs from 'node:fs/promises';
import path from 'node:path';

/** Files Trellis keeps directly in its data directory, readable by their owner only. */
const PRIVATE_FILES = ['secret.key', 'temporal.db', 'temporal.db-wal', 'temporal.db-shm', 'temporal.db-journal', 'temporal.db.pid'] as const;

/**
 * Makes the data directory private to the user running Trellis, creating it if missing, and
 * corrects installs made before it was: the directory 0700, the secret-store key and the Temporal
 * SQLite files 0600, PostgreSQL's data directory 0700 (PostgreSQL keeps its own files private).
 *
 * As root, embedded PostgreSQL runs as the `postgres` user, which must pass through the data
 * directory to its own: the directory is then 0711 (others may traverse it, not list it), and
 * every file in it stays 0600.
 */
export async function makeDataDirPrivate(dataDir: string): Promise<void> {
  const dirMode = process.getuid?.() === 0 ? 0o711 : 0o700;
  await fs.mkdir(dataDir, { recursive: true, mode: dirMode });
  await fs.chmod(dataDir, dirMode);
  for (const name of PRIVATE_FILES) await chmodIfPresent(path.join(dataDir, name), 0o600);
  await chmodIfPresent(path.join(dataDir, 'postgres'), 0o700);
}

async function chmodIfPresent(file: string, mode: number): Promise<void> {
  await fs.chmod(file, mode).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw err;
  });
}
