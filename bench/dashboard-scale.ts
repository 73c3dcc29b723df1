import { spawn } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { gzipSync } from 'node:zlib';
import type { Page } from 'playwright-core';
import { launchBrowser } from '../test/support/browser';
import globalSetup from '../test/support/global-setup';
import globalTeardown from '../test/support/global-teardown';
import { HttpStub } from '../test/support/http-stub';
import { finished, getRun, startRunOf } from '../test/support/runs';
import { createTestContext, type TestContext } from '../test/support/test-context';
import { until } from '../test/support/until';
import { TrellisProcess } from '../test/support/trellis-process';

/**
 * `npx tsx bench/dashboard-scale.ts`: how the dashboard copes with large runs, in Debian's Chromium
 * against a real Trellis (not part of CI; prints figures, asserts nothing).
 *  1. A run of 200 parallel http steps: time to draw the page, frame times while all 200 finish,
 *     and how long after the run's last event the page shows it.
 *  2. A map over 5,000 items: the same while it runs.
 *  3. 50 watchers (each a tab's subscription, runWatch, in another process as
 *     tabs would be, at the lowest priority) on a run of 30 http calls against none: the run's
 *     duration and the CPU time of the process serving them, alternated, several times each, with
 *     tabs opened as the run starts and with tabs already watching it; and that each watcher got
 *     every event in order and the final state. First with the API and the worker in this process,
 *     then with the watchers on an API process of their own.
 *  0. First render: the runs list and a run's page, with an empty cache and cached.
 * `--only=first-render|parallel|map|watchers` runs one part; a bare number sets the watcher part's
 * rounds (5); `--together` or `--apart` runs one set-up of the watcher part; `--mode=none` or
 * `--mode=fifty` runs its runs without watchers or with them only (for a CPU profile of one).
 */
const log = (message: string) => process.stdout.write(`${message}\n`);

/** Starts recording the time between animation frames in the page. */
async function recordFrames(page: Page): Promise<void> {
  // Page code as text: this file is type-checked for Node, not the DOM.
  await page.evaluate(`(() => {
    window.frames_ = [];
    let last = performance.now();
    const tick = (now) => { window.frames_.push(now - last); last = now; requestAnimationFrame(tick); };
    requestAnimationFrame(tick);
  })()`);
}

async function frameStats(page: Page): Promise<string> {
  const frames = (await page.evaluate('window.frames_')) as number[];
  const sorted = [...frames].sort((a, b) => a - b);
  const pick = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!.toFixed(1);
  return `${frames.length} frames: median ${pick(0.5)} ms, p95 ${pick(0.95)} ms, max ${pick(1)} ms, over 50 ms: ${frames.filter((f) => f > 50).length}`;
}

async function parallelRun(ctx: TestContext, page: Page, origin: string): Promise<void> {
  // Timers of 2–8 s, so the 200 steps finish spread out. (200 parallel http steps crashed the
  // worker here with "async hook stack has become corrupted", the sandbox fault DESIGN.md notes.)
  const steps: Record<string, unknown> = {};
  for (let i = 0; i < 200; i++) steps[`s${String(i).padStart(3, '0')}`] = { type: 'delay', duration: `${2000 + ((i * 37) % 6000)}ms` };
  const run = await startRunOf(ctx, { name: 'wide-200', steps });
  const started = performance.now();
  await page.goto(`${origin}/runs/${run.id}`);
  await page.waitForFunction(`document.querySelectorAll('.react-flow__node [data-step]').length === 200`, undefined, { timeout: 60_000 });
  log(`200 parallel steps: page drawn with its 200 steps in ${(performance.now() - started).toFixed(0)} ms (while the run starts them)`);
  await recordFrames(page);
  await finished(ctx, run);
  const settled = performance.now();
  await page.waitForFunction(`document.querySelector('.page[data-run-status="COMPLETED"]') && document.querySelectorAll('[data-status="SUCCEEDED"]').length === 200`, undefined, { timeout: 60_000, polling: 'raf' });
  log(`200 parallel steps: page shows all 200 SUCCEEDED ${(performance.now() - settled).toFixed(0)} ms after the workflow closed (run took ${((settled - started) / 1000).toFixed(1)} s)`);
  log(`200 parallel steps: while they ran, ${await frameStats(page)}`);
  const again = performance.now();
  await page.goto(`${origin}/runs/${run.id}`);
  await page.waitForFunction(`document.querySelectorAll('[data-status="SUCCEEDED"]').length === 200`, undefined, { timeout: 60_000 });
  log(`200 parallel steps: the finished run's page drawn in ${(performance.now() - again).toFixed(0)} ms`);
}

