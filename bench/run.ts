// First: the modules below load the synchronous jsonata build this makes sure exists.
import '../src/sync-jsonata-ready';
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { parseArgs, isDeepStrictEqual } from 'node:util';
import type { Client } from '@temporalio/client';
import { NativeConnection, Worker, bundleWorkflowCode } from '@temporalio/worker';
import { createHttpActivity } from '../activities/http.activity';
import { parseEgressAllowList } from '../src/net/egress-allow-list';
import { EgressPolicy } from '../src/net/egress-policy';
import { createGuardedFetch } from '../src/net/guarded-fetch';
import globalSetup from '../test/support/global-setup';
import globalTeardown from '../test/support/global-teardown';
import { HttpStub } from '../test/support/http-stub';
import { createTestContext, type TestContext } from '../test/support/test-context';
import type { baselineQuote } from './baseline.workflow';
import { buildQuote } from './build-quote';
import { benchCodeSteps, reportCodeSteps, type CodeStepBench } from './code-step';
import { benchExpressions, type ExpressionRow, type Spread } from './expression-bench';
import { benchIsolation, POISONS, type IsolationResult } from './isolation';
import { benchWebhooks, type IntakeResult } from './webhooks';
import { historyStats, runLoad, type HistoryStats, type LoadResult, type Variant } from './load';
import { STUB_BODIES, confirmation, quoteDefinition, quoteInput, routeQuoteServices } from './quote-graph';
import { ratio } from './stats';
import { benchTemplate } from './template-micro';
import { benchTable, reportTable, TABLE_ROW_IDS } from './table';
import { startTemporalDevServer } from '../src/temporal/dev-server';
import { SEARCH_ATTRIBUTE_FLAGS } from '../src/temporal/search-attributes';
import { resolveTemporalCli } from '../src/temporal/temporal-cli';
import { trellisDataConverter } from '../src/temporal/data-converter';

/**
 * `npm run bench [-- --runs N --concurrency C --warmup W --iterations M --repeats R --expression-ms T
 * --attackers A --only graph|expressions|isolation|table|webhooks|code]`: runs the benchmark graph through Trellis and
 * as a hand-written Temporal workflow on the same servers in this process, micro-benchmarks
 * template evaluation, times single expressions inside Temporal's workflow sandbox and in plain
 * Node (see `expression-bench.ts`), measures one tenant's runs beside another's poisoned ones
 * (`isolation.ts`), times code steps against the same logic as a transform (`code-step.ts`), and
 * prints each with its ratios. `--only` runs one part.
 */
