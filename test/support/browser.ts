import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

/** Debian's Chromium (apt package `chromium`); .ci/run installs it when missing. */
export const CHROMIUM_PATH = process.env.TRELLIS_CHROMIUM_PATH ?? '/usr/bin/chromium';

/**
 * Flags for a headless Chromium on a machine without a network beyond its own: without the
 * background-networking ones it keeps trying Google's hosts and gets refused many times a second.
 */
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export type TestBrowser = {
  browser: BrowserContext;
  /**
   * A page in the foreground: the window's first tab, then new tabs brought to the front. A page
   * behind another gets no animation frames, and React Flow draws nodes only once it has measured them.
   */
  page(): Promise<Page>;
  close(): Promise<void>;
};

/**
 * Launches Debian's Chromium through playwright-core (which downloads nothing) with a fresh
 * profile in a temporary directory, removed on close. One per test file; pages are shared.
 */
export async function launchBrowser(options: { width?: number; height?: number; /** Let the caller evaluate code as text in pages (benchmarks). */ bypassCSP?: boolean } = {}): Promise<TestBrowser> {
  const profile = await mkdtemp(path.join(os.tmpdir(), 'trellis-chromium-'));
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM_PATH,
      headless: true,
      args: FLAGS,
      viewport: { width: options.width ?? 1440, height: options.height ?? 900 },
      bypassCSP: options.bypassCSP ?? false,
    });
  } catch (err) {
    await rm(profile, { recursive: true, force: true });
    throw new Error(`cannot start Chromium at ${CHROMIUM_PATH} (install Debian's chromium package: apt-get install -y chromium): ${(err as Error).message}`);
  }
  let firstTaken = false;
  return {
    browser: context,
    async page() {
      const first = context.pages()[0];
      const page = !firstTaken && first ? first : await context.newPage();
      firstTaken = true;
      await page.bringToFront();
      return page;
    },
    async close() {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}

export type { Browser };
