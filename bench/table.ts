import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import type { HttpStub } from '../test/support/http-stub';
import type { TestContext } from '../test/support/test-context';
import { historyStats, runLoad, type LoadResult, type Variant } from './load';
import type { LatencySummary } from './stats';
import { measureStreamLag, streamDefinition } from './stream-lag';

/**
 * The rows of issue 11's table (`npm run bench -- --only table`): each workload run through
 * Trellis and as a hand-written Temporal workflow (`table-baselines.workflow.ts`) on the same
 * servers, one after the other, with the figure and the ratio Trellis / hand-written.
 */
type Row = {
  /** What `--rows` selects it by. */
  id: string;
  name: string;
  /** Which figure of the load is compared. */
  figure: 'p50 ms' | 'runs/s' | 'wall ms';
  definition: (url: string) => Record<string, unknown>;
  baseline: { workflow: string; args: (url: string) => unknown[] };
  /** Runs of each variant: full, and with `--quick`. */
  runs: [full: number, quick: number];
  concurrency: number;
  /** One warm-up run of each variant first (off for rows whose one run takes minutes). @default true */
  warmup?: boolean;
  /** Map rows: count the batch child workflows' events and bytes, and the server's warnings. */
  map?: boolean;
};

const echo = (url: string, extra: Record<string, unknown> = {}) => ({ type: 'http', method: 'POST', url: `${url}/echo`, body: { step: 'x' }, ...extra });

function chain(url: string, n: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const steps: Record<string, unknown> = {};
  for (let i = 1; i <= n; i++) steps[`s${i}`] = echo(url, { ...extra, ...(i === 1 ? {} : { needs: [`s${i - 1}`] }) });
  return steps;
}

/** The chain's http steps as local activities (`"local": true`). */
const LOCAL = { local: true, timeout: '5s' };

function parallel(url: string, n: number): Record<string, unknown> {
  return Object.fromEntries(Array.from({ length: n }, (_, i) => [`p${i + 1}`, echo(url)]));
}

/** `n` inline steps: transforms adding one, each followed by a condition on the sum that leads to the next. */
function inlineChain(n: number): Record<string, unknown> {
  const steps: Record<string, unknown> = {};
  for (let i = 1; i <= n / 2; i++) {
    steps[`t${i}`] = { type: 'transform', ...(i === 1 ? {} : { needs: [`c${i - 1}`] }), value: i === 1 ? '{% 1 %}' : `{% $steps.t${i - 1}.output + 1 %}` };
    steps[`c${i}`] = { type: 'condition', needs: [`t${i}`], if: `{% $steps.t${i}.output > 0 %}`, ...(i < n / 2 ? { then: [`t${i + 1}`] } : {}) };
  }
  return steps;
}

const mapOf = (url: string, name: string, items: number, concurrency: number) => ({
  name,
  steps: { each: { type: 'map', items: `{% [0..${items - 1}] %}`, maxConcurrency: concurrency, do: { type: 'http', method: 'POST', url: `${url}/echo`, body: { n: '{% $item %}' } } } },
});

