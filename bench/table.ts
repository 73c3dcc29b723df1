import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import type { HttpStub } from '../test/support/http-stub';
import type { TestContext } from '../test/support/test-context';
import { historyStats, runLoad, type LoadResult, type Variant } from './load';

/**
 * The rows of issue 11's table (`npm run bench -- --only table`): each workload run through
 * Trellis and as a hand-written Temporal workflow (`table-baselines.workflow.ts`) on the same
 * servers, one after the other, with the figure and the ratio Trellis / hand-written.
 */
type Row = {
  name: string;
  /** Which figure of the load is compared. */
  figure: 'p50 ms' | 'runs/s' | 'wall ms';
  definition: (url: string) => Record<string, unknown>;
  baseline: { workflow: string; args: (url: string) => unknown[] };
  runs: number;
  concurrency: number;
};

const echo = (url: string, extra: Record<string, unknown> = {}) => ({ type: 'http', method: 'POST', url: `${url}/echo`, body: { step: 'x' }, ...extra });

function chain(url: string, n: number): Record<string, unknown> {
  const steps: Record<string, unknown> = {};
  for (let i = 1; i <= n; i++) steps[`s${i}`] = echo(url, i === 1 ? {} : { needs: [`s${i - 1}`] });
  return steps;
}

const ROWS: Row[] = [
  { name: '10 http steps in a chain, p50', figure: 'p50 ms', definition: (url) => ({ name: 'bench-chain', steps: chain(url, 10) }), baseline: { workflow: 'baselineChain', args: (url) => [url, 10] }, runs: 20, concurrency: 1 },
  { name: 'the same, 100 runs started at once', figure: 'runs/s', definition: (url) => ({ name: 'bench-chain', steps: chain(url, 10) }), baseline: { workflow: 'baselineChain', args: (url) => [url, 10] }, runs: 100, concurrency: 100 },
  {
    name: '50 parallel http steps, p50',
    figure: 'p50 ms',
    definition: (url) => ({ name: 'bench-parallel-50', steps: Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`p${i + 1}`, echo(url)])) }),
    baseline: { workflow: 'baselineParallel', args: (url) => [url, 50] },
    runs: 10,
    concurrency: 1,
  },
  {
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
    runs: 10,
    concurrency: 1,
  },
  {
    name: 'map over 1,000 items, 50 at a time (wall per run)',
    figure: 'p50 ms',
    definition: (url) => ({ name: 'bench-map-1000', steps: { each: { type: 'map', items: '{% [0..999] %}', maxConcurrency: 50, do: { type: 'http', method: 'POST', url: `${url}/echo`, body: { n: '{% $item %}' } } } } }),
    baseline: { workflow: 'baselineMap', args: (url) => [url, 1000, 50] },
    runs: 2,
    concurrency: 1,
  },
];

export type TableRow = { name: string; figure: string; trellis: number; baseline: number; ratio: number; trellisHistoryEvents?: number; baselineHistoryEvents?: number };

/** Runs every row (`only` filters by name substring) and returns the table. */
export async function benchTable(ctx: TestContext, stub: HttpStub, baselineTaskQueue: string, log: (message: string) => void): Promise<TableRow[]> {
  stub.on('POST /echo', (request) => ({ body: request.body ?? {} }));
  const client = ctx.trellis.client;
  const table: TableRow[] = [];
  for (const row of ROWS) {
    await ctx.gql(`mutation($spec: JSON!) { saveDefinition(spec: $spec) { version } }`, { spec: row.definition(stub.url) });
    const trellis = trellisVariant(ctx, String(row.definition(stub.url).name));
    const baseline = baselineVariant(client, baselineTaskQueue, row.baseline.workflow, row.baseline.args(stub.url));
    log(`${row.name}: warming up`);
    // One warm-up run of each, so bundling, caches and connections are not measured.
    for (const variant of [trellis, baseline]) await runLoad(client, variant, { runs: 1, concurrency: 1, firstIndex: 0 });
    const results: LoadResult[] = [];
    for (const variant of [trellis, baseline]) {
      log(`${row.name}: ${variant.name}, ${row.runs} runs, ${row.concurrency} at a time`);
      stub.requests.splice(0);
      results.push(await runLoad(client, variant, { runs: row.runs, concurrency: row.concurrency, firstIndex: 1 }));
    }
    const [t, b] = results as [LoadResult, LoadResult];
    const figure = (result: LoadResult) => (row.figure === 'runs/s' ? result.runsPerSecond : row.figure === 'wall ms' ? result.wallMs : result.latency.p50);
    const [th, bh] = await Promise.all([historyStats(client, t.workflowIds.slice(0, 3)), historyStats(client, b.workflowIds.slice(0, 3))]);
    table.push({
      name: row.name,
      figure: row.figure,
      trellis: figure(t),
      baseline: figure(b),
      ratio: figure(t) / figure(b),
      trellisHistoryEvents: th.events,
      baselineHistoryEvents: bh.events,
    });
  }
  return table;
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

/** Prints the table and writes it as JSON under bench/results/. */
export function reportTable(table: TableRow[], spread: string): string {
  const fmt = (n: number) => (n >= 100 ? n.toFixed(0) : n.toFixed(2));
  const lines = [
    '| work | figure | Trellis | hand-written | ratio | history events / run (Trellis, hand-written) |',
    '| --- | --- | --- | --- | --- | --- |',
    ...table.map((row) => `| ${row.name} | ${row.figure} | ${fmt(row.trellis)} | ${fmt(row.baseline)} | ${row.ratio.toFixed(2)} | ${row.trellisHistoryEvents?.toFixed(0) ?? '—'}, ${row.baselineHistoryEvents?.toFixed(0) ?? '—'} |`),
  ];
  console.log(`\n${lines.join('\n')}\n`);
  const dir = path.join(__dirname, 'results');
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `table-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  fs.writeFileSync(file, `${JSON.stringify({ at: new Date().toISOString(), machine: { cpus: os.cpus().length, load: os.loadavg(), node: process.version }, spread, table }, null, 2)}\n`);
  console.log(`written to ${path.relative(process.cwd(), file)}`);
  return file;
}
