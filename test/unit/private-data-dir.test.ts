import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { makeDataDirPrivate } from '../../src/support/private-data-dir';

const modeOf = async (file: string): Promise<string> => ((await fs.stat(file)).mode & 0o777).toString(8);
const expectedDirMode = process.getuid?.() === 0 ? '711' : '700';

describe('the data directory', () => {
  let root: string;
  beforeEach(async () => {
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'trellis-modes-'));
  });
  afterEach(async () => {
    await fs.rm(root, { recursive: true, force: true });
  });

  it('is created private to the user', async () => {
    const dataDir = path.join(root, 'new', '.data');
    await makeDataDirPrivate(dataDir);
    expect(await modeOf(dataDir)).toBe(expectedDirMode);
  });

  it("of an existing install loses what others could read: the directory, the key, Temporal's SQLite files and PostgreSQL's directory", async () => {
    const dataDir = path.join(root, '.data');
    await fs.mkdir(path.join(dataDir, 'postgres'), { recursive: true });
    await fs.chmod(dataDir, 0o755);
    await fs.chmod(path.join(dataDir, 'postgres'), 0o750);
    const files = ['secret.key', 'temporal.db', 'temporal.db-wal', 'temporal.db-shm'];
    for (const file of files) await fs.writeFile(path.join(dataDir, file), 'x', { mode: 0o644 });
    await makeDataDirPrivate(dataDir);
    expect(await modeOf(dataDir)).toBe(expectedDirMode);
    expect(await modeOf(path.join(dataDir, 'postgres'))).toBe('700');
    for (const file of files) expect({ file, mode: await modeOf(path.join(dataDir, file)) }).toEqual({ file, mode: '600' });
  });
});
