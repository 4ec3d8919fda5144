/**
 * Headless Chromium (Debian's /usr/bin/chromium, or CHROMIUM_PATH) driven by
 * playwright-core, shared by the browser test files: whether it can run, one
 * browser per file, fresh pages, and waiting on an expression in the page.
 * Without Chromium or playwright-core a file's tests are skipped with a note,
 * except in CI (process.env.CI set), where they fail.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll } from 'vitest';
import { withoutSanitizers } from '../kit/index.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/** Where playwright-core would load from (an optional devDependency, imported dynamically), or null. Honours NODE_PATH. */
function findPlaywright(): string | null {
  try {
    return createRequire(__filename).resolve('playwright-core');
  } catch {
    return null;
  }
}

const playwrightPath = findPlaywright();
export const version = existsSync(CHROMIUM)
  ? (spawnSync(CHROMIUM, ['--version'], { encoding: 'utf8', env: withoutSanitizers() }).stdout.match(/[\d.]+/)?.[0] ?? '?')
  : '?';
/** Why the Chromium tests cannot run here, or null. */
export const missing = !existsSync(CHROMIUM)
  ? `no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)`
  : !playwrightPath
    ? 'playwright-core is not installed (npm install --save-dev playwright-core)'
    : null;
export const skip = missing !== null && !process.env.CI;

/** Launches Chromium before the calling file's tests and closes it after them; the returned getter gives the browser. */
export function useChromium(file: string): () => any {
  let browser: any = null;
  if (skip) console.warn(`${file}: skipping the Chromium tests: ${missing}. In CI (CI set) this is a failure.`);
  beforeAll(async () => {
    if (missing) return;
    const playwright = await import(pathToFileURL(playwrightPath!).href);
    const { chromium } = playwright.chromium ? playwright : playwright.default;
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS, timeout: 30_000, env: withoutSanitizers() });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
  });
  return () => browser;
}

/** A fresh page in browser, closed after the test; page errors are collected. */
export async function newPage(
  browser: any,
  defer: (fn: () => unknown) => void,
  viewport = { width: 900, height: 760 },
): Promise<{ page: any; errors: string[] }> {
  if (missing) throw new Error(`Chromium tests cannot run: ${missing}`);
  const page = await browser.newPage({ viewport });
  defer(() => page.close());
  const errors: string[] = [];
  page.on('pageerror', (error: Error) => errors.push(String(error)));
  return { page, errors };
}

/** Waits until expression (evaluated in the page) is truthy. */
export const until = (page: any, expression: string, ms = 10_000) => page.waitForFunction(expression, undefined, { timeout: ms, polling: 'raf' });
/** An expression for the text of the element with this id. */
export const text = (id: string) => `document.getElementById(${JSON.stringify(id)}).textContent`;
