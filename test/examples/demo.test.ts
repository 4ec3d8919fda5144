/**
 * The chat demo as `npm start` runs it: the address comes from PORT and HOST,
 * a port that is taken is one clear line and exit code 1 (not a stack), and
 * the page declares a favicon (inline, so no request can 404). The page in a
 * browser is test/browser/demo-page.test.ts.
 */
import { existsSync } from 'node:fs';
import * as net from 'node:net';
import { beforeAll, describe, expect, it } from 'vitest';
import { freePort, HOST, ipv6Loopback, ROOT, start, useCleanup, withTimeout } from '../kit/index.js';

const defer = useCleanup();

beforeAll(() => {
  if (!existsSync(`${ROOT}/dist/index.mjs`)) throw new Error('dist/ is not built: run `npm run build:ts` (npm test does it first)');
});

describe('the chat demo (demo/server.mjs)', () => {
  it('listens on PORT and HOST, and says so', async () => {
    const port = await freePort();
    const child = start(defer, ['demo/server.mjs'], { env: { PORT: String(port), HOST } });
    const [line] = await child.waitFor(new RegExp(`^.*http://127\\.0\\.0\\.1:${port}/.*$`));
    expect(line).toMatch(/PORT/);
    expect((await fetch(`http://${HOST}:${port}/`)).status).toBe(200);
    expect(await child.stop('SIGTERM')).toEqual({ code: 0, signal: null });
  });

  it('listens on an IPv6 HOST, printed in brackets', async () => {
    if (!(await ipv6Loopback())) return; // no ::1 on this host: nothing to check
    const child = start(defer, ['demo/server.mjs'], { env: { PORT: '0', HOST: '::1' } });
    const [, port] = await child.waitFor(/http:\/\/\[::1\]:(\d+)\//);
    expect((await fetch(`http://[::1]:${port}/`)).status).toBe(200);
    expect(await child.stop('SIGTERM')).toEqual({ code: 0, signal: null });
  });

  it('a port that is taken: one line naming it with a hint, exit code 1', async () => {
    const taken = net.createServer();
    await new Promise<void>((resolve) => taken.listen(0, HOST, resolve));
    defer(() => new Promise((resolve) => taken.close(resolve)));
    const port = (taken.address() as net.AddressInfo).port;
    const child = start(defer, ['demo/server.mjs'], { env: { PORT: String(port), HOST } });
    expect(await withTimeout(child.exited, 10_000, 'the demo to exit')).toEqual({ code: 1, signal: null });
    const lines = child.stderr().trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`${HOST}:${port} is already in use`);
    expect(lines[0]).toMatch(/PORT=\d+ npm start/);
    expect(child.lines).toEqual([]);
  });

  it('a PORT that is not a port number: one line, exit code 1', async () => {
    const child = start(defer, ['demo/server.mjs'], { env: { PORT: 'eighty', HOST } });
    expect(await withTimeout(child.exited, 10_000, 'the demo to exit')).toEqual({ code: 1, signal: null });
    expect(child.stderr().trim().split('\n')).toEqual([expect.stringContaining('PORT must be a port number (0-65535), not "eighty"')]);
  });

  it('the page declares an inline favicon', async () => {
    const child = start(defer, ['demo/server.mjs'], { env: { PORT: '0', HOST } });
    const [, port] = await child.waitFor(/http:\/\/127\.0\.0\.1:(\d+)\//);
    const html = await (await fetch(`http://${HOST}:${port}/`)).text();
    expect(html).toMatch(/<link\s+rel="icon"[^>]*href="data:image\/svg\+xml,/);
    expect(await child.stop('SIGTERM')).toEqual({ code: 0, signal: null });
  });
});
