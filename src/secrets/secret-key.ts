import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';

/**
 * The embedded default's secret-store key: `<dataDir>/secret.key` (32 random bytes, readable by
 * the owner only), created on first start. Deployments set `TRELLIS_SECRET_KEY` instead, the
 * same on every instance; losing the key makes stored secrets unreadable.
 */
export async function loadOrCreateSecretKey(dataDir: string): Promise<Buffer> {
  const file = path.join(dataDir, 'secret.key');
  try {
    const key = await fs.readFile(file);
    if (key.length !== 32) throw new Error(`${file} holds ${key.length} bytes, not 32: restore it, or set TRELLIS_SECRET_KEY`);
    return key;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  await fs.mkdir(dataDir, { recursive: true });
  const key = randomBytes(32);
  // "wx": if another process created it meanwhile, fail rather than overwrite its key.
  await fs.writeFile(file, key, { mode: 0o600, flag: 'wx' }).catch(async (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EEXIST') throw err;
  });
  return fs.readFile(file);
}
