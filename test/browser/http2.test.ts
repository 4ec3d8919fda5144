/**
 * WebSockets over HTTP/2 (RFC 8441) from headless Chromium: a page served over HTTP/2 by an Http2SecureServer (the test
 * certificate, ignored by the browser context) opens several WebSockets, which must arrive ON THE SERVER as extended
 * CONNECT streams of the page's own HTTP/2 session (req.httpVersion '2.0', method CONNECT, one session, no HTTP/1.1
 * upgrade). This Chromium build needs no switch: it uses RFC 8441 once the session's SETTINGS advertise it.
 */
import { describe, expect, it } from 'vitest';
import type { UpgradeRequest, WebSocket } from '../../src/index.js';
import { serverFrame, useCleanup, withTimeout } from '../kit/index.js';
import { h2Server } from '../http2/util.js';
import { skip, useChromium, version } from './chromium.js';

const defer = useCleanup();
const chromium = useChromium('test/browser/http2.test.ts');

const PAGE = '<!doctype html><meta charset="utf-8"><title>h2</title><p>over HTTP/2</p>';

/** Runs in the page: opens a WebSocket to path and exchanges text, binary, 1 MiB and a fragmented message, then closes as told. */
const EXCHANGE = `async ({ path, closeBy }) => {
  const ws = new WebSocket('wss://' + location.host + path);
  ws.binaryType = 'arraybuffer';
  const inbox = [];
  let wake = null;
  ws.onmessage = (e) => { inbox.push(e.data); if (wake) wake(); };
  const closed = new Promise((resolve) => (ws.onclose = (e) => resolve({ code: e.code, reason: e.reason, clean: e.wasClean })));
  const next = async () => { while (inbox.length === 0) await new Promise((r) => (wake = r)); return inbox.shift(); };
  const opened = await Promise.race([new Promise((r) => (ws.onopen = () => r(true))), closed.then(() => false)]);
  if (!opened) return { opened, close: await closed };
  const out = { opened, extensions: ws.extensions, protocol: ws.protocol };
  ws.send('héllo over h2');
  out.text = await next();
  ws.send(new Uint8Array([0, 1, 2, 255]));
  out.binary = Array.from(new Uint8Array(await next()));
  const big = new Uint8Array(1024 * 1024).fill(0x5a);
  ws.send(big);
  const back = new Uint8Array(await next());
  out.big = back.length === big.length && back.every((b) => b === 0x5a);
  ws.send('fragment please');
  out.fragmented = await next();
  if (closeBy === 'client') ws.close(4000, 'page bye');
  else ws.send('close me');
  out.close = await closed;
  return out;
}`;

describe('Chromium opens WebSockets over HTTP/2 (RFC 8441)', () => {
  (skip ? it.skip : it)(`several WebSockets on the page's session, deflate on and off, close both ways, a refusal (Chromium ${version})`, async () => {
    const requests: UpgradeRequest[] = [];
    const closes: number[] = [];
    const route = {
      upgrade: (req: UpgradeRequest) => void requests.push(req),
      message: (ws: WebSocket, data: Buffer, isBinary: boolean) => {
        const text = isBinary ? '' : data.toString();
        if (text === 'fragment please') ws.sendFrames([serverFrame(1, 'frag', false), serverFrame(0, 'men', false), serverFrame(0, 'ted')]);
        else if (text === 'close me') ws.close(4001, 'server bye');
        else ws.send(data, { binary: isBinary });
      },
      close: (_ws: WebSocket, code: number) => void closes.push(code),
    };
    const { port, http2Server } = await h2Server(
      defer,
      {
        routes: {
          '/plain': route,
          '/deflate': { ...route, perMessageDeflate: true },
          '/refused': { upgrade: () => ({ reject: { status: 403, body: 'not you' } }) },
        },
      },
      (_req, res) => {
        res.setHeader('content-type', 'text/html; charset=utf-8');
        res.end(PAGE);
      },
    );
    let sessions = 0;
    let http1Upgrades = 0;
    http2Server.on('session', () => sessions++);
    http2Server.on('upgrade', () => http1Upgrades++);

    const page = await chromium().newPage({ ignoreHTTPSErrors: true });
    defer(() => page.close());
    const response = await page.goto(`https://127.0.0.1:${port}/`);
    expect(response.status()).toBe(200);
    expect(await page.evaluate('performance.getEntriesByType("navigation")[0].nextHopProtocol')).toBe('h2');

    const results = await withTimeout(
      page.evaluate(`(async () => { const run = ${EXCHANGE}; return Promise.all([
        run({ path: '/plain', closeBy: 'client' }),
        run({ path: '/plain', closeBy: 'server' }),
        run({ path: '/deflate', closeBy: 'client' }),
        run({ path: '/deflate', closeBy: 'server' }),
        run({ path: '/refused' }),
      ]); })()`),
      30_000,
      'the exchanges in the page',
    );
    const [plainClient, plainServer, deflateClient, deflateServer, refused] = results as any[];
    for (const r of [plainClient, plainServer, deflateClient, deflateServer]) {
      expect(r).toMatchObject({ opened: true, text: 'héllo over h2', binary: [0, 1, 2, 255], big: true, fragmented: 'fragmented' });
    }
    expect(plainClient.extensions).toBe('');
    expect(deflateClient.extensions).toMatch(/^permessage-deflate/);
    expect(plainClient.close).toMatchObject({ code: 4000, clean: true });
    expect(plainServer.close).toMatchObject({ code: 4001, reason: 'server bye', clean: true });
    expect(deflateServer.close).toMatchObject({ code: 4001, clean: true });
    expect(refused).toMatchObject({ opened: false, close: { code: 1006 } });

    // The server-side evidence: every WebSocket arrived as an extended CONNECT stream of the page's one HTTP/2 session.
    expect(requests).toHaveLength(4);
    console.log(
      `Chromium ${version}, server side: ${sessions} HTTP/2 session(s), ${http1Upgrades} HTTP/1.1 upgrade(s); ` +
        requests.map((r) => `${r.method} ${r.path} HTTP/${r.httpVersion} :protocol=${r.headers[':protocol']} alpn=${r.tls?.alpnProtocol}`).join('; '),
    );
    for (const req of requests) {
      expect(req.httpVersion).toBe('2.0');
      expect(req.method).toBe('CONNECT');
      expect(req.headers[':protocol']).toBe('websocket');
      expect(req.tls?.alpnProtocol).toBe('h2');
    }
    expect(sessions).toBe(1);
    expect(http1Upgrades).toBe(0);
    await withTimeout(
      (async () => {
        while (closes.length < 4) await new Promise((resolve) => setImmediate(resolve));
      })(),
      5000,
      'the server-side closes',
    );
    expect(closes.sort()).toEqual([4000, 4000, 4001, 4001]);
  });
});
