/**
 * A real browser: headless Chromium (Debian's /usr/bin/chromium) driven by
 * playwright-core. It opens the chat demo, joins a room, sends text and
 * binary, receives what a Node client broadcasts, and negotiates
 * permessage-deflate; then it runs the interop cases against a wsbolt server
 * (the Chromium row of test/interop/artifacts/matrix.md).
 *
 * Without Chromium or playwright-core the tests are skipped with a note,
 * except in CI (process.env.CI set), where they fail (test/browser/chromium.ts).
 */
import { mkdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { type Mode, type PeerEnd, ourServer, perSuite, runMatrix } from '../interop/harness.js';
import { backend } from '../interop/matrix.js';
import { HOST, ROOT, start, useCleanup, withTimeout, wsConnect } from '../kit/index.js';
import { missing, newPage as openPage, skip, text, until, useChromium, version } from './chromium.js';

const defer = useCleanup();
const chromium = useChromium('test/browser/chat.test.ts');
const SCREENSHOT = `${ROOT}/test/browser/artifacts/${backend === 'native' ? 'chat.png' : `chat-${backend}.png`}`;

const newPage = () => openPage(chromium(), defer);

describe('the chat demo in Chromium', () => {
  (skip ? it.skip : it)('joins a room, sends text and binary, receives a Node client broadcast, over permessage-deflate', async () => {
    const { page, errors } = await newPage();
    const demo = start(defer, ['demo/server.mjs'], { env: { PORT: '0', HOST } });
    const [, url, port] = await demo.waitFor(/(http:\/\/127\.0\.0\.1:(\d+)\/)/);

    await page.goto(url!);
    await until(page, `${text('status')} === 'connected'`);
    // Deflate, as the browser sees it (its socket) and as the server does (the welcome message shows it).
    expect(await page.evaluate('window.chat.socket.extensions')).toMatch(/^permessage-deflate/);
    await until(page, `${text('extensions')} === 'permessage-deflate'`);

    await page.fill('#nick', 'chromium');
    await page.click('#nick-form button');
    await until(page, `${text('log')}.includes('you are now chromium')`);
    await page.fill('#room', 'lobby');
    await page.click('#join');
    await until(page, `${text('current')} === 'lobby'`);

    const node = await wsConnect(defer, `ws://${HOST}:${port}/ws?nick=node`);
    node.client.send(JSON.stringify({ type: 'join', room: 'lobby' }));
    expect(await node.json.find((m) => m.type === 'joined')).toMatchObject({ room: 'lobby', members: 2 });
    await until(page, `${text('log')}.includes('node joined lobby')`);

    // Text from the browser reaches the Node client.
    await page.fill('#text', 'hello from chromium ✓');
    await page.click('#send');
    expect(await node.json.find((m) => m.type === 'chat')).toEqual({ type: 'chat', room: 'lobby', nick: 'chromium', text: 'hello from chromium ✓' });

    // The 1 KiB binary button: the Node client gets the notice and the bytes; the browser gets its own copy.
    await page.click('#blob');
    expect(await node.json.find((m) => m.type === 'binary')).toEqual({ type: 'binary', room: 'lobby', nick: 'chromium', bytes: 1024 });
    expect((await node.messages.find((m) => m.isBinary)).data.length).toBe(1024);
    await until(page, `${text('binary-bytes')} === '1024'`);

    // A broadcast sent by the Node client shows up in the page, text and binary.
    node.client.send(JSON.stringify({ type: 'chat', text: 'hello from node' }));
    await until(page, `${text('log')}.includes('node: hello from node')`);
    node.client.send(Buffer.alloc(3000, 7));
    await until(page, `${text('binary-bytes')} === '4024' && ${text('binary-count')} === '2'`);
    await until(page, `${text('log')}.includes('node: sent 3000 bytes of binary')`);

    // Live stats, pushed every second: both connections, both with deflate.
    await until(page, `${text('connections')} === '2'`, 5000);
    const stats = await node.json.find((m) => m.type === 'stats' && m.connections === 2, 5000, 'stats counting both');
    expect(stats.deflate).toBe(2);

    mkdirSync(`${ROOT}/test/browser/artifacts`, { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    console.log(`screenshot: ${SCREENSHOT}`);
    expect(errors).toEqual([]);
  });
});

// The page side of the interop cases: the same echo-and-obey peer as test/interop/harness.ts, in browser JavaScript.
// (A string, not a function: the test's TypeScript is transformed by esbuild, which may add helpers the page lacks.)
const PEER = `window.openPeer = (url) => new Promise((resolve, reject) => {
  const socket = new WebSocket(url);
  socket.binaryType = 'arraybuffer';
  const state = { socket, closed: null };
  window.peer = state; // the latest connection; an earlier one closing later must not touch it
  socket.onmessage = (event) => {
    if (typeof event.data === 'string' && event.data.startsWith('cmd:')) {
      const cmd = JSON.parse(event.data.slice(4));
      if (cmd.op === 'close') socket.close(cmd.code, cmd.reason);
      return;
    }
    socket.send(event.data);
  };
  socket.onclose = (event) => { state.closed = { code: event.code, reason: event.reason }; };
  socket.onopen = () => resolve(socket.extensions);
  socket.onerror = () => reject(new Error('WebSocket error'));
})`;

// One server and one page per describe block (deflate on, off); each test opens its own WebSocket in the page.
const chromiumPeer = perSuite(async (suite, mode: Mode) => {
  const server = await ourServer(mode, suite);
  const page = await chromium().newPage();
  suite(() => page.close());
  await page.goto(server.page);
  await page.evaluate(PEER);
  return { server, page };
});

runMatrix(
  'browser',
  [
    {
      name: `wsbolt server ⇄ Chromium ${version}`,
      missing,
      canFragment: false, // browsers send every message in one frame
      async open(mode, defer, suite) {
        const { server, page } = await chromiumPeer(suite, mode);
        const extensions: string = await withTimeout(page.evaluate(`openPeer(${JSON.stringify(server.url)})`), 10_000, 'Chromium opening');
        const ours = await server.next();
        defer(() => ours.ws.terminate());
        const peer: PeerEnd = {
          extensions,
          get closed() {
            return until(page, 'window.peer.closed').then((handle: any) => handle.jsonValue());
          },
        };
        return { ours, peer };
      },
    },
  ],
  defer,
);
