/**
 * `npm run screenshots`: starts a whole Trellis in a temporary directory (embedded PostgreSQL and
 * Temporal on free ports), runs the README's walkthrough against the example services, and takes
 * a screenshot of each dashboard page into docs/screenshots/. Not part of `npm test`.
 */
import { spawn } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { loadConfig } from '../src/config';
import { freePort } from '../src/net/free-port';
import { installTemporalLogger } from '../src/temporal/worker';
import { startTrellis } from '../src/trellis';
import { launchBrowser } from '../test/support/browser';

const root = path.join(__dirname, '..');
const out = path.join(root, 'docs/screenshots');

async function gql<T = any>(url: string, query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const answer = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query, variables }) });
  const body = (await answer.json()) as { data?: T; errors?: unknown };
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data!;
}

async function main(): Promise<void> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'trellis-screenshots-'));
  // As root, embedded PostgreSQL runs as another user, which must enter this directory.
  await chmod(dataDir, 0o755);
  const servicesPort = await freePort();
  const services = spawn(process.execPath, [require.resolve('tsx/cli'), path.join(root, 'examples/mock-services.ts'), '--port', String(servicesPort)], { stdio: ['ignore', 'pipe', 'inherit'] });
  // Listening before the other ports are picked, so none of them can be this one.
  await new Promise<void>((resolve, reject) => {
    services.stdout.on('data', (chunk: Buffer) => chunk.toString().includes('example services on') && resolve());
    services.once('exit', (code) => reject(new Error(`the example services exited (${code})`)));
  });
  services.stdout.resume();
  installTemporalLogger('ERROR');
  const config = loadConfig({
    ...process.env,
    TRELLIS_DATA_DIR: dataDir,
    PORT: String(await freePort()),
    TEMPORAL_PORT: String(await freePort()),
    TEMPORAL_UI_PORT: String(await freePort()),
  });
  const trellis = await startTrellis(config, { log: () => undefined });
  const url = trellis.graphqlUrl!;
  const origin = new URL(url).origin;
  const browser = await launchBrowser({ width: 1440, height: 860 });
  try {
    await mkdir(out, { recursive: true });
    const spec = JSON.parse(await readFile(path.join(root, 'examples/order-fulfilment.json'), 'utf8')) as Record<string, any>;
    await gql(url, 'mutation($value: JSON!) { setVariable(name: "SERVICES_URL", value: $value) }', { value: `http://127.0.0.1:${servicesPort}` });
    await gql(url, 'mutation($spec: JSON!) { saveDefinition(spec: $spec) { version } }', { spec });
    const start = async (input: unknown) =>
      (await gql(url, 'mutation($input: JSON) { startRun(definition: "order-fulfilment", input: $input) { id } }', { input })).startRun.id as string;
    const page = await browser.page();
    const shot = async (name: string, target: Page = page) => {
      await target.screenshot({ path: path.join(out, `${name}.png`) });
      console.log(`docs/screenshots/${name}.png`);
    };
    const status = (s: string) => page.locator(`.page[data-run-status="${s}"]`).waitFor({ timeout: 60_000 });

    // A live run: the cooldown (a 3 s timer) is running, the audit trail streams beside the graph.
    const live = await start({ orderId: 'A-1001', total: 42.5 });
    await page.goto(`${origin}/runs/${live}`);
    await page.locator('[data-step="cooldown"][data-status="RUNNING"]').waitFor({ state: 'attached', timeout: 30_000 });
    await page.locator('[data-step="ship"]').click();
    await page.locator('[data-step-details="ship"] .attempts').waitFor();
    await shot('run-live');
    await status('COMPLETED');

    // A compensated run: the reservation answers 409, the charge is refunded.
    const failed = await start({ orderId: 'fail-1', total: 42.5 });
    await page.goto(`${origin}/runs/${failed}`);
    await page.locator('[data-step="charge"][data-status="COMPENSATED"]').waitFor({ state: 'attached', timeout: 60_000 });
    await page.locator('[data-step="charge"]').click();
    await page.locator('[data-step-details="charge"]').getByText('Compensation', { exact: true }).waitFor();
    await shot('run-compensated');
    await status('COMPENSATED').catch(() => undefined);
    await page.getByRole('button', { name: 'Retry…' }).click();
    await page.getByRole('dialog').locator('select[name="fromStep"]').selectOption('reserve');
    await page.getByRole('button', { name: 'Show the plan' }).click();
    await page.locator('[data-plan]').waitFor();
    await shot('retry-plan');
    await page.getByRole('button', { name: 'Cancel', exact: true }).click();

    // A step waiting for approval.
    const approvals = { name: 'refund-approval', description: 'Refunds above 500 wait for a person', steps: {
      lookup: { type: 'transform', value: { order: '{% $input.orderId %}', amount: '{% $input.amount %}' } },
      approval: { type: 'wait', needs: ['lookup'], signal: 'approval', timeout: '3d' },
      refund: { type: 'http', method: 'POST', needs: ['approval'], url: `http://127.0.0.1:${servicesPort}/payments/refunds`, body: { charge: '{% $input.orderId %}' } },
    } };
    await gql(url, 'mutation($spec: JSON!) { saveDefinition(spec: $spec) { version } }', { spec: approvals });
    const waiting = (await gql(url, 'mutation { startRun(definition: "refund-approval", input: {orderId: "A-1002", amount: 900}) { id } }')).startRun.id as string;
    await page.goto(`${origin}/runs/${waiting}`);
    await page.locator('[data-waiting="approval"]').getByRole('button', { name: 'Approve…' }).click();
    await page.getByRole('dialog').waitFor();
    await shot('approve');
    await page.getByRole('dialog').locator('[data-confirm]').click();
    await status('COMPLETED');

    for (const input of [{ orderId: 'A-1003', total: 5000 }, { orderId: 'A-1004', total: 12 }]) await start(input);
    await gql(url, 'mutation { startRun(definition: "refund-approval", input: {orderId: "A-1005", amount: 700}) { id } }');
    await page.goto(`${origin}/runs`);
    await page.locator('[data-count="RUNNING"] b').waitFor();
    await page.locator('tr[data-run]').nth(5).waitFor();
    await shot('runs');

    // A second version, its graph and its diff.
    spec.description = 'Charge, reserve stock, ship low-risk orders, hold risky ones; then summarise';
    spec.steps.cooldown.duration = '5s';
    await gql(url, 'mutation($spec: JSON!) { saveDefinition(spec: $spec) { version } }', { spec });
    await page.goto(`${origin}/definitions/order-fulfilment`);
    await page.locator('[data-diff] .added').first().waitFor();
    await shot('definition');

    // The editor with a mistake: the error on its value and on its step.
    await page.goto(`${origin}/editor/order-fulfilment`);
    await page.locator('.cm-content').waitFor();
    await page.locator('[data-problems="0"]').waitFor();
    const broken = JSON.stringify({ ...spec, steps: { ...spec.steps, summary: { ...spec.steps.summary, needs: ['cooldown'], value: { ...spec.steps.summary.value, invoice: '{% $steps.invoice.output %}' } } } }, null, 2);
    await page.locator('.cm-content').click();
    await page.keyboard.press('Control+A');
    await page.keyboard.insertText(broken);
    await page.locator('.cm-lintRange-error').first().waitFor();
    await page.locator('[data-step="summary"]').click();
    await page.locator('[data-step-data="summary"]').waitFor();
    await page.locator('.cm-lintRange-error').first().scrollIntoViewIfNeeded();
    await shot('editor');

    const explorer = await browser.page();
    await explorer.goto(`${origin}/graphql`);
    await explorer.locator('.graphiql-container').waitFor();
    await explorer.locator('.graphiql-execute-button').click();
    await explorer.getByText('"edges"').first().waitFor({ timeout: 30_000 });
    await shot('explorer', explorer);
  } catch (err) {
    const pages = browser.browser.pages();
    if (process.env.SCREENSHOT_DEBUG && pages.at(-1)) await pages.at(-1)!.screenshot({ path: process.env.SCREENSHOT_DEBUG });
    throw err;
  } finally {
    await browser.close();
    await trellis.stop();
    services.kill();
    await rm(dataDir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