async function main(): Promise<void> {
  const options = readOptions();
  const cleanup = new Cleanup();
  // Stays registered until the end: a second signal during clean-up must not kill the process
  // and orphan the servers (clean-up runs once however often it is asked for).
  const onSignal = (signal: NodeJS.Signals) => {
    log(`${signal}: stopping`);
    // Runs still in flight fail once their connection closes; that must not cut the clean-up short.
    process.on('uncaughtException', (err) => log(`while stopping: ${err.message}`));
    void cleanup.run().finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    let serverOutput: (() => string) | undefined;
    if (process.env.TEMPORAL_ADDRESS === undefined) {
      // Started here rather than by the global setup, to read its warnings (and to run it on a file).
      const temporal = await startBenchTemporal(options);
      cleanup.push('Temporal', () => temporal.stop());
      serverOutput = temporal.output;
    }
    log('starting Temporal and PostgreSQL');
    cleanup.push('servers', globalTeardown);
    await globalSetup();
    // Expressions first: they time this process's CPU, which the graph part's workers would share.
    let expressionRows: ExpressionRow[] | undefined;
    if (wants(options, 'expressions')) {
      const address = process.env.TEMPORAL_ADDRESS;
      if (!address) throw new Error('TEMPORAL_ADDRESS is not set: the global setup should have set it');
      expressionRows = await benchExpressions({ address, namespace: process.env.TEMPORAL_NAMESPACE ?? 'default', repeats: options.repeats, targetMs: options.expressionMs, log });
    }
    if (wants(options, 'graph')) {
      const stub = await new HttpStub().start();
      cleanup.push('HTTP stub', () => stub.stop());
      routeQuoteServices(stub);
      log('starting Trellis (bundles the interpreter)');
      const ctx = await createTestContext();
      cleanup.push('Trellis', () => ctx.stop());
      log('starting the baseline worker (bundles the baseline workflow)');
      const baseline = await startBaselineWorker(ctx);
      cleanup.push('baseline worker', () => baseline.stop());

      await ctx.gql(`mutation($spec: JSON!) { saveDefinition(spec: $spec) { version } }`, { spec: quoteDefinition(stub.url) });
      const client = ctx.trellis.client;
      const variants = [trellisVariant(ctx), baselineVariant(client, baseline.taskQueue, stub.url)] as const;

      log(`warming up: ${options.warmup} runs of each`);
      for (const variant of variants) await runLoad(client, variant, { runs: options.warmup, concurrency: options.concurrency, firstIndex: 0 });
      const results: LoadResult[] = [];
      for (const variant of variants) {
        log(`measuring ${variant.name}: ${options.runs} runs, ${options.concurrency} at a time`);
        // The stub keeps every request; dropping them keeps its route look-ups equally cheap for both.
        stub.requests.splice(0);
        results.push(await runLoad(client, variant, { runs: options.runs, concurrency: options.concurrency, firstIndex: options.warmup }));
      }
      log('fetching histories');
      const histories = await Promise.all(results.map((result) => historyStats(client, result.workflowIds.slice(0, HISTORY_SAMPLE))));
      log(`template micro benchmark: ${options.iterations} iterations`);
      const micro = await benchTemplate(options.iterations);

      printLoad(options, results, histories);
      printMicro(micro);
    }
    if (wants(options, 'table')) {
      const stub = await new HttpStub().start();
      cleanup.push('HTTP stub (table)', () => stub.stop());
      log('starting Trellis for the table (bundles the interpreter)');
      // No rate limit (one key sends every request); room for the stream rows' 100 sockets.
      const ctx = await createTestContext({ env: { TRELLIS_RATE_LIMIT: '0', TRELLIS_MAX_SOCKETS_PER_KEY: '1000', ...options.trellisEnv } });
      cleanup.push('Trellis (table)', () => ctx.stop());
      log('starting the baseline worker (bundles the baseline workflows)');
      const baseline = await startBaselineWorker(ctx);
      cleanup.push('baseline worker (table)', () => baseline.stop());
      const loadBefore = os.loadavg();
      const table = await benchTable(ctx, stub, baseline.taskQueue, { rows: options.rows, quick: options.quick, serverOutput, log });
      reportTable(table, {
        // The machine is shared: the load average says how much else ran meanwhile.
        load: { start: loadBefore, end: os.loadavg() },
        options: { rows: options.rows, quick: options.quick, temporalDb: options.temporalDb ?? 'in memory', sqlitePragmas: options.sqlitePragmas, trellisEnv: options.trellisEnv },
      });
    }
    let isolation: IsolationResult | undefined;
    if (wants(options, 'isolation')) {
      log('starting Trellis for the isolation part (no rate limit: one key sends many requests)');
      const ctx = await createTestContext({ env: { TRELLIS_RATE_LIMIT: '0' } });
      cleanup.push('Trellis (isolation)', () => ctx.stop());
      isolation = await benchIsolation(ctx, { runs: options.runs, attackers: options.attackers, log });
    }
    let intake: IntakeResult[] | undefined;
    if (wants(options, 'webhooks')) {
      log('starting Trellis for the webhooks part (no rate limits, room for every run in flight)');
      const ctx = await createTestContext({ env: { TRELLIS_RATE_LIMIT: '0', TRELLIS_WEBHOOK_RATE_LIMIT: '0', TRELLIS_MAX_RUNS_IN_FLIGHT: '1000000' } });
      cleanup.push('Trellis (webhooks)', () => ctx.stop());
      intake = await benchWebhooks(ctx, { rate: options.rate, seconds: options.seconds, log });
    }
    let code: CodeStepBench | undefined;
    if (wants(options, 'code')) {
      log('starting Trellis for the code part');
      const ctx = await createTestContext();
      cleanup.push('Trellis (code)', () => ctx.stop());
      code = await benchCodeSteps(ctx, { steps: CODE_STEPS, log });
    }
    if (expressionRows) printExpressions(options, expressionRows);
    if (isolation) printIsolation(options, isolation);
    if (intake) printIntake(options, intake);
    if (code) reportCodeSteps(code);
  } finally {
    await cleanup.run();
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }
}

