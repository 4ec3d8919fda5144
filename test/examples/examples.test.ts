/**
 * Every example (and the chat demo) started as its own process with PORT=0,
 * talked to, and stopped. The examples import 'wsbolt', which resolves to
 * dist/ (npm test builds it first); the children inherit WSBOLT_NO_NATIVE, so
 * each project (native, js) runs them on its own backend.
 */
import { existsSync, readFileSync } from 'node:fs';
import * as net from 'node:net';
import { beforeAll, describe, expect, it } from 'vitest';
import { type CloseCause, UnexpectedResponseError, connect, serve } from '../../src/index.js';
import { freePort, HOST, Queue, ROOT, start, useCleanup, withTimeout, wsConnect } from '../kit/index.js';

const defer = useCleanup();

beforeAll(() => {
  if (!existsSync(`${ROOT}/dist/index.mjs`)) throw new Error('dist/ is not built: run `npm run build:ts` (npm test does it first)');
});

/** Starts an example with PORT=0 and returns it with the port it printed. */
async function example(script: string, env: Record<string, string> = {}) {
  const child = start(defer, [script], { env: { PORT: '0', HOST, ...env } });
  const [, port] = await child.waitFor(/(?:ws|http):\/\/127\.0\.0\.1:(\d+)/);
  return { child, port: Number(port), ws: `ws://${HOST}:${port}` };
}

