import type { Page } from 'playwright-core';
import { launchBrowser, type TestBrowser } from '../support/browser';
import { Gate } from '../support/gate';
import { HttpStub } from '../support/http-stub';
import { finished, getRun, startRunOf, type StartedRun } from '../support/runs';
import { createTestContext, type TestContext } from '../support/test-context';
import { until } from '../support/until';

let ctx: TestContext;
let stub: HttpStub;
let browser: TestBrowser;
let page: Page;
let origin: string;

beforeAll(async () => {
  [ctx, stub, browser] = await Promise.all([createTestContext(), new HttpStub().start(), launchBrowser()]);
  origin = new URL(ctx.graphqlUrl).origin;
  page = await browser.page();
  page.on('pageerror', (error) => process.stderr.write(`page error: ${error.message}\n`));
  page.on('console', (message) => message.type() === 'error' && process.stderr.write(`page console: ${message.text()}\n`));
});

afterAll(async () => {
  await browser?.close();
  await ctx?.stop();
  await stub?.stop();
});

/** The step box of `stepId` on the run's graph. */
const stepBox = (stepId: string) => page.locator(`.react-flow__node [data-step="${stepId}"]`);

/** Waits (polling the page, no sleep) until the step shows `status`. */
async function expectStepStatus(stepId: string, status: string): Promise<void> {
  await stepBox(stepId).and(page.locator(`[data-status="${status}"]`)).waitFor({ timeout: 30_000 });
}

async function openRun(run: StartedRun): Promise<void> {
  await page.goto(`${origin}/runs/${run.id}`);
  await page.locator('.react-flow__node').first().waitFor();
}

