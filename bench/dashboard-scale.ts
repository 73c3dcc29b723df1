import { performance } from 'node:perf_hooks';
import type { Page } from 'playwright-core';
import { launchBrowser } from '../test/support/browser';
import globalSetup from '../test/support/global-setup';
import globalTeardown from '../test/support/global-teardown';
import { wsClient } from '../test/support/graphql-client';
import { HttpStub } from '../test/support/http-stub';
import { finished, startRunOf } from '../test/support/runs';
import { createTestContext, type TestContext } from '../test/support/test-context';

/**
 * `npx tsx bench/dashboard-scale.ts`: how the dashboard copes with large runs, in Debian's Chromium
 * against a real Trellis (not part of CI; prints figures, asserts nothing).
 *  1. A run of 200 parallel http steps: time to draw the page, frame times while all 200 finish,
 *     and how long after the run's last event the page shows it.
 *  2. A map over 5,000 items: the same while it runs.
 *  3. 50 watchers (each a tab's two subscriptions, runUpdated and runEvents) on one run against
 *     none: the run's duration, alternated, several times each.
 * `--only=parallel|map|watchers` runs one part; a bare number sets the watcher part's rounds (5).
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

async function watchers(ctx: TestContext, rounds: number): Promise<void> {
  const spec = { name: 'watched', steps: {} as Record<string, unknown> };
  let previous: string | undefined;
  for (let i = 0; i < 30; i++) {
    const id = `t${i}`;
    spec.steps[id] = { type: 'transform', ...(previous ? { needs: [previous] } : {}), value: { i, previous: previous ? `{% $steps.${previous}.output.i %}` : null } };
    previous = id;
  }
  const durations: Record<'none' | 'fifty', number[]> = { none: [], fifty: [] };
  for (let round = 0; round < rounds; round++) {
    for (const mode of ['none', 'fifty'] as const) {
      const clients = mode === 'fifty' ? Array.from({ length: 50 }, () => wsClient(ctx.graphqlUrl)) : [];
      const run = await startRunOf(ctx, spec);
      // Each watcher opens what a tab of the run page opens.
      for (const client of clients) {
        client.subscribe({ query: 'subscription($id: ID!) { runUpdated(runId: $id) { id status steps { id status } } }', variables: { id: run.id } }, { next: () => undefined, error: () => undefined, complete: () => undefined });
        client.subscribe({ query: 'subscription($id: ID!) { runEvents(runId: $id) { seq type stepId } }', variables: { id: run.id } }, { next: () => undefined, error: () => undefined, complete: () => undefined });
      }
      const view = await finished(ctx, run);
      const at = (type: string) => Date.parse(view.events.find((e) => e.type === type)!.at);
      durations[mode].push(at('RUN_COMPLETED') - at('RUN_STARTED'));
      await Promise.all(clients.map((client) => client.dispose()));
    }
  }
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
  log(`30-step run, RUN_STARTED to RUN_COMPLETED: no watcher ${durations.none.join(', ')} ms (median ${median(durations.none)}); 50 watchers ${durations.fifty.join(', ')} ms (median ${median(durations.fifty)}); ratio ${(median(durations.fifty) / median(durations.none)).toFixed(2)}`);
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
    if (!only || only === 'parallel') await parallelRun(ctx, page, origin);
    if ((!only && !process.argv.includes('--no-map')) || only === 'map') await mapRun(ctx, page, origin);
    await page.goto('about:blank');
    if (!only || only === 'watchers') await watchers(ctx, Number(process.argv.find((arg) => /^\d+$/.test(arg)) ?? 5) || 5);
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