const ROWS: Row[] = [
  { id: 'chain', name: '10 http steps in a chain, p50', figure: 'p50 ms', definition: (url) => ({ name: 'bench-chain', steps: chain(url, 10) }), baseline: { workflow: 'baselineChain', args: (url) => [url, 10] }, runs: [20, 5], concurrency: 1 },
  { id: 'burst', name: 'the same, 100 runs started at once', figure: 'runs/s', definition: (url) => ({ name: 'bench-chain', steps: chain(url, 10) }), baseline: { workflow: 'baselineChain', args: (url) => [url, 10] }, runs: [100, 25], concurrency: 100 },
  { id: 'chain-local', name: 'the chain with "local": true, p50', figure: 'p50 ms', definition: (url) => ({ name: 'bench-chain-local', steps: chain(url, 10, LOCAL) }), baseline: { workflow: 'baselineChain', args: (url) => [url, 10] }, runs: [20, 5], concurrency: 1 },
  { id: 'burst-local', name: 'the chain with "local": true, 100 runs started at once', figure: 'runs/s', definition: (url) => ({ name: 'bench-chain-local', steps: chain(url, 10, LOCAL) }), baseline: { workflow: 'baselineChain', args: (url) => [url, 10] }, runs: [100, 25], concurrency: 100 },
  { id: 'parallel-50', name: '50 parallel http steps, p50', figure: 'p50 ms', definition: (url) => ({ name: 'bench-parallel-50', steps: parallel(url, 50) }), baseline: { workflow: 'baselineParallel', args: (url) => [url, 50] }, runs: [10, 3], concurrency: 1 },
  {
    id: 'transform-chain',
    name: '5 × (JSONata transform → http with it as body), p50',
    figure: 'p50 ms',
    definition: (url) => {
      const steps: Record<string, unknown> = {};
      for (let i = 1; i <= 5; i++) {
        const previous = i === 1 ? '0' : `$steps.send${i - 1}.output.body.n`;
        steps[`doc${i}`] = {
          type: 'transform',
          ...(i === 1 ? {} : { needs: [`send${i - 1}`] }),
          value: `{% ( $n := ${previous} + 1; { "n": $n, "items": [1..20].{ "i": $, "sq": $ * $ }, "label": "step-" & $string($n) } ) %}`,
        };
        steps[`send${i}`] = { type: 'http', method: 'POST', url: `${url}/echo`, needs: [`doc${i}`], body: `{% $steps.doc${i}.output %}` };
      }
      return { name: 'bench-transform-chain', steps };
    },
    baseline: { workflow: 'baselineTransformChain', args: (url) => [url, 5] },
    runs: [10, 3],
    concurrency: 1,
  },
  { id: 'map-1000', name: 'map over 1,000 items, 50 at a time (wall per run)', figure: 'p50 ms', definition: (url) => mapOf(url, 'bench-map-1000', 1000, 50), baseline: { workflow: 'baselineMap', args: (url) => [url, 1000, 50] }, runs: [2, 1], concurrency: 1, map: true },
  {
    id: 'inline-100',
    name: '100 inline transform/condition steps (hand-written: each an activity), p50',
    figure: 'p50 ms',
    definition: () => ({ name: 'bench-inline-100', steps: inlineChain(100) }),
    baseline: { workflow: 'baselineActivityChain', args: () => [100] },
    runs: [10, 3],
    concurrency: 1,
  },
  { id: 'parallel-200', name: '200 parallel http steps, p50', figure: 'p50 ms', definition: (url) => ({ name: 'bench-parallel-200', steps: parallel(url, 200) }), baseline: { workflow: 'baselineParallel', args: (url) => [url, 200] }, runs: [5, 2], concurrency: 1 },
  { id: 'map-5000', name: 'map over 5,000 items, 100 at a time (wall per run)', figure: 'p50 ms', definition: (url) => mapOf(url, 'bench-map-5000', 5000, 100), baseline: { workflow: 'baselineMap', args: (url) => [url, 5000, 100] }, runs: [1, 1], concurrency: 1, warmup: false, map: true },
];

/** Row ids `--rows` accepts: the load rows, and `stream` for the live-stream lag rows. */
export const TABLE_ROW_IDS = [...ROWS.map((row) => row.id), 'stream'] as const;

/** History of the runs of one variant: per run, its own workflow plus, for map rows, its batch child workflows. */
export type HistorySize = { events: number; bytes: number; workflows: number; largestEvents: number; largestBytes: number };

export type TableRow = {
  id: string;
  name: string;
  figure: string;
  trellis: number;
  /** The hand-written workflow's figure; `null` where there is none (the live stream). */
  baseline: number | null;
  ratio: number | null;
  trellisHistoryEvents?: number;
  baselineHistoryEvents?: number;
  trellisHistory?: HistorySize;
  baselineHistory?: HistorySize;
  /** Warnings the Temporal server printed while the row ran (history size or length, pending activities...). */
  serverWarnings?: string[];
  note?: string;
};

export type TableOptions = {
  /** Row ids to run (see {@link TABLE_ROW_IDS}); all when empty. */
  rows: readonly string[];
  quick: boolean;
  /** The Temporal server's output since it started, when this process started it (else `undefined`). */
  serverOutput?: () => string;
  log: (message: string) => void;
};