/** Runs whose histories are fetched and averaged. */
const HISTORY_SAMPLE = 10;

const PARTS = ['graph', 'expressions', 'isolation', 'table', 'webhooks', 'code'] as const;

/** Code steps the code part runs, in the sandbox alone and as a map step's items. */
const CODE_STEPS = 1000;

type Options = {
  runs: number;
  concurrency: number;
  warmup: number;
  iterations: number;
  repeats: number;
  expressionMs: number;
  attackers: number;
  rate: number;
  seconds: number;
  only: (typeof PARTS)[number] | undefined;
  /** Table rows to run (`--rows chain,stream`); all when empty. */
  rows: string[];
  /** Fewer runs per table row. */
  quick: boolean;
  /** Run the Temporal dev server on this SQLite file instead of in memory. */
  temporalDb: string | undefined;
  /** `default` (PERSISTENT_SQLITE_PRAGMAS) or `none` (SQLite's own), for `temporalDb`. */
  sqlitePragmas: 'default' | 'none';
  /** Extra settings of the table's Trellis (`--trellis-env NAME=value`, repeatable): the levers. */
  trellisEnv: Record<string, string>;
};

function wants(options: Options, part: (typeof PARTS)[number]): boolean {
  return options.only === undefined || options.only === part;
}

function readOptions(): Options {
  const { values } = parseArgs({
    options: {
      runs: { type: 'string' },
      concurrency: { type: 'string' },
      warmup: { type: 'string' },
      iterations: { type: 'string' },
      repeats: { type: 'string' },
      'expression-ms': { type: 'string' },
      attackers: { type: 'string' },
      rate: { type: 'string' },
      seconds: { type: 'string' },
      only: { type: 'string' },
      rows: { type: 'string' },
      quick: { type: 'boolean' },
      'temporal-db': { type: 'string' },
      'sqlite-pragmas': { type: 'string' },
      'trellis-env': { type: 'string', multiple: true },
    },
  });
  const rows = (values.rows ?? process.env.BENCH_ROWS ?? '').split(',').map((row) => row.trim()).filter(Boolean);
  const unknown = rows.filter((row) => !(TABLE_ROW_IDS as readonly string[]).includes(row));
  if (unknown.length > 0) throw new Error(`--rows: unknown row ${unknown.join(', ')}; the rows are ${TABLE_ROW_IDS.join(', ')}`);
  const pragmas = values['sqlite-pragmas'] ?? 'default';
  if (pragmas !== 'default' && pragmas !== 'none') throw new Error(`--sqlite-pragmas must be "default" or "none", got "${pragmas}"`);
  const trellisEnv: Record<string, string> = {};
  for (const item of values['trellis-env'] ?? []) {
    const [name, ...value] = item.split('=');
    if (!name || value.length === 0) throw new Error(`--trellis-env must be NAME=value, got "${item}"`);
    trellisEnv[name] = value.join('=');
  }
  const only = values.only;
  if (only !== undefined && !(PARTS as readonly string[]).includes(only)) throw new Error(`--only must be one of ${PARTS.join(', ')}, got "${only}"`);
  return {
    runs: positiveInt('runs', values.runs ?? process.env.BENCH_RUNS ?? '30'),
    concurrency: positiveInt('concurrency', values.concurrency ?? process.env.BENCH_CONCURRENCY ?? '5'),
    warmup: positiveInt('warmup', values.warmup ?? process.env.BENCH_WARMUP ?? '5'),
    iterations: positiveInt('iterations', values.iterations ?? process.env.BENCH_ITERATIONS ?? '20000'),
    repeats: positiveInt('repeats', values.repeats ?? process.env.BENCH_REPEATS ?? '5'),
    expressionMs: positiveInt('expression-ms', values['expression-ms'] ?? process.env.BENCH_EXPRESSION_MS ?? '150'),
    attackers: positiveInt('attackers', values.attackers ?? process.env.BENCH_ATTACKERS ?? '4'),
    rate: positiveInt('rate', values.rate ?? process.env.BENCH_RATE ?? '100'),
    seconds: positiveInt('seconds', values.seconds ?? process.env.BENCH_SECONDS ?? '30'),
    only: only as Options['only'],
    rows,
    quick: values.quick ?? process.env.BENCH_QUICK === '1',
    temporalDb: values['temporal-db'],
    sqlitePragmas: pragmas,
    trellisEnv,
  };
}

