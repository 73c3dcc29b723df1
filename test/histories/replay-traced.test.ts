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
 * the same sequence `uuid4()` draws child runs' ids from. So the recorded histories (all written
 * without tracing) replay against the traced bundle, except those that start a child run after
 * a span was made: their child's id differs, which Temporal refuses as nondeterminism. Hence the
 * README's rule: switch tracing on or off only while no run is in flight
 * (test/api/tracing.e2e.test.ts shows that a worker traced all along replays its runs).
 */
const HISTORY_FILES = fs
  .readdirSync(__dirname)
  .filter((file) => file.endsWith('.json'))
  .sort();

/** Whether the history starts a child workflow (a `workflow` step, or a `map` over one). */
function startsChildRuns(file: string): boolean {
  return fs.readFileSync(path.join(__dirname, file), 'utf8').includes('START_CHILD_WORKFLOW_EXECUTION_INITIATED');
}
const WITHOUT_CHILDREN = HISTORY_FILES.filter((file) => !startsChildRuns(file));
const WITH_CHILDREN = HISTORY_FILES.filter(startsChildRuns);

let replayOptions: ReplayWorkerOptions;
let tracing: Tracing;

beforeAll(async () => {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  tracing = startTracing(undefined, 'worker', new InMemorySpanExporter())!;
  replayOptions = {
    workflowBundle: await bundleInterpreter(tracing.worker.workflowModules),
    interceptors: { workflowModules: tracing.worker.workflowModules },
    sinks: tracing.worker.sinks,
    dataConverter: trellisDataConverter(new PayloadEncryptionCodec(randomBytes(32))),
  };
}, 120_000);

afterAll(() => tracing?.shutdown());

function replay(file: string): Promise<void> {
  const history = historyFromJSON(JSON.parse(fs.readFileSync(path.join(__dirname, file), 'utf8')));
  return Worker.runReplayHistory(replayOptions, history, path.basename(file, '.json'));
}

it('has histories of both kinds', () => {
  expect(WITHOUT_CHILDREN.length).toBeGreaterThan(0);
  expect(WITH_CHILDREN.length).toBeGreaterThan(0);
});

it.each(WITHOUT_CHILDREN)('replays %s with the tracing interceptors bundled', async (file) => {
  await expect(replay(file)).resolves.toBeUndefined();
});

it.each(WITH_CHILDREN)('refuses %s with the tracing interceptors bundled: child ids come from the same random numbers as span ids', async (file) => {
  await expect(replay(file)).rejects.toThrow(/Child workflow id of scheduled event .* does not match/);
});