/** Runs the selected rows and returns the table. */
export async function benchTable(ctx: TestContext, stub: HttpStub, baselineTaskQueue: string, options: TableOptions): Promise<TableRow[]> {
  const { log } = options;
  const wanted = (id: string) => options.rows.length === 0 || options.rows.includes(id);
  stub.on('POST /echo', (request) => ({ body: request.body ?? {} }));
  const client = ctx.trellis.client;
  const table: TableRow[] = [];
  for (const row of ROWS.filter((r) => wanted(r.id))) {
    await ctx.gql(`mutation($spec: JSON!) { saveDefinition(spec: $spec) { version } }`, { spec: row.definition(stub.url) });
    const trellis = trellisVariant(ctx, String(row.definition(stub.url).name));
    const baseline = baselineVariant(client, baselineTaskQueue, row.baseline.workflow, row.baseline.args(stub.url));
    if (row.warmup !== false) {
      log(`${row.name}: warming up`);
      // One warm-up run of each, so bundling, caches and connections are not measured.
      for (const variant of [trellis, baseline]) await runLoad(client, variant, { runs: 1, concurrency: 1, firstIndex: 0 });
    }
    const runs = row.runs[options.quick ? 1 : 0];
    const results: LoadResult[] = [];
    const outputBefore = options.serverOutput?.().length ?? 0;
    for (const variant of [trellis, baseline]) {
      log(`${row.name}: ${variant.name}, ${runs} runs, ${row.concurrency} at a time`);
      stub.requests.splice(0);
      results.push(await runLoad(client, variant, { runs, concurrency: row.concurrency, firstIndex: 1 }));
    }
    const [t, b] = results as [LoadResult, LoadResult];
    const figure = (result: LoadResult) => (row.figure === 'runs/s' ? result.runsPerSecond : row.figure === 'wall ms' ? result.wallMs : result.latency.p50);
    const [th, bh] = await Promise.all([historyStats(client, t.workflowIds.slice(0, 3)), historyStats(client, b.workflowIds.slice(0, 3))]);
    const [tSize, bSize] = await Promise.all([historySize(client, t.workflowIds.slice(0, 3), row.map === true), historySize(client, b.workflowIds.slice(0, 3), false)]);
    const output = options.serverOutput?.().slice(outputBefore);
    table.push({
      id: row.id,
      name: row.name,
      figure: row.figure,
      trellis: figure(t),
      baseline: figure(b),
      ratio: figure(t) / figure(b),
      trellisHistoryEvents: th.events,
      baselineHistoryEvents: bh.events,
      trellisHistory: tSize,
      baselineHistory: bSize,
      ...(output === undefined ? {} : { serverWarnings: serverWarnings(output) }),
    });
  }
  if (wanted('stream')) {
    await ctx.gql(`mutation($spec: JSON!) { saveDefinition(spec: $spec) { version } }`, { spec: streamDefinition(stub.url) });
    log('stream lag: warming up');
    await measureStreamLag(ctx, stub, 1, 1);
    const runs = options.quick ? 1 : 3;
    const lag: Record<number, LatencySummary> = {};
    for (const subscribers of [1, 100]) {
      log(`stream lag: ${runs} runs of 10 http steps, ${subscribers} subscriber(s)`);
      stub.requests.splice(0);
      lag[subscribers] = await measureStreamLag(ctx, stub, subscribers, runs);
    }
    const [one, hundred] = [lag[1]!, lag[100]!];
    for (const [subscribers, summary] of [[1, one], [100, hundred]] as const) {
      for (const p of ['p50', 'p95'] as const) {
        table.push({
          id: 'stream',
          name: `live-stream lag ${p}, step done → graphql-ws subscriber, ${subscribers} subscriber${subscribers === 1 ? '' : 's'}`,
          figure: `${p} ms`,
          trellis: summary[p],
          baseline: null,
          ratio: null,
          note: `${summary.count} samples${subscribers === 100 ? `; ${(summary[p] / one[p]).toFixed(2)}x the 1-subscriber ${p}` : ''}`,
        });
      }
    }
  }
  return table;
}

/**
 * Events and bytes of the histories of `workflowIds` (averages per run), with, when `children`
 * is set, the child workflows each run started (a map's batch workflows) counted in.
 */