describe('the run page', () => {
  it('shows a run turning from RUNNING to COMPLETED without a reload, with the audit trail streaming beside the graph', async () => {
    const release = new Gate();
    stub.on('POST /slow', async () => {
      await release.passed();
      return { status: 200, body: { ok: true } };
    });
    const run = await startRunOf(ctx, {
      name: 'live-run',
      steps: {
        call: { type: 'http', method: 'POST', url: `${stub.url}/slow`, body: { n: '{% $input.n %}' } },
        shape: { type: 'transform', needs: ['call'], value: { ok: '{% $steps.call.output.body.ok %}' } },
      },
    }, { n: 7 });
    await openRun(run);
    await expectStepStatus('call', 'RUNNING');
    await page.locator('.page[data-run-status="RUNNING"]').waitFor();
    const navigations: string[] = [];
    page.on('framenavigated', (frame) => navigations.push(frame.url()));

    release.open();
    await expectStepStatus('shape', 'SUCCEEDED');
    await page.locator('.page[data-run-status="COMPLETED"]').waitFor();
    await page.locator('.trail .type-run_completed').waitFor();
    expect(navigations).toEqual([]);

    // A step's details: its resolved input, its output and its attempt.
    await stepBox('call').click();
    const details = page.locator('[data-step-details="call"]');
    await details.waitFor();
    expect(await details.textContent()).toContain('"n": 7');
    expect(await details.locator('.attempts tr').count()).toBe(1);
    expect(await page.locator('a.temporal-link').getAttribute('href')).toMatch(/^http:\/\/temporal-ui\.test\//);
  });

  it('marks a compensated run: the failed step with its error, the rolled-back one as COMPENSATED', async () => {
    stub.on('POST /charges', { status: 201, body: { id: 'ch_9' } });
    stub.on('POST /refunds', { status: 200, body: { refunded: true } });
    // The reservation fails only once the charge has succeeded, so there is something to roll back.
    stub.on('POST /reservations', async () => {
      await until('the charge has been answered', () => stub.received('POST /charges').some((r) => r.answeredAt !== undefined));
      return { status: 409, body: { error: 'out of stock' } };
    });
    const run = await startRunOf(ctx, {
      name: 'compensated',
      steps: {
        charge: { type: 'http', method: 'POST', url: `${stub.url}/charges`, compensate: { type: 'http', method: 'POST', url: `${stub.url}/refunds` } },
        reserve: { type: 'http', method: 'POST', needs: ['charge'], url: `${stub.url}/reservations` },
      },
    });
    await finished(ctx, run);
    await openRun(run);
    await expectStepStatus('charge', 'COMPENSATED');
    await expectStepStatus('reserve', 'FAILED');
    expect(await stepBox('reserve').textContent()).toContain('409 Conflict');
    await page.locator('.page[data-run-status="COMPENSATED"]').waitFor();

    await stepBox('charge').click();
    const details = page.locator('[data-step-details="charge"]');
    await details.getByText('Compensation', { exact: true }).waitFor();
    expect(await details.textContent()).toContain('rolled back');
  });

  it('approves a waiting step: the signal carries the payload and the run completes on screen', async () => {
    const run = await startRunOf(ctx, {
      name: 'approval',
      steps: {
        review: { type: 'wait', signal: 'approval' },
        after: { type: 'transform', needs: ['review'], value: '{% $steps.review.output %}' },
      },
    });
    await openRun(run);
    await expectStepStatus('review', 'WAITING');
    await page.locator('[data-waiting="review"]').getByRole('button', { name: 'Approve…' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.locator('textarea[name="payload"]').fill('{"approved": true, "by": "dana"}');
    await dialog.locator('[data-confirm]').click();

    await expectStepStatus('after', 'SUCCEEDED');
    await page.locator('.page[data-run-status="COMPLETED"]').waitFor();
    const stored = await getRun(ctx, run.id);
    expect(stored.steps.find((s) => s.id === 'review')!.output).toEqual({ approved: true, by: 'dana' });
  });

  it('retries from a chosen step after showing the dry-run plan, and opens the new run', async () => {
    let calls = 0;
    stub.on('POST /flaky', () => (++calls === 1 ? { status: 400, body: { error: 'bad' } } : { status: 200, body: { ok: true } }));
    const run = await startRunOf(ctx, {
      name: 'retried',
      steps: {
        first: { type: 'transform', value: 1 },
        flaky: { type: 'http', method: 'POST', needs: ['first'], url: `${stub.url}/flaky` },
      },
    });
    await finished(ctx, run);
    await openRun(run);
    await page.locator('.page[data-run-status="FAILED"]').waitFor();
    await page.getByRole('button', { name: 'Retry…' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.locator('select[name="fromStep"]').selectOption('flaky');
    await dialog.getByRole('button', { name: 'Show the plan' }).click();
    const plan = dialog.locator('[data-plan]');
    await plan.waitFor();
    expect(await plan.textContent()).toMatch(/reuse the outputs of first.*run again flaky/s);
    const before = (await ctx.gql(`{ runs(filter: {definition: "retried"}) { edges { node { id } } } }`)).runs.edges.length;
    expect(before).toBe(1);

    await dialog.getByRole('button', { name: 'Start the retry' }).click();
    await page.waitForURL((url) => url.pathname.startsWith('/runs/') && !url.pathname.endsWith(run.id));
    await page.locator('.page[data-run-status="COMPLETED"]').waitFor({ timeout: 30_000 });
    await expectStepStatus('flaky', 'SUCCEEDED');
  });

  it('cancels a running run with a reason after a confirmation', async () => {
    const run = await startRunOf(ctx, { name: 'to-cancel', steps: { hold: { type: 'wait', signal: 'never' } } });
    await openRun(run);
    await expectStepStatus('hold', 'WAITING');
    await page.getByRole('button', { name: 'Cancel run…' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.locator('input[name="reason"]').fill('customer called');
    await dialog.locator('[data-confirm]').click();
    await page.locator('.page[data-run-status="CANCELLED"]').waitFor();
    await page.locator('.trail .type-run_cancelled').getByText(/customer called/).waitFor();
  });
});

describe('the run log on the run page', () => {
  it('shows the log lines live, and the level filter keeps a level and above', async () => {
    const run = await startRunOf(ctx, {
      name: 'page-logs',
      steps: {
        chatter: { type: 'log', level: 'debug', message: 'debug detail' },
        alarm: { type: 'log', needs: ['chatter'], level: 'warn', message: 'stock is low: {% $input.left %} left' },
        gate: { type: 'wait', needs: ['alarm'], signal: 'go' },
        done: { type: 'log', needs: ['gate'], level: 'error', message: 'after the gate' },
      },
    }, { left: 2 });
    await openRun(run);
    const log = page.locator('section[aria-label="log"]');
    await log.locator('.log-line[data-level="warn"]').waitFor();
    expect(await log.locator('.log-line .log-message').allTextContents()).toEqual(['debug detail', 'stock is low: 2 left']);
    await page.getByLabel('log level').selectOption('warn');
    expect(await log.locator('.log-line .log-message').allTextContents()).toEqual(['stock is low: 2 left']);
    // A line logged after the page opened arrives without a reload.
    await ctx.gql(`mutation($id: ID!) { signalRun(id: $id, signal: "go") { id } }`, { id: run.id });
    await log.locator('.log-line[data-level="error"]').waitFor();
    expect(await log.locator('.log-line .log-message').allTextContents()).toEqual(['stock is low: 2 left', 'after the gate']);
    expect((await finished(ctx, run)).status).toBe('COMPLETED');
  });
});

describe('the runs list', () => {
  it('adds a new run on top without a reload, and follows its status; counts by status follow', async () => {
    await page.goto(`${origin}/runs?definition=listed-live`);
    await page.locator('table.runs').waitFor();
    await page.locator('[data-count="COMPLETED"]').waitFor();
    const gate = new Gate();
    stub.on('GET /listed', async () => {
      await gate.passed();
      return { status: 200, body: {} };
    });
    const run = await startRunOf(ctx, { name: 'listed-live', steps: { call: { type: 'http', url: `${stub.url}/listed` } } });
    const row = page.locator(`tr[data-run="${run.id}"]`);
    await row.getByText('RUNNING').waitFor();
    gate.open();
    await row.getByText('COMPLETED').waitFor();
    await page.locator('[data-count="COMPLETED"] b').getByText('1').waitFor();

    await page.locator('input[name="waiting"]').check();
    await row.waitFor({ state: 'detached' });
    expect(new URL(page.url()).searchParams.get('waiting')).toBe('1');
  });
});
