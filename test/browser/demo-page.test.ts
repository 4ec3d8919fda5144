/**
 * The chat demo's page in headless Chromium, beyond chatting (chat.test.ts):
 * at a phone's 390 px its header stays readable and nothing scrolls
 * sideways, it loads without a failed request (the favicon is inline), and
 * after the server goes away it keeps showing the server's close code while
 * its retries fail.
 */
import { describe, expect, it } from 'vitest';
import { HOST, start, useCleanup } from '../kit/index.js';
import { newPage, skip, text, until, useChromium } from './chromium.js';

const defer = useCleanup();
const chromium = useChromium('test/browser/demo-page.test.ts');

async function demoPage(viewport = { width: 900, height: 760 }) {
  const demo = start(defer, ['demo/server.mjs'], { env: { PORT: '0', HOST } });
  const [, url] = await demo.waitFor(/(http:\/\/127\.0\.0\.1:\d+\/)/);
  const { page, errors } = await newPage(chromium(), defer, viewport);
  const failed: string[] = [];
  page.on('response', (response: any) => {
    if (response.status() >= 400) failed.push(`${response.status()} ${response.url()}`);
  });
  page.on('requestfailed', (request: any) => failed.push(`failed ${request.url()}`));
  await page.goto(url!);
  await until(page, `${text('status')} === 'connected'`);
  return { demo, page, errors, failed };
}

/** The header's children as boxes, and whether any text inside them is cut off. */
const HEADER_LAYOUT = `(() => {
  const items = [...document.querySelectorAll('header > *')].map((el) => {
    const r = el.getBoundingClientRect();
    return { text: el.textContent, left: r.left, right: r.right, top: r.top, bottom: r.bottom, clipped: el.scrollWidth > el.clientWidth + 1,
             fontSize: parseFloat(getComputedStyle(el).fontSize), lineHeight: parseFloat(getComputedStyle(el).lineHeight) || 0 };
  });
  return { items, pageWidth: document.documentElement.scrollWidth, header: document.querySelector('header').getBoundingClientRect().height };
})()`;

function expectReadable(layout: any, width: number) {
  expect(layout.pageWidth, 'the page scrolls sideways').toBeLessThanOrEqual(width);
  for (const item of layout.items) {
    expect(item.left, `${item.text} starts off-screen`).toBeGreaterThanOrEqual(0);
    expect(item.right, `${item.text} ends off-screen`).toBeLessThanOrEqual(width);
    expect(item.clipped, `${item.text} is cut off`).toBe(false);
    expect(item.fontSize, `${item.text} is too small to read`).toBeGreaterThanOrEqual(12);
  }
  // No two items overlap.
  for (const [i, a] of layout.items.entries()) {
    for (const b of layout.items.slice(i + 1)) {
      const overlap = a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
      expect(overlap, `${a.text} overlaps ${b.text}`).toBe(false);
    }
  }
  // The title stays on one line, and the header leaves most of a phone's screen to the chat.
  const title = layout.items[0];
  expect(title.bottom - title.top, 'the title wraps').toBeLessThan(2 * title.fontSize * 1.5);
  expect(layout.header, 'the header is taller than a fifth of the screen').toBeLessThanOrEqual(760 / 5);
}

describe('the chat demo page in Chromium', () => {
  (skip ? it.skip : it)('at 390 px wide: the header is readable (connected and disconnected), nothing scrolls sideways', async () => {
    const { demo, page, errors } = await demoPage({ width: 390, height: 760 });
    expectReadable(await page.evaluate(HEADER_LAYOUT), 390);
    // The longest status the header shows.
    await demo.stop('SIGTERM');
    await until(page, `${text('status')}.includes('retrying')`);
    expectReadable(await page.evaluate(HEADER_LAYOUT), 390);
    expect(errors).toEqual([]);
  });

  (skip ? it.skip : it)('loads without a failed request: the favicon is declared inline', async () => {
    const { page, errors, failed } = await demoPage();
    expect(await page.evaluate(`document.querySelector('link[rel="icon"]')?.href.startsWith('data:image/svg+xml,')`)).toBe(true);
    expect(failed).toEqual([]);
    expect(errors).toEqual([]);
  });

  (skip ? it.skip : it)("after the server goes away it shows the server's close code, not the failed retries' 1006", async () => {
    const { demo, page } = await demoPage();
    await demo.stop('SIGTERM'); // closes every client with 1001 'server shutting down'
    await until(page, `${text('status')}.includes('attempt 2')`, 15_000); // the first retry has failed
    const status: string = await page.evaluate(text('status'));
    expect(status).toContain('1001');
    expect(status).not.toContain('1006');
  });
});