async function historySize(client: Client, workflowIds: readonly string[], children: boolean): Promise<HistorySize> {
  let events = 0;
  let bytes = 0;
  let workflows = 0;
  let largestEvents = 0;
  let largestBytes = 0;
  for (const workflowId of workflowIds) {
    const executions: Array<{ workflowId: string; runId?: string }> = [{ workflowId }];
    if (children) {
      const history = await client.workflow.getHandle(workflowId).fetchHistory();
      for (const event of history.events ?? []) {
        const started = event.childWorkflowExecutionStartedEventAttributes?.workflowExecution;
        if (started?.workflowId) executions.push({ workflowId: started.workflowId, runId: started.runId ?? undefined });
      }
    }
    for (const execution of executions) {
      const description = await client.workflow.getHandle(execution.workflowId, execution.runId).describe();
      const length = description.historyLength;
      const size = description.historySize ?? 0;
      events += length;
      bytes += size;
      workflows++;
      largestEvents = Math.max(largestEvents, length);
      largestBytes = Math.max(largestBytes, size);
    }
  }
  const runs = workflowIds.length;
  return { events: events / runs, bytes: bytes / runs, workflows: workflows / runs, largestEvents, largestBytes };
}

/** The lines of the Temporal server's output that warn about a workflow's size or its pending work. */
function serverWarnings(output: string): string[] {
  return output.split('\n').filter((line) => /history (size|length|count)|pending (activit|child|signal|request)|exceeds? .*limit|limit exceeded/i.test(line));
}

function trellisVariant(ctx: TestContext, definition: string): Variant {
  return {
    name: 'trellis',
    async start() {
      const { startRun } = await ctx.gql<{ startRun: { temporal: { workflowId: string } } }>(
        `mutation($name: String!) { startRun(definition: $name, input: {}) { temporal { workflowId } } }`,
        { name: definition },
      );
      return startRun.temporal.workflowId;
    },
    check(result) {
      if ((result as { status?: string }).status !== 'COMPLETED') throw new Error(`trellis run ended ${JSON.stringify(result).slice(0, 200)}`);
    },
  };
}

function baselineVariant(client: Client, taskQueue: string, workflow: string, args: unknown[]): Variant {
  const prefix = `bench-${workflow}-${randomUUID().slice(0, 8)}`;
  return {
    name: 'hand-written',
    async start(index) {
      const handle = await client.workflow.start(workflow, { taskQueue, workflowId: `${prefix}-${index}`, args });
      return handle.workflowId;
    },
    check() {},
  };
}

/** Prints the table and writes it as JSON under bench/results/ (with `context`: load averages, options, levers). */
export function reportTable(table: TableRow[], context: Record<string, unknown>): string {
  const fmt = (n: number) => (n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(2));
  const history = (row: TableRow) => {
    if (row.trellisHistory && row.baselineHistory) {
      const t = row.trellisHistory;
      const b = row.baselineHistory;
      const kib = (n: number) => `${(n / 1024).toFixed(0)} KiB`;
      const count = (n: number) => Math.round(n).toLocaleString('en-US');
      const of = t.workflows > 1 ? ` in ${count(t.workflows)} workflows, largest ${count(t.largestEvents)} events / ${kib(t.largestBytes)}` : '';
      return `${count(t.events)} (${kib(t.bytes)}${of}), ${count(b.events)} (${kib(b.bytes)})`;
    }
    return '—';
  };
  const lines = [
    '| work | figure | Trellis | hand-written | ratio | history events / run (bytes), Trellis, hand-written | notes |',
    '| --- | --- | ---: | ---: | ---: | --- | --- |',
    ...table.map((row) => {
      const warnings = row.serverWarnings === undefined ? undefined : row.serverWarnings.length === 0 ? 'no server warnings' : `${row.serverWarnings.length} server warnings`;
      const notes = [row.note, warnings].filter(Boolean).join('; ');
      return `| ${row.name} | ${row.figure} | ${fmt(row.trellis)} | ${row.baseline === null ? '—' : fmt(row.baseline)} | ${row.ratio === null ? '—' : row.ratio.toFixed(2)} | ${history(row)} | ${notes} |`;
    }),
  ];
  console.log(`\n${lines.join('\n')}\n`);
  const dir = path.join(__dirname, 'results');
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `table-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  fs.writeFileSync(file, `${JSON.stringify({ at: new Date().toISOString(), machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model.trim(), node: process.version }, ...context, table }, null, 2)}\n`);
  console.log(`written to ${path.relative(process.cwd(), file)}`);
  return file;
}