function positiveInt(name: string, text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) throw new Error(`--${name} must be a positive integer, got "${text}"`);
  return value;
}

/** The Temporal dev server of the benchmark, with everything it printed kept (the table reads its warnings). */
async function startBenchTemporal(options: Options): Promise<{ stop(): Promise<void>; output(): string }> {
  const cli = await resolveTemporalCli({ cliPath: process.env.TEMPORAL_CLI_PATH, log });
  let output = '';
  const server = await startTemporalDevServer({
    cliPath: cli.path,
    uiPort: false,
    searchAttributes: SEARCH_ATTRIBUTE_FLAGS,
    ...(options.temporalDb === undefined ? {} : { dbFile: options.temporalDb, ...(options.sqlitePragmas === 'none' ? { sqlitePragmas: {} } : {}) }),
    log,
    onOutput: (text) => (output += text),
  });
  process.env.TEMPORAL_ADDRESS = server.address;
  return { stop: () => server.stop(), output: () => output };
}

/** The result every run of either variant must return for input `index`. */
function expectedOutput(index: number): unknown {
  const input = quoteInput(index);
  return confirmation(buildQuote(input, STUB_BODIES.customer, STUB_BODIES.inventory, STUB_BODIES.pricing, STUB_BODIES.shipping));
}

function trellisVariant(ctx: TestContext): Variant {
  return {
    name: 'trellis',
    async start(index) {
      const { startRun } = await ctx.gql<{ startRun: { temporal: { workflowId: string } } }>(
        `mutation($input: JSON) { startRun(definition: "bench-quote", input: $input) { temporal { workflowId } } }`,
        { input: quoteInput(index) },
      );
      return startRun.temporal.workflowId;
    },
    check(result, index) {
      expectResult('trellis', result, { status: 'COMPLETED', output: expectedOutput(index) });
    },
  };
}

function baselineVariant(client: Client, taskQueue: string, baseUrl: string): Variant {
  const prefix = `bench-baseline-${randomUUID().slice(0, 8)}`;
  return {
    name: 'baseline',
    async start(index) {
      const handle = await client.workflow.start<typeof baselineQuote>('baselineQuote', {
        taskQueue,
        workflowId: `${prefix}-${index}`,
        args: [baseUrl, quoteInput(index)],
      });
      return handle.workflowId;
    },
    check(result, index) {
      expectResult('baseline', result, expectedOutput(index));
    },
  };
}

function expectResult(variant: string, actual: unknown, expected: unknown): void {
  if (!isDeepStrictEqual(actual, expected)) {
    throw new Error(`${variant} returned ${JSON.stringify(actual)}, expected ${JSON.stringify(expected)}`);
  }
}

/** A worker for the hand-written baseline on its own task queue, with the same http activity. */
async function startBaselineWorker(ctx: TestContext): Promise<{ taskQueue: string; stop(): Promise<void> }> {
  const address = process.env.TEMPORAL_ADDRESS;
  if (!address) throw new Error('TEMPORAL_ADDRESS is not set: the global setup should have set it');
  const taskQueue = `bench-baseline-${randomUUID().slice(0, 8)}`;
  const workflowBundle = await bundleWorkflowCode({ workflowsPath: require.resolve('./baseline.workflow'), logger: quietLogger });
  const connection = await NativeConnection.connect({ address });
  const outbound = createGuardedFetch(new EgressPolicy({ allowList: parseEgressAllowList('127.0.0.1').allowList }));
  try {
    const worker = await Worker.create({
      connection,
      namespace: process.env.TEMPORAL_NAMESPACE ?? 'default',
      taskQueue,
      workflowBundle,
      // Trellis's client encrypts what it sends (the payload codec): the baseline decodes the same way.
      dataConverter: trellisDataConverter(ctx.trellis.codec),
      // The stand-in services listen on loopback, which the egress policy refuses unless allowed.
      // computeStep: the inline steps' work as an activity (the "100 inline steps" row's baseline).
      activities: { httpRequest: createHttpActivity(undefined, outbound), computeStep },
    });
    const running = worker.run();
    running.catch((err: unknown) => log(`baseline worker stopped with an error: ${String(err)}`));
    return {
      taskQueue,
      async stop() {
        // Temporal's runtime already shuts workers down on SIGINT/SIGTERM.
        if (worker.getState() === 'RUNNING') worker.shutdown();
        await running.catch(() => undefined);
        await connection.close();
        await outbound.close();
      },
    };
  } catch (err) {
    await connection.close();
    await outbound.close();
    throw err;
  }
}

