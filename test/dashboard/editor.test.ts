import type { Page } from 'playwright-core';
import { launchBrowser, type TestBrowser } from '../support/browser';
import { HttpStub } from '../support/http-stub';
import { save } from '../support/runs';
import { createTestContext, type TestContext } from '../support/test-context';

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
});

afterAll(async () => {
  await browser?.close();
  await ctx?.stop();
  await stub?.stop();
});

const editor = () => page.locator('.cm-content');
const stepBox = (stepId: string) => page.locator(`.react-flow__node [data-step="${stepId}"]`);

/** Replaces the editor's whole text, as typing would (select all, then insert). */
async function setText(text: string): Promise<void> {
  await editor().click();
  await page.keyboard.press('Control+A');
  await page.keyboard.insertText(text);
}

const SPEC = {
  name: 'edited',
  steps: {
    charge: { type: 'http', method: 'POST', url: `http://127.0.0.1:1/charges` },
    review: { type: 'wait', needs: ['charge'], signal: 'approval' },
  },
};

describe('the editor', () => {
  beforeAll(async () => {
    await save(ctx, SPEC);
  });

  it('underlines a problem at its JSON pointer in the text and marks its step on the graph, as you type', async () => {
    await page.goto(`${origin}/editor/edited`);
    await editor().waitFor();
    await stepBox('review').waitFor();
    await page.locator('[data-problems="0"]').waitFor();

    // "approval" becomes a number: validateDefinition reports /steps/review/signal.
    const broken = JSON.stringify({ ...SPEC, steps: { ...SPEC.steps, review: { ...SPEC.steps.review, signal: 12345 } } }, null, 2);
    await setText(broken);
    const underline = page.locator('.cm-lintRange-error');
    await underline.first().waitFor();
    expect(await underline.allTextContents()).toEqual(['12345']);
    const listed = page.locator('.problems li[data-pointer="/steps/review/signal"]');
    await listed.waitFor();
    await stepBox('review').and(page.locator('.invalid')).waitFor();
    expect(await stepBox('charge').and(page.locator('.invalid')).count()).toBe(0);

    // A missing required field has no text of its own: its step's key is underlined instead.
    const { signal: _dropped, ...withoutSignal } = SPEC.steps.review;
    await setText(JSON.stringify({ ...SPEC, steps: { ...SPEC.steps, review: withoutSignal } }, null, 2));
    await page.locator('.problems li[data-pointer="/steps/review/signal"]').waitFor();
    await underline.getByText('"review"').waitFor();
  });

  it('redraws the graph as steps are added, in YAML too', async () => {
    await page.goto(`${origin}/editor/edited`);
    await stepBox('review').waitFor();
    await page.locator('[data-format-button="yaml"]').click();
    await page.locator('.code-editor[data-format="yaml"]').waitFor();
    const yaml = `name: edited
steps:
  charge: { type: http, method: POST, url: "http://127.0.0.1:1/charges" }
  review: { type: wait, needs: [charge], signal: approval }
  notify: { type: transform, needs: [review], value: 1 }
  audit:
    type: transform
    needs: [charge]
    value: "{% $steps.missing.output %}"
`;
    await setText(yaml);
    await stepBox('notify').waitFor();
    await stepBox('audit').and(page.locator('.invalid')).waitFor();
    const underline = page.locator('.cm-lintRange-error');
    await underline.first().waitFor();
    expect(await underline.allTextContents()).toEqual(['"{% $steps.missing.output %}"']);
  });

  it('runs a test with a mock and shows the result on the graph, with the data a step can read', async () => {
    stub.on('POST /real', { status: 200, body: { real: true } });
    const spec = {
      name: 'mocked',
      steps: {
        charge: { type: 'http', method: 'POST', url: 'http://127.0.0.1:1/never-called' },
        ship: { type: 'http', method: 'POST', needs: ['charge'], url: `${stub.url}/real`, body: { charge: '{% $steps.charge.output.body.id %}' } },
      },
    };
    await page.goto(`${origin}/editor`);
    await editor().waitFor();
    await setText(JSON.stringify(spec, null, 2));
    await stepBox('ship').waitFor();
    await page.locator('textarea[name="input"]').fill('{"order": "A-7"}');
    await page.locator('textarea[name="mocks"]').fill('{"charge": {"status": 201, "headers": {}, "body": {"id": "ch_mock"}}}');
    await page.getByRole('button', { name: 'Run test' }).click();

    await page.locator('[data-test-run="COMPLETED"]').waitFor({ timeout: 30_000 });
    await stepBox('charge').and(page.locator('[data-status="SUCCEEDED"]')).waitFor();
    await stepBox('ship').and(page.locator('[data-status="SUCCEEDED"]')).waitFor();
    expect(stub.received('POST /real').map((r) => r.body)).toEqual([{ charge: 'ch_mock' }]);

    await stepBox('ship').click();
    const data = page.locator('[data-step-data="ship"]');
    await data.waitFor();
    const text = await data.textContent();
    expect(text).toContain('"order": "A-7"');
    expect(text).toContain('$steps.charge.output');
    expect(text).toContain('"id": "ch_mock"');
  });

  it('saves the text as a new version', async () => {
    await page.goto(`${origin}/editor/edited`);
    await stepBox('review').waitFor();
    await setText(JSON.stringify({ ...SPEC, description: 'second version' }, null, 2));
    await page.locator('[data-problems="0"]').waitFor();
    await page.getByRole('button', { name: 'Save as new version' }).click();
    await page.locator('[data-message]').getByText('saved edited v2').waitFor();
    const { definition } = await ctx.gql(`{ definition(name: "edited") { latestVersion description } }`);
    expect(definition).toEqual({ latestVersion: 2, description: 'second version' });
  });
});

describe('the definitions pages', () => {
  it('lists definitions and shows a version’s graph and its diff against the previous one', async () => {
    await page.goto(`${origin}/definitions`);
    await page.locator('tr[data-definition="edited"]').getByRole('link', { name: 'edited' }).click();
    await stepBox('review').waitFor();
    const diff = page.locator('[data-diff]');
    await diff.waitFor();
    expect(await diff.locator('.added').textContent()).toContain('"description": "second version"');
  });
});