async function mapRun(ctx: TestContext, page: Page, origin: string): Promise<void> {
  const items = Array.from({ length: 5000 }, (_, i) => ({ n: i }));
  const run = await startRunOf(ctx, {
    name: 'map-5000',
    input: { type: 'object' },
    steps: {
      all: { type: 'map', items: '{% $input.items %}', maxConcurrency: 100, do: { steps: { double: { type: 'transform', value: '{% $item.n * 2 %}' } }, output: '{% $steps.double.output %}' } },
      total: { type: 'transform', needs: ['all'], value: '{% $count($steps.all.output) %}' },
    },
  }, { items });
  const started = performance.now();
  await page.goto(`${origin}/runs/${run.id}`);
  await page.locator('[data-step="all"]').waitFor({ state: 'attached' });
  log(`map over 5,000 items: page drawn in ${(performance.now() - started).toFixed(0)} ms`);
  await recordFrames(page);
  const closed = await finished(ctx, run);
  const settled = performance.now();
  await page.waitForFunction(`document.querySelector('.page[data-run-status="COMPLETED"]')`, undefined, { timeout: 60_000, polling: 'raf' });
  log(`map over 5,000 items: run ${closed.status} in ${((settled - started) / 1000).toFixed(1)} s; the page showed it ${(performance.now() - settled).toFixed(0)} ms after the workflow closed`);
  log(`map over 5,000 items: while it ran, ${await frameStats(page)}`);
}

/** Milliseconds from navigation start to the first contentful paint of the page now shown. */
async function firstContentfulPaint(page: Page): Promise<number> {
  return (await page.evaluate(`performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? -1`)) as number;
}

/**
 * The first page a visitor sees: the runs list (navigation to its first row, and to the first
 * contentful paint) and a finished 30-step run's page (to all its steps drawn): the first visit
 * with an empty cache, then the median of 5 visits with the assets cached. Prints the JavaScript
 * each page loads (its gzip size).
 */
async function firstRender(ctx: TestContext, page: Page, origin: string): Promise<void> {
  const steps: Record<string, unknown> = {};
  for (let i = 0; i < 30; i++) steps[`s${i}`] = { type: 'transform', ...(i > 0 ? { needs: [`s${i - 1}`] } : {}), value: i };
  const run = await startRunOf(ctx, { name: 'first-render', steps });
  await finished(ctx, run);
  const pages = [
    { name: 'runs list', url: `${origin}/runs`, drawn: `document.querySelector('tr[data-run]') !== null` },
    { name: '30-step run', url: `${origin}/runs/${run.id}`, drawn: `document.querySelectorAll('[data-status="SUCCEEDED"]').length === 30` },
  ];
  for (const { name, url, drawn } of pages) {
    const scripts = new Map<string, number>();
    const onResponse = (response: { url(): string; body(): Promise<Buffer> }) => {
      if (response.url().endsWith('.js')) void response.body().then((body) => scripts.set(response.url(), gzipSync(body, { level: 9 }).length), () => undefined);
    };
    const times: Array<{ drawn: number; paint: number }> = [];
    for (let visit = 0; visit < 6; visit++) {
      await page.goto('about:blank');
      if (visit === 0) {
        await page.context().clearCookies();
        const session = await page.context().newCDPSession(page);
        await session.send('Network.clearBrowserCache');
        await session.detach();
        page.on('response', onResponse);
      }
      const started = performance.now();
      await page.goto(url);
      await page.waitForFunction(drawn, undefined, { timeout: 60_000, polling: 'raf' });
      times.push({ drawn: performance.now() - started, paint: await firstContentfulPaint(page) });
      if (visit === 0) page.off('response', onResponse);
    }
    const [cold, ...warm] = times;
    const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!.toFixed(0);
    const kib = ([...scripts.values()].reduce((a, b) => a + b, 0) / 1024).toFixed(0);
    log(`first render, ${name}: empty cache ${cold!.drawn.toFixed(0)} ms (first paint ${cold!.paint.toFixed(0)} ms); cached, median of 5: ${median(warm.map((t) => t.drawn))} ms (first paint ${median(warm.map((t) => t.paint))} ms); ${scripts.size} scripts, ${kib} KiB gzip`);
  }
}

type Received = Array<{ updates: number; finalStatus: string; steps: Record<string, string>; events: number; inOrder: boolean; bytes: number }>;