/** What one inline step of the "100 inline steps" row computes, as an activity. */
async function computeStep(input: { op: 'add' | 'check'; value: number }): Promise<unknown> {
  return input.op === 'add' ? input.value + 1 : { result: input.value > 0, branch: input.value > 0 ? 'then' : 'else' };
}

const quietLogger = {
  log: () => undefined,
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: (message: string) => log(message),
  error: (message: string) => log(message),
};

/** Stops what was started, last first, once, also when called again from a signal. */
class Cleanup {
  private readonly steps: Array<{ name: string; stop: () => Promise<unknown> }> = [];
  private running: Promise<void> | undefined;

  push(name: string, stop: () => Promise<unknown>): void {
    this.steps.push({ name, stop });
  }

  run(): Promise<void> {
    this.running ??= (async () => {
      for (const { name, stop } of this.steps.splice(0).reverse()) {
        log(`stopping ${name}`);
        await stop().catch((err: unknown) => log(`error while stopping ${name}: ${String(err)}`));
      }
    })();
    return this.running;
  }
}

function printLoad(options: Options, [trellis, baseline]: LoadResult[], [trellisHistory, baselineHistory]: HistoryStats[]): void {
  if (!trellis || !baseline || !trellisHistory || !baselineHistory) throw new Error('both variants must have been measured');
  const cpus = os.cpus();
  print(`\nTrellis vs the same graph as a hand-written Temporal workflow (${new Date().toISOString()})`);
  print(`${cpus.length} x ${cpus[0]?.model.trim() ?? 'unknown CPU'}, Node ${process.version}; ` +
    `${options.runs} runs per variant, ${options.concurrency} at a time, after ${options.warmup} warm-up runs`);
  print('graph: 4 parallel http calls -> transform -> condition -> http call (local stub, immediate answers)\n');
  const rows: Array<[string, number, number]> = [
    ['wall time (ms)', trellis.wallMs, baseline.wallMs],
    ['throughput (runs/s)', trellis.runsPerSecond, baseline.runsPerSecond],
    ['latency p50 (ms)', trellis.latency.p50, baseline.latency.p50],
    ['latency p95 (ms)', trellis.latency.p95, baseline.latency.p95],
    ['latency max (ms)', trellis.latency.max, baseline.latency.max],
    ['CPU of this process / run (ms)', trellis.cpuMsPerRun, baseline.cpuMsPerRun],
    ['machine busy (%)', trellis.machineBusy * 100, baseline.machineBusy * 100],
    ['  start call p50 (ms)', trellis.startLatency.p50, baseline.startLatency.p50],
    ['  server-side p50 (ms)', trellisHistory.durationMs.p50, baselineHistory.durationMs.p50],
    ['history events / run', trellisHistory.events, baselineHistory.events],
  ];
  const types = new Set([...Object.keys(trellisHistory.byType), ...Object.keys(baselineHistory.byType)]);
  for (const type of [...types].sort()) {
    rows.push([`  ${type.toLowerCase()}`, trellisHistory.byType[type] ?? 0, baselineHistory.byType[type] ?? 0]);
  }
  print(table(['', 'trellis', 'baseline', 'trellis/baseline'], rows.map(([label, t, b]) => [label, fmt(t), fmt(b), ratio(t, b)])));
  print(`\nratio trellis/baseline: p50 latency ${ratio(trellis.latency.p50, baseline.latency.p50)}, ` +
    `throughput ${ratio(trellis.runsPerSecond, baseline.runsPerSecond)}`);
  print(`(history figures average ${trellisHistory.runs} runs of each variant; "start call" is GraphQL startRun vs client.workflow.start; ` +
    '"server-side" is first to last history event)');
}