describe('echo (handler API)', () => {
  it('echo-server echoes text and binary; echo-client prints the echo and exits 0', async () => {
    const { child, port, ws } = await example('examples/echo-server.mjs');
    const peer = await wsConnect(defer, ws);
    peer.client.send(Buffer.from([0, 1, 2, 255]));
    expect(await peer.messages.next()).toEqual({ data: Buffer.from([0, 1, 2, 255]), isBinary: true });

    const client = start(defer, ['examples/echo-client.mjs', 'hi there ✓'], { env: { PORT: String(port) } });
    expect(await withTimeout(client.exited, 10_000, 'echo-client exit')).toEqual({ code: 0, signal: null });
    expect(client.lines).toEqual(['echo: hi there ✓', 'closed with 1000']);

    const closed = peer.closed;
    expect(await child.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    expect((await closed).code).toBe(1001);
  });
});

describe('echo with the ws-compatible API (wsbolt/ws)', () => {
  it('ws-compat-echo echoes text and binary with permessage-deflate, and closes clients with 1001 on SIGTERM', async () => {
    const pkg = JSON.parse(readFileSync(`${ROOT}/package.json`, 'utf8'));
    const missing = [
      existsSync(`${ROOT}/dist/ws/index.js`) ? null : 'dist/ws/index.js does not exist (src/ws/index.ts not built)',
      pkg.exports?.['./ws'] ? null : 'package.json has no "./ws" entry in "exports"',
    ].filter(Boolean);
    if (missing.length > 0) throw new Error(`wsbolt/ws is not available yet, so examples/ws-compat-echo.mjs cannot run: ${missing.join('; ')}`);

    const { child, ws } = await example('examples/ws-compat-echo.mjs');
    const peer = await wsConnect(defer, ws);
    expect(peer.client.extensions).toContain('permessage-deflate');
    peer.client.send('hello ✓');
    expect(await peer.messages.next()).toEqual({ data: Buffer.from('hello ✓'), isBinary: false });
    const big = Buffer.alloc(64 * 1024, 'compressible ');
    peer.client.send(big);
    expect(await peer.messages.next()).toEqual({ data: big, isBinary: true });
    expect(await child.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    expect((await peer.closed).code).toBe(1001);
  });
});

describe('chat demo (demo/server.mjs, npm start)', () => {
  it('serves the page and runs rooms, nicknames, text and binary broadcasts and live stats over permessage-deflate', async () => {
    const { child, port, ws } = await example('demo/server.mjs');
    const http = `http://${HOST}:${port}`;
    const page = await fetch(`${http}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    expect(await page.text()).toContain('<title>wsbolt chat</title>');
    expect((await fetch(`${http}/app.js`)).status).toBe(200);
    expect((await fetch(`${http}/style.css`)).status).toBe(200);
    expect((await fetch(`${http}/../package.json`)).status).toBe(404);

    const ada = await wsConnect(defer, `${ws}/ws?nick=ada`);
    const bob = await wsConnect(defer, `${ws}/ws`);
    const welcomeAda = await ada.json.find((m) => m.type === 'welcome');
    expect(welcomeAda).toMatchObject({ nick: 'ada' });
    expect(welcomeAda.extensions).toMatch(/^permessage-deflate/);
    expect(ada.client.extensions).toMatch(/^permessage-deflate/);
    expect((await bob.json.find((m) => m.type === 'welcome')).nick).toMatch(/^guest-\d+$/);

    // Chat before joining a room is refused.
    bob.client.send(JSON.stringify({ type: 'chat', text: 'anyone?' }));
    expect(await bob.json.find((m) => m.type === 'error')).toMatchObject({ message: 'join a room first' });
    bob.client.send('not json');
    expect(await bob.json.find((m) => m.type === 'error')).toMatchObject({ message: 'text messages must be JSON' });

    bob.client.send(JSON.stringify({ type: 'nick', nick: 'bob' }));
    expect(await bob.json.find((m) => m.type === 'nick')).toEqual({ type: 'nick', nick: 'bob' });
    ada.client.send(JSON.stringify({ type: 'join', room: 'lobby' }));
    expect(await ada.json.find((m) => m.type === 'joined')).toEqual({ type: 'joined', room: 'lobby', members: 1 });
    bob.client.send(JSON.stringify({ type: 'join', room: 'lobby' }));
    expect(await bob.json.find((m) => m.type === 'joined')).toEqual({ type: 'joined', room: 'lobby', members: 2 });
    expect(await ada.json.find((m) => m.type === 'presence')).toEqual({ type: 'presence', room: 'lobby', nick: 'bob', event: 'join' });

    // Text: everyone in the room, the sender included.
    bob.client.send(JSON.stringify({ type: 'chat', text: 'hello, ada ✓' }));
    const chat = { type: 'chat', room: 'lobby', nick: 'bob', text: 'hello, ada ✓' };
    expect(await ada.json.find((m) => m.type === 'chat')).toEqual(chat);
    expect(await bob.json.find((m) => m.type === 'chat')).toEqual(chat);

    // Binary: a notice saying who sent it, then the bytes as they were sent.
    const blob = Buffer.from(Array.from({ length: 1024 }, (_, i) => (i * 7) & 0xff));
    ada.client.send(blob);
    expect(await bob.json.find((m) => m.type === 'binary')).toEqual({ type: 'binary', room: 'lobby', nick: 'ada', bytes: 1024 });
    expect(await bob.messages.find((m) => m.isBinary)).toEqual({ data: blob, isBinary: true });

    // Stats, pushed every second on the 'stats' topic (the first may predate the joins).
    const stats = await ada.json.find((m) => m.type === 'stats' && m.rooms.lobby === 2, 5000, 'stats with both in the lobby');
    expect(stats).toMatchObject({ connections: 2, deflate: 2 });
    expect(typeof stats.messagesPerSecond).toBe('number');

    // Rooms are separate: after bob moves, ada's lobby message does not reach him.
    bob.client.send(JSON.stringify({ type: 'join', room: 'other' }));
    expect(await bob.json.find((m) => m.type === 'joined')).toMatchObject({ room: 'other', members: 1 });
    expect(await ada.json.find((m) => m.type === 'presence')).toEqual({ type: 'presence', room: 'lobby', nick: 'bob', event: 'leave' });
    ada.client.send(JSON.stringify({ type: 'chat', text: 'lobby only' }));
    expect(await ada.json.find((m) => m.type === 'chat')).toMatchObject({ text: 'lobby only' });
    bob.client.send(JSON.stringify({ type: 'chat', text: 'other only' }));
    expect(await bob.json.find((m) => m.type === 'chat')).toEqual({ type: 'chat', room: 'other', nick: 'bob', text: 'other only' });

    expect(await child.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    expect(await ada.closed).toEqual({ code: 1001, reason: 'server shutting down' });
  });
});

describe('sharing a port with an http server (attach)', () => {
  it('keeps the HTTP routes and serves WebSocket on /ws only', async () => {
    const { child, port } = await example('examples/shared-port.mjs');
    const http = `http://${HOST}:${port}`;
    const home = await fetch(`${http}/`);
    expect(home.status).toBe(200);
    expect(await home.text()).toContain('plain HTTP here');
    expect((await fetch(`${http}/missing`)).status).toBe(404);

    const peer = await wsConnect(defer, `ws://${HOST}:${port}/ws`);
    expect(await peer.messages.next()).toEqual({ data: Buffer.from('welcome to /ws'), isBinary: false });
    peer.client.send('ping?');
    expect(await peer.messages.next()).toEqual({ data: Buffer.from('ping?'), isBinary: false });
    expect(await (await fetch(`${http}/health`)).json()).toEqual({ ok: true, connections: 1 });

    const elsewhere = await connect(`ws://${HOST}:${port}/elsewhere`).catch((error: unknown) => error);
    expect(elsewhere).toBeInstanceOf(UnexpectedResponseError);
    expect((elsewhere as UnexpectedResponseError).status).toBe(404);

    expect(await child.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    expect((await peer.closed).code).toBe(1001);
  });
});

describe('authentication in the upgrade hook', () => {
  it('refuses missing and unknown tokens with 401 and accepts a token in the query or the Authorization header', async () => {
    const { ws } = await example('examples/auth.mjs');

    for (const [url, headers, body] of [
      [`${ws}/`, {}, 'missing token\n'],
      [`${ws}/?token=nope`, {}, 'invalid token\n'],
      [`${ws}/`, { Authorization: 'Bearer nope' }, 'invalid token\n'],
    ] as const) {
      const error = await connect(url, { headers }).catch((e: unknown) => e);
      expect(error, url).toBeInstanceOf(UnexpectedResponseError);
      const refused = error as UnexpectedResponseError;
      expect(refused.status).toBe(401);
      expect(refused.body.toString()).toBe(body);
      expect(refused.headers['www-authenticate']).toBe('Bearer');
    }

    const alice = await wsConnect(defer, `${ws}/?token=alice-secret`);
    expect((await alice.messages.next()).data.toString()).toBe('hello alice');

    const bobMessages = new Queue<string>();
    const bob = await connect(`${ws}/`, { headers: { Authorization: 'Bearer bob-secret' }, message: (_ws, data) => bobMessages.push(data.toString()) });
    defer(() => bob.terminate());
    expect(await bobMessages.next()).toBe('hello bob');
    bob.send('hi');
    expect(await bobMessages.next()).toBe('bob said: hi');
  });
});

describe('a client that reconnects', () => {
  it('retries until the server is up, comes back after the server drops it, and closes with 1000 on SIGTERM', async () => {
    const port = await freePort();
    const client = start(defer, ['examples/reconnect-client.mjs'], { env: { URL: `ws://${HOST}:${port}/` } });
    // Nothing listens yet: the first attempts fail.
    await client.waitFor(/^reconnecting: attempt 1 in \d+ ms \(ECONNREFUSED\)$/);

    const opened = new Queue<import('../../src/index.js').WebSocket>();
    const closes = new Queue<{ code: number; cause: CloseCause }>();
    const server = await serve({
      host: HOST,
      port,
      open: (ws) => opened.push(ws),
      message: (ws, data) => ws.send(`echo ${data}`),
      close: (_ws, code, _reason, cause) => closes.push({ code, cause }),
    });
    defer(() => server.close({ timeout: 500 }));

    const first = await opened.next(10_000, 'first connection');
    await client.waitFor(/^connected \(#1\)$/);
    await client.waitFor(/^received: echo hello #1$/);

    // The server drops it (service restart): the client comes back on its own.
    const mark = client.lines.length;
    first.close(1012, 'restarting');
    await client.waitFor(/^disconnected: 1012 restarting$/, 5000, mark);
    // It was open for less than stableAfter (5 s), so the backoff goes on from the attempts that failed before it.
    await client.waitFor(/^reconnecting: attempt \d+ in \d+ ms \(remote close\)$/, 5000, mark);
    await opened.next(10_000, 'second connection');
    await client.waitFor(/^received: echo hello #2$/, 10_000, mark);
    expect((await closes.next()).code).toBe(1012);

    expect(await client.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    expect(await closes.next()).toEqual({ code: 1000, cause: { kind: 'remote' } });
    // The reason is the one in the server's answering close frame (wsbolt answers with the code alone).
    expect(client.lines.at(-1)).toMatch(/^disconnected: 1000/);
  });
});

describe('graceful shutdown', () => {
  it('on SIGTERM closes every client with 1001, waits for the handshakes, exits 0 and stops listening', async () => {
    const { child, port, ws } = await example('examples/graceful-shutdown.mjs');
    const a = await wsConnect(defer, ws);
    const bClosed = new Promise<{ code: number; reason: string }>((resolve) => {
      void connect(ws, { close: (_ws, code, reason) => resolve({ code, reason }) }).then((b) => defer(() => b.terminate()));
    });
    await child.waitFor(/^open: 2 connected$/);
    a.client.send('still here');
    expect((await a.messages.next()).data.toString()).toBe('still here');

    child.proc.kill('SIGTERM');
    await child.waitFor(/^SIGTERM: closing 2 connections with 1001$/);
    expect(await a.closed).toEqual({ code: 1001, reason: 'server shutting down' });
    expect(await withTimeout(bClosed, 5000, 'wsbolt client close')).toEqual({ code: 1001, reason: 'server shutting down' });
    expect(await withTimeout(child.exited, 10_000, 'exit')).toEqual({ code: 0, signal: null });
    expect(child.lines.filter((l) => l.startsWith('closed:'))).toEqual(['closed: 1001 local', 'closed: 1001 local']);
    expect(child.lines.at(-1)).toBe('shutdown complete');

    const refused = await new Promise<string>((resolve) => {
      const socket = net.connect({ host: HOST, port });
      socket.once('connect', () => resolve('connected'));
      socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
      defer(() => socket.destroy());
    });
    expect(refused).toBe('ECONNREFUSED');
  });
});