/** The watchers' process (bench/dashboard-watchers.ts): one run id per line in, two JSON lines out per run. */
function watcherProcess(graphqlUrl: string, count: number) {
  // The same loader (tsx) as this process, without its profiling flags.
  const execArgv = process.execArgv.filter((arg) => !arg.startsWith('--cpu-prof'));
  const child = spawn(process.execPath, [...execArgv, path.join(__dirname, 'dashboard-watchers.ts'), graphqlUrl, String(count)], { stdio: ['pipe', 'pipe', 'inherit'] });
  // At the lowest priority: tabs run on their users' machines, not beside the server, so their
  // own work (50 clients parsing what they receive) should take only CPU time Trellis leaves.
  os.setPriority(child.pid!, 19);
  const replies = createInterface({ input: child.stdout! });
  const waiting: Array<(line: string) => void> = [];
  replies.on('line', (line) => waiting.shift()?.(line));
  const nextLine = () => new Promise<string>((resolve) => waiting.push(resolve)).then((line) => JSON.parse(line));
  return {
    /**
     * Subscribes every watcher to the run: `watching` resolves once each has the run's first
     * state, `received` with what each received once its streams ended.
     */
    watch(runId: string): { watching: Promise<unknown>; received: Promise<Received> } {
      const watching = nextLine();
      const received = nextLine() as Promise<Received>;
      child.stdin!.write(`${runId}\n`);
      return { watching, received };
    },
    stop: () => new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.stdin!.end();
    }),
  };
}

/** CPU time (user and system, ms) the processes of a process group have used so far, from /proc. */
function groupCpuMs(pgid: number): number {
  let ticks = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // gone meanwhile
    }
    // After the command's closing parenthesis: state, ppid, pgrp, … utime (14th field), stime (15th).
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(fields[2]) === pgid) ticks += Number(fields[11]) + Number(fields[12]);
  }
  return ticks * 10; // USER_HZ is 100 on Linux
}

const ownCpuMs = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
};

/**
 * 50 watchers against none on one run, alternated; `cpu` reads the CPU time used so far by the
 * process that serves the watchers (with the worker, when they share one), to say what each run
 * cost it.
 */
async function watchers(ctx: TestContext, stub: HttpStub, rounds: number, watchedApi: string, cpu: { name: string; read: () => number }): Promise<void> {
  // A run that calls something: 30 steps in a chain, each posting to the stub what the step
  // before it got back (the stub answers at once, so what watchers cost is not hidden by waiting).
  stub.on('POST /echo', (request) => ({ body: request.body ?? {} }));
  const chain = (first?: string) => {
    const steps: Record<string, unknown> = {};
    let previous = first;
    for (let i = 0; i < 30; i++) {
      const id = `s${i}`;
      steps[id] = {
        type: 'http',
        method: 'POST',
        url: `${stub.url}/echo`,
        ...(previous ? { needs: [previous] } : {}),
        body: { i, previous: previous && previous !== first ? `{% $steps.${previous}.output.body.i %}` : null },
      };
      previous = id;
    }
    return steps;
  };
  // Tabs opened as the run starts (they subscribe while it runs), and tabs already watching: the
  // same chain behind a step that waits for a signal, sent once every watcher has the run.
  const variants = {
    opened: { spec: { name: 'watched', steps: chain() }, from: 'RUN_STARTED' },
    watching: { spec: { name: 'watched-gated', steps: { gate: { type: 'wait', signal: 'go' }, ...chain('gate') } }, from: 'SIGNAL_RECEIVED' },
  } as const;
  const tabs = watcherProcess(watchedApi, 50);
  type Mode = 'none' | 'fifty';
  const only = process.argv.find((arg) => arg.startsWith('--mode='))?.slice('--mode='.length);
  const modes = (['none', 'fifty'] as const).filter((mode) => !only || mode === only);
  const figures = Object.fromEntries(
    Object.keys(variants).map((variant) => [variant, { durations: { none: [] as number[], fifty: [] as number[] }, cpu: { none: [] as number[], fifty: [] as number[] } }]),
  ) as Record<keyof typeof variants, { durations: Record<Mode, number[]>; cpu: Record<Mode, number[]> }>;
  const updates: number[] = [];
  const bytes: number[] = [];
  try {
    // A first round of each, not counted: the first runs pay for what warms up.
    for (let round = -1; round < rounds; round++) {
      for (const [variant, { spec, from }] of Object.entries(variants) as Array<[keyof typeof variants, (typeof variants)[keyof typeof variants]]>) {
        for (const mode of modes) {
          const cpuBefore = cpu.read();
          const run = await startRunOf(ctx, spec);
          // Each watcher opens what a tab of the run page opens.
          const watched = mode === 'fifty' ? tabs.watch(run.id) : undefined;
          if (variant === 'watching') {
            await watched?.watching;
            await until('the run waits for its signal', async () => (await getRun(ctx, run.id)).steps.some((step) => step.id === 'gate' && step.status === 'WAITING'));
            await ctx.gql('mutation($id: ID!) { signalRun(id: $id, signal: "go") { id } }', { id: run.id });
          }
          const view = await finished(ctx, run);
          const at = (type: string) => Date.parse(view.events.find((e) => e.type === type)!.at);
          const received = await watched?.received;
          if (round >= 0) {
            figures[variant].durations[mode].push(at('RUN_COMPLETED') - at(from));
            figures[variant].cpu[mode].push(Math.round(cpu.read() - cpuBefore));
          }
          if (!received) continue;
          const events = view.events.length;
          const stepCount = Object.keys(spec.steps).length;
          const allSucceeded = (steps: Record<string, string>) => Object.keys(steps).length === stepCount && Object.values(steps).every((status) => status === 'SUCCEEDED');
          const wrong = received.filter((r) => r.finalStatus !== 'COMPLETED' || !allSucceeded(r.steps) || r.events !== events || !r.inOrder).length;
          if (wrong > 0) throw new Error(`${wrong} of 50 watchers missed the final state, a step's or an event: ${JSON.stringify(received)}`);
          if (variant === 'opened') {
            updates.push(...received.map((r) => r.updates));
            bytes.push(...received.map((r) => r.bytes));
          }
        }
      }
    }
  } finally {
    await tabs.stop();
  }
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN;
  // Each round runs one of each back to back: their ratio, round by round, cancels what drifts
  // between rounds (the machine's other load); its middle half says how far one can trust it.
  const paired = (values: Record<Mode, number[]>) => {
    const ratios = values.fifty.map((fifty, i) => fifty / values.none[i]!).sort((a, b) => a - b);
    if (ratios.length === 0 || values.none.length === 0) return '';
    const at = (q: number) => ratios[Math.min(ratios.length - 1, Math.floor(q * ratios.length))]!.toFixed(2);
    return `; paired by round: median ${at(0.5)}, middle half ${at(0.25)}–${at(0.75)}`;
  };
  const compare = (values: Record<Mode, number[]>) =>
    `no watcher ${values.none.join(', ')} ms (median ${median(values.none)}); 50 watchers ${values.fifty.join(', ')} ms (median ${median(values.fifty)}); ratio ${(median(values.fifty) / median(values.none)).toFixed(2)}${paired(values)}`;
  const { opened, watching } = figures;
  log(`30-call chain, tabs opened as it starts, RUN_STARTED to RUN_COMPLETED: ${compare(opened.durations)}`);
  log(`  CPU time of ${cpu.name} per run (until every watcher had its end): ${compare(opened.cpu)}`);
  log(`30-call chain, tabs already watching, SIGNAL_RECEIVED to RUN_COMPLETED: ${compare(watching.durations)}`);
  log(`  CPU time of ${cpu.name} per run (from its start, watchers subscribing included): ${compare(watching.cpu)}`);
  log(`50 watchers: each got every event in order and the final state of the run and its steps; messages per watcher and run: median ${median(updates)}, max ${Math.max(...updates)}; JSON received per watcher and run: median ${(median(bytes) / 1024).toFixed(0)} KiB`);
}

