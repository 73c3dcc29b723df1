import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { DefaultLogger, Runtime, Worker, type ReplayWorkerOptions } from '@temporalio/worker';
import { startTracing, type Tracing } from '../../src/observability/tracing';
import { trellisDataConverter } from '../../src/temporal/data-converter';
import { PayloadEncryptionCodec } from '../../src/temporal/payload-codec';
import { bundleInterpreter } from '../../src/temporal/worker';

/**
 * Turning tracing on (OTEL_*) changes the workflow bundle: the OpenTelemetry workflow interceptor
 * is bundled into it, and its span ids come from the workflow sandbox's seeded random numbers,
 * the same sequence `uuid4()` draws child runs' ids from. So a history written without tracing
 * replays against the traced bundle unless it started a child run whose id was drawn after a span
 * was made: that child's id differs, which Temporal refuses as nondeterminism. Hence the README's
 * rule: switch tracing on or off only while no run is in flight (test/api/tracing.e2e.test.ts
 * shows that a worker traced all along replays its runs, children included).
 */
const HISTORY_FILES = fs
  .readdirSync(__dirname)
  .filter((file) => file.endsWith('.json'))
  .sort();

/** The error a child run's differing id makes. */
const CHILD_ID_MISMATCH = /Child workflow id of scheduled event .* does not match/;

let replayOptions: ReplayWorkerOptions;
let tracing: Tracing;

beforeAll(async () => {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  tracing = startTracing(undefined, 'worker', new InMemorySpanExporter())!;
  replayOptions = {
    workflowBundle: await bundleInterpreter(tracing.worker.workflowModules),
    sinks: tracing.worker.sinks,
    dataConverter: trellisDataConverter(new PayloadEncryptionCodec(randomBytes(32))),
  };
}, 120_000);

afterAll(() => tracing?.shutdown());

/** Undefined when the history replays, else the replay's error. */
async function replay(file: string): Promise<Error | undefined> {
  const history = historyFromJSON(JSON.parse(fs.readFileSync(path.join(__dirname, file), 'utf8')));
  return Worker.runReplayHistory(replayOptions, history, path.basename(file, '.json')).then(
    () => undefined,
    (err: Error) => err,
  );
}

it.each(HISTORY_FILES)('replays %s with the tracing interceptors bundled, or fails only on a child run\'s id', async (file) => {
  const error = await replay(file);
  if (error !== undefined) expect(error.message).toMatch(CHILD_ID_MISMATCH);
  // Histories that start no child run always replay.
  if (!fs.readFileSync(path.join(__dirname, file), 'utf8').includes('START_CHILD_WORKFLOW_EXECUTION_INITIATED')) expect(error).toBeUndefined();
});

it('refuses a run that started a child run without tracing (wait-workflow-map): the reason to switch tracing only with no run in flight', async () => {
  expect((await replay('wait-workflow-map.json'))?.message).toMatch(CHILD_ID_MISMATCH);
});