function printMicro(micro: Awaited<ReturnType<typeof benchTemplate>>): void {
  const { template, plain } = micro;
  print(`\nTemplate evaluation in isolation: the "quote" transform (${micro.expressions} JSONata expressions), ${template.iterations} iterations\n`);
  print(table(['', 'evaluateTemplate', 'plain function', 'template/plain'], [
    ['ops/s', fmt(template.opsPerSecond), fmt(plain.opsPerSecond), ratio(template.opsPerSecond, plain.opsPerSecond)],
    ['µs/op', fmt(template.microsPerOp), fmt(plain.microsPerOp), ratio(template.microsPerOp, plain.microsPerOp)],
    ['total (ms)', fmt(template.totalMs), fmt(plain.totalMs), ''],
  ]));
}

function printExpressions(options: Options, rows: ExpressionRow[]): void {
  const cpus = os.cpus();
  print(`\nOne evaluation of each expression, CPU microseconds (median of ${options.repeats}, min-max), ${new Date().toISOString()}`);
  print(`${cpus.length} x ${cpus[0]?.model.trim() ?? 'unknown CPU'}, Node ${process.version}, load average ${os.loadavg().map((load) => load.toFixed(1)).join(' ')}`);
  print('sandbox: N evaluations in one workflow activation, minus the same workflow evaluating nothing, over N\n');
  const cell = (figure: Spread): string => `${fmt(figure.median)} (${fmt(figure.min)}-${fmt(figure.max)})`;
  print(table(['expression', 'jsonata 2.2.2, Node', 'Trellis, sandbox', 'jsonata 2.2.2, sandbox', 'N per activation', 'Trellis sandbox / 2.2.2 Node'], rows.map((row) => [
    row.name,
    cell(row.plainJsonata),
    cell(row.sandboxTrellis),
    cell(row.sandboxJsonata),
    `${row.iterations.trellis} / ${row.iterations.jsonata}`,
    ratio(row.sandboxTrellis.median, row.plainJsonata.median),
  ])));
}

function printIsolation(options: Options, result: IsolationResult): void {
  print(`\nOne tenant's one-step runs beside another tenant's poisoned ones (${options.runs} runs in a row each time; ` +
    `${result.attackers} poisoned runs kept in flight, cycling through: ${Object.keys(POISONS).join('; ')})\n`);
  print(table(['', 'alone', 'under attack', 'attack/alone'], [
    ['latency p50 (ms)', fmt(result.alone.p50), fmt(result.underAttack.p50), ratio(result.underAttack.p50, result.alone.p50)],
    ['latency p95 (ms)', fmt(result.alone.p95), fmt(result.underAttack.p95), ratio(result.underAttack.p95, result.alone.p95)],
    ['latency max (ms)', fmt(result.alone.max), fmt(result.underAttack.max), ratio(result.underAttack.max, result.alone.max)],
    ['largest RSS, API + worker (MiB)', fmt(result.rssMiB.alone), fmt(result.rssMiB.underAttack), ratio(result.rssMiB.underAttack, result.rssMiB.alone)],
  ]));
  print(`poisoned runs finished meanwhile: ${Object.entries(result.poisoned).map(([status, count]) => `${count} ${status}`).join(', ') || 'none'}`);
}

function fmt(value: number): string {
  if (value >= 100) return Math.round(value).toLocaleString('en-US');
  if (value >= 1) return value.toFixed(1);
  return value.toFixed(3);
}

function table(header: string[], rows: string[][]): string {
  const all = [header, ...rows];
  const widths = header.map((_, column) => Math.max(...all.map((row) => (row[column] ?? '').length)));
  return all
    .map((row) => row.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join('   '))
    .join('\n');
}

function print(line: string): void {
  process.stdout.write(`${line}\n`);
}

function log(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`[bench] failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);

function printIntake(options: Options, results: IntakeResult[]): void {
  print(`\nRun intake: ${options.rate} requests/s offered for ${options.seconds} s (open loop), a one-step definition; latency to 202 / to the startRun answer, ms\n`);
  const rows = results.map((r) => [
    r.name,
    String(r.offered),
    String(r.accepted),
    r.acceptedPerSecond.toFixed(1),
    r.p50.toFixed(1),
    r.p95.toFixed(1),
    r.p99.toFixed(1),
    r.max.toFixed(1),
    String(r.lost),
    String(r.duplicated),
    String(r.completed),
    Object.entries(r.refused).map(([k, v]) => `${k}: ${v}`).join(', ') || '-',
  ]);
  print(table(['intake', 'offered', 'accepted', 'accepted/s', 'p50', 'p95', 'p99', 'max', 'lost', 'duplicated', 'completed', 'refused'], rows));
}
