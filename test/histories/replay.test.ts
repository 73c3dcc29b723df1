import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { DefaultLogger, Runtime, Worker, type ReplayWorkerOptions } from '@temporalio/worker';
import { trellisDataConverter } from '../../src/temporal/data-converter';
import { PayloadEncryptionCodec } from '../../src/temporal/payload-codec';
import { bundleInterpreter } from '../../src/temporal/worker';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';

/**
 * Replays every recorded history in this folder against the current interpreter. A failure means
 * an interpreter change would break runs in flight: guard it with `patched()`, do not re-record
 * (see README.md). Replay is local: no Temporal server, database or activity is involved.
 */
const HISTORY_FILES = fs
  .readdirSync(__dirname)
  .filter((file) => file.endsWith('.json'))
  .sort();

let replayOptions: ReplayWorkerOptions;

beforeAll(async () => {
  // Replay workers log every state change at INFO; a nondeterminism error still fails its test.
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const bundlePath = process.env.TRELLIS_TEST_WORKFLOW_BUNDLE;
  // Bundled once, exactly as the worker bundles it, instead of once per history.
  replayOptions = {
    workflowBundle: bundlePath ? { codePath: bundlePath } : await bundleInterpreter(),
    // As a worker runs: the histories are plaintext (written before payloads were encrypted, or
    // decoded when recorded), which the codec passes through, as for runs in flight at the upgrade.
    dataConverter: trellisDataConverter(new PayloadEncryptionCodec(randomBytes(32))),
  };
});

describe('recorded histories', () => {
  it('include at least one history to replay', () => {
    expect(HISTORY_FILES.length).toBeGreaterThan(0);
  });

  it.each(HISTORY_FILES)('replay %s against the current interpreter without nondeterminism', async (file) => {
    const history = historyFromJSON(JSON.parse(fs.readFileSync(path.join(__dirname, file), 'utf8')));
    await expect(Worker.runReplayHistory(replayOptions, history, path.basename(file, '.json'))).resolves.toBeUndefined();
  });
});
