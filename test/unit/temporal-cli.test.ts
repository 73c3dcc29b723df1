import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { TEMPORAL_CLI_VERSION, TemporalCliNotFoundError, resolveTemporalCli } from '../../src/temporal/temporal-cli';

let emptyDir: string;

beforeAll(async () => {
  emptyDir = await fs.mkdtemp(path.join(os.tmpdir(), 'trellis-cli-test-'));
});

afterAll(async () => {
  await fs.rm(emptyDir, { recursive: true, force: true });
});

describe('resolveTemporalCli', () => {
  it('lists every place it looked, and how to fix it, when it may not obtain the CLI', async () => {
    const error = await resolveTemporalCli({ searchPath: emptyDir, cacheDir: emptyDir, obtain: false }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TemporalCliNotFoundError);
    const { attempts, message } = error as TemporalCliNotFoundError;
    expect(attempts.map((a) => a.source)).toEqual(['TEMPORAL_CLI_PATH', 'PATH', 'cache']);
    expect(message).toContain(`Temporal CLI ${TEMPORAL_CLI_VERSION}`);
    expect(message).toContain('TEMPORAL_CLI_PATH');
    expect(message).toContain('TEMPORAL_ADDRESS');
  });

  it('refuses a TEMPORAL_CLI_PATH that is not a working Temporal CLI, naming it', async () => {
    const notACli = path.join(emptyDir, 'temporal');
    await fs.writeFile(notACli, '#!/bin/sh\nexit 3\n', { mode: 0o755 });
    await expect(resolveTemporalCli({ cliPath: notACli })).rejects.toThrow(`TEMPORAL_CLI_PATH=${notACli} is not a working Temporal CLI`);
  });

  it('uses a working binary found on PATH and says so', async () => {
    const bin = path.join(emptyDir, 'bin');
    await fs.mkdir(bin, { recursive: true });
    await fs.writeFile(path.join(bin, 'temporal'), `#!/bin/sh\necho "temporal version ${TEMPORAL_CLI_VERSION} (Server 1.32.0, UI 2.54.1)"\n`, { mode: 0o755 });
    const lines: string[] = [];
    const cli = await resolveTemporalCli({ searchPath: bin, cacheDir: emptyDir, obtain: false, log: (l) => lines.push(l) });
    expect(cli).toMatchObject({ path: path.join(bin, 'temporal'), source: 'PATH', version: TEMPORAL_CLI_VERSION });
    expect(lines).toEqual([`Temporal CLI ${TEMPORAL_CLI_VERSION} from PATH: ${path.join(bin, 'temporal')}`]);
  });
});