async function main(): Promise<void> {
  await globalSetup();
  const stub = await new HttpStub().start();
  const ctx = await createTestContext();
  const browser = await launchBrowser({ bypassCSP: true });
  try {
    const page = await browser.page();
    const origin = new URL(ctx.graphqlUrl).origin;
    const only = process.argv.find((arg) => arg.startsWith('--only='))?.slice('--only='.length);
    if (!only || only === 'first-render') await firstRender(ctx, page, origin);
    if (!only || only === 'parallel') await parallelRun(ctx, page, origin);
    if ((!only && !process.argv.includes('--no-map')) || only === 'map') await mapRun(ctx, page, origin);
    await page.goto('about:blank');
    if (!only || only === 'watchers') {
      const rounds = Number(process.argv.find((arg) => /^\d+$/.test(arg)) ?? 5) || 5;
      if (!process.argv.includes('--apart')) {
        log('50 watchers, API and worker in one process (npm start):');
        await watchers(ctx, stub, rounds, ctx.graphqlUrl, { name: 'the process (API and worker)', read: ownCpuMs });
      }
      if (process.argv.includes('--together')) return;
      // The watchers on an API process of their own (TRELLIS_ROLE=api), as a deployment that
      // scales its API apart from its workers runs: the run's worker is this process.
      const api = await TrellisProcess.start('api', ctx.env);
      try {
        log('50 watchers on an API process of their own (TRELLIS_ROLE=api), the run in this process:');
        await watchers(ctx, stub, rounds, api.graphqlUrl, { name: 'the API process', read: () => groupCpuMs(api.pid) });
      } finally {
        await api.stop();
      }
    }
  } finally {
    await browser.close();
    await ctx.stop();
    await stub.stop();
    await globalTeardown();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
