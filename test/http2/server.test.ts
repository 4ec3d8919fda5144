/**
 * WebSockets over HTTP/2 (RFC 8441), the server: attach() to node:http2's secure server, driven by a raw HTTP/2 peer
 * (node:http2's client with hand-written extended CONNECT requests and frames from the kit). On every project the
 * stream carries the connection through StreamTransport.
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import * as zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { DIAGNOSTICS_CHANNELS, type UpgradeRequest, type WebSocket } from '../../src/index.js';
import { closePayload, deferred, handlerRecorder, useCleanup, withTimeout, wsConnect } from '../kit/index.js';
import { cert, h2Server, h2Session, openStream } from './util.js';

const defer = useCleanup();

const echo = { message: (ws: WebSocket, data: Buffer, isBinary: boolean) => void ws.send(data, { binary: isBinary }) };

/** Resolves once predicate holds, checked on every turn of the event loop (bounded). */
async function until(predicate: () => boolean, ms = 5000, label = 'condition'): Promise<void> {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${label}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

describe('extended CONNECT accepted', () => {
  it('advertises SETTINGS_ENABLE_CONNECT_PROTOCOL and answers :status 200 without an accept key; the hook sees HTTP/2', async () => {
    const seen = deferred<UpgradeRequest>();
    const { port } = await h2Server(defer, { ...echo, upgrade: (req) => void seen.resolve(req) });
    const session = await h2Session(defer, port);
    expect(session.remoteSettings.enableConnectProtocol).toBe(true);
    const s = await openStream(session, '/chat?room=1', { origin: 'https://localhost' });
    expect(s.status).toBe(200);
    expect(s.headers['sec-websocket-accept']).toBeUndefined();
    const req = await withTimeout(seen.promise);
    expect(req.httpVersion).toBe('2.0');
    expect(req.method).toBe('CONNECT');
    expect(req.path).toBe('/chat');
    expect(req.query).toBe('room=1');
    expect(req.origin).toBe('https://localhost');
    expect(req.remoteAddress).toBe('127.0.0.1');
    expect(req.secure).toBe(true);
    expect(req.tls?.alpnProtocol).toBe('h2');
  });

  it('echoes text, binary, fragmented and 1 MiB messages; the connection runs on the stream transport', async () => {
    const rec = handlerRecorder();
    const { port } = await h2Server(defer, { ...rec.handler, ...echo });
    const session = await h2Session(defer, port);
    const s = await openStream(session);
    const ws = await rec.opens.next();
    expect(ws.transport).toBe('stream');
    s.send(1, 'héllo');
    expect(await s.frames.next()).toMatchObject({ opcode: 1, masked: false });
    expect(s.frames.items[0]!.payload.toString()).toBe('héllo');
    s.send(2, Buffer.from([0, 1, 2, 255]));
    expect([...(await s.frames.next()).payload]).toEqual([0, 1, 2, 255]);
    s.send(1, 'frag', { fin: false });
    s.send(0, 'men', { fin: false });
    s.send(0, 'ted');
    expect((await s.frames.next()).payload.toString()).toBe('fragmented');
    const big = Buffer.alloc(1024 * 1024, 0x5a);
    s.send(2, big);
    const back = await s.frames.next(10_000);
    expect(back.opcode).toBe(2);
    expect(back.payload.equals(big)).toBe(true);
  });

  it('negotiates permessage-deflate in the response headers and compresses what it sends', async () => {
    const { port } = await h2Server(defer, { ...echo, perMessageDeflate: { threshold: 0 } });
    const session = await h2Session(defer, port);
    const s = await openStream(session, '/', { 'sec-websocket-extensions': 'permessage-deflate; client_max_window_bits' });
    expect(s.headers['sec-websocket-extensions']).toMatch(/^permessage-deflate/);
    s.send(1, 'squeeze me squeeze me squeeze me');
    const f = await s.frames.next();
    expect(f.rsv1).toBe(true);
    expect(zlib.inflateRawSync(f.payload, { finishFlush: zlib.constants.Z_SYNC_FLUSH }).toString()).toBe('squeeze me squeeze me squeeze me');
  });

  it('without perMessageDeflate the offer is declined', async () => {
    const { port } = await h2Server(defer, echo);
    const session = await h2Session(defer, port);
    const s = await openStream(session, '/', { 'sec-websocket-extensions': 'permessage-deflate' });
    expect(s.headers['sec-websocket-extensions']).toBeUndefined();
    s.send(1, 'plain');
    expect(await s.frames.next()).toMatchObject({ rsv1: false });
  });

  it("the hook's extra headers reach the 200, without HTTP/1.1's connection headers, which HTTP/2 forbids", async () => {
    const { port } = await h2Server(defer, { ...echo, upgrade: () => ({ headers: { 'X-Session': '7', Connection: 'keep-alive' } }) });
    const s = await openStream(await h2Session(defer, port));
    expect(s.status).toBe(200);
    expect(s.headers['x-session']).toBe('7');
    s.send(1, 'ok');
    expect((await s.frames.next()).payload.toString()).toBe('ok');
  });

  it('selects a subprotocol in the response headers', async () => {
    const { port } = await h2Server(defer, { ...echo, protocols: ['chat.v2'] });
    const session = await h2Session(defer, port);
    const s = await openStream(session, '/', { 'sec-websocket-protocol': 'chat.v1, chat.v2' });
    expect(s.headers['sec-websocket-protocol']).toBe('chat.v2');
  });
});

describe('closing', () => {
  it('the client closes: the server answers and ends its stream only; the session carries a new WebSocket', async () => {
    const rec = handlerRecorder();
    const { port, server } = await h2Server(defer, { ...rec.handler, ...echo });
    const session = await h2Session(defer, port);
    const s = await openStream(session);
    await rec.opens.next();
    s.close(4001, 'bye');
    const reply = await s.frames.next();
    expect(reply.opcode).toBe(8);
    expect(closePayload(reply.payload).code).toBe(4001);
    await withTimeout(new Promise((resolve) => s.stream.once('end', resolve)), 5000, 'END_STREAM');
    s.stream.end();
    expect((await rec.closes.next()).code).toBe(4001);
    await withTimeout(s.closed);
    expect(s.stream.rstCode).toBe(0);
    expect(session.closed || session.destroyed).toBe(false);
    const again = await openStream(session);
    again.send(1, 'still here');
    expect((await again.frames.next()).payload.toString()).toBe('still here');
    expect(server.connections.size).toBe(1);
  });

  it('the server closes: a close frame on the stream, and the close handshake completes', async () => {
    const rec = handlerRecorder();
    const { port, server } = await h2Server(defer, rec.handler);
    const session = await h2Session(defer, port);
    const s = await openStream(session);
    (await rec.opens.next()).close(4002, 'server bye');
    const f = await s.frames.next();
    expect(closePayload(f.payload)).toEqual({ code: 4002, reason: 'server bye' });
    s.close(4002);
    s.stream.end();
    expect((await rec.closes.next()).code).toBe(4002);
    await withTimeout(s.closed);
    await until(() => server.connections.size === 0);
  });

  it('several WebSockets on one session: closing one leaves the others open, and a stalled one does not stall the rest', async () => {
    const rec = handlerRecorder();
    const { port } = await h2Server(defer, { ...rec.handler, ...echo });
    const session = await h2Session(defer, port);
    const streams = [await openStream(session), await openStream(session), await openStream(session)];
    const [a, b, c] = streams as [(typeof streams)[0], (typeof streams)[0], (typeof streams)[0]];
    const sockets = await rec.opens.take(3);
    a.close(1000);
    a.stream.end();
    expect((await rec.closes.next()).code).toBe(1000);
    // b stops reading: its flow-control window fills and its server side buffers; c is unaffected.
    b.stream.pause();
    const chunk = Buffer.alloc(256 * 1024, 1);
    for (let i = 0; i < 8; i++) sockets[1]!.send(chunk);
    c.send(1, 'c flows');
    expect((await c.frames.next()).payload.toString()).toBe('c flows');
    await until(() => sockets[1]!.bufferedAmount > 0, 5000, 'backpressure on b');
    b.stream.resume();
    for (let i = 0; i < 8; i++) expect((await b.frames.next(10_000)).payload.length).toBe(chunk.length);
    await until(() => sockets[1]!.bufferedAmount === 0, 5000, 'b drained');
  });

  it("the session's end closes all its WebSockets with 1006", async () => {
    const rec = handlerRecorder();
    const { port, server } = await h2Server(defer, rec.handler);
    const session = await h2Session(defer, port);
    await openStream(session);
    await openStream(session);
    await rec.opens.take(2);
    session.destroy();
    const closes = await rec.closes.take(2);
    expect(closes.map((c) => c.code)).toEqual([1006, 1006]);
    await until(() => server.connections.size === 0);
  });

  it('server.close() closes WebSockets over HTTP/2 with 1001', async () => {
    const rec = handlerRecorder();
    const { port, server } = await h2Server(defer, rec.handler);
    const session = await h2Session(defer, port);
    const s = await openStream(session);
    await rec.opens.next();
    const closing = server.close({ timeout: 2000 });
    const f = await s.frames.next();
    expect(closePayload(f.payload).code).toBe(1001);
    s.close(1001);
    s.stream.end();
    await withTimeout(closing);
    expect((await rec.closes.next()).code).toBe(1001);
  });
});

describe('refusals as HTTP/2 statuses', () => {
  it('a :protocol other than websocket: 400', async () => {
    const { port } = await h2Server(defer, echo);
    const s = await openStream(await h2Session(defer, port), '/', { ':protocol': 'webtransport' });
    expect(s.status).toBe(400);
  });

  it('no sec-websocket-version: 400 with sec-websocket-version: 13; another version: 426', async () => {
    const { port } = await h2Server(defer, echo);
    const session = await h2Session(defer, port);
    const missing = await openStream(session, '/', { 'sec-websocket-version': undefined });
    expect(missing.status).toBe(400);
    expect(missing.headers['sec-websocket-version']).toBe('13');
    expect(await missing.body).toMatch(/Sec-WebSocket-Version/i);
    const other = await openStream(session, '/', { 'sec-websocket-version': '8' });
    expect(other.status).toBe(426);
  });

  it('a path that is not mounted: 404; a foreign origin: 403; the hook refuses: its status', async () => {
    const { port } = await h2Server(defer, {
      routes: {
        '/ok': echo,
        '/hooked': { ...echo, upgrade: () => ({ reject: { status: 401, body: 'who are you', headers: { 'www-authenticate': 'Bearer' } } }) },
      },
      origins: ['https://good.example'],
    });
    const session = await h2Session(defer, port);
    expect((await openStream(session, '/nowhere')).status).toBe(404);
    expect((await openStream(session, '/ok', { origin: 'https://evil.example' })).status).toBe(403);
    const hooked = await openStream(session, '/hooked');
    expect(hooked.status).toBe(401);
    expect(hooked.headers['www-authenticate']).toBe('Bearer');
    expect(await hooked.body).toBe('who are you\n');
    expect((await openStream(session, '/ok', { origin: 'https://good.example' })).status).toBe(200);
  });

  it('refusals over HTTP/2 are counted by reason in server.stats() and published with httpVersion 2.0', async () => {
    const { port, server } = await h2Server(defer, { routes: { '/ok': echo }, origins: ['https://good.example'] });
    const published: { status: number; reason: string; httpVersion: string }[] = [];
    const onRefused = (message: unknown) => published.push(message as { status: number; reason: string; httpVersion: string });
    subscribe(DIAGNOSTICS_CHANNELS.refused, onRefused);
    defer(() => unsubscribe(DIAGNOSTICS_CHANNELS.refused, onRefused));
    const session = await h2Session(defer, port);
    expect((await openStream(session, '/nowhere')).status).toBe(404);
    expect((await openStream(session, '/ok', { origin: 'https://evil.example' })).status).toBe(403);
    expect((await openStream(session, '/ok', { ':protocol': 'webtransport' })).status).toBe(400);
    expect(server.stats().refusals).toEqual({ not_found: 1, origin: 1, invalid_request: 1 });
    expect(published.map(({ status, reason, httpVersion }) => ({ status, reason, httpVersion }))).toEqual([
      { status: 404, reason: 'not_found', httpVersion: '2.0' },
      { status: 403, reason: 'origin', httpVersion: '2.0' },
      { status: 400, reason: 'invalid_request', httpVersion: '2.0' },
    ]);
  });

  it('a plain CONNECT (no :protocol) is not ours: node:http2 answers it with 405 as without wsbolt', async () => {
    const rec = handlerRecorder();
    const { port } = await h2Server(defer, rec.handler);
    const session = await h2Session(defer, port);
    const tunnel = session.request({ ':method': 'CONNECT', ':authority': 'example.com:443' });
    tunnel.on('error', () => {});
    const [headers] = await withTimeout(new Promise<[Record<string, unknown>]>((resolve) => tunnel.once('response', (h) => resolve([h]))));
    expect(headers[':status']).toBe(405);
    expect(rec.opens.items).toHaveLength(0);
  });

  it('a session without the setting: the extended CONNECT is reset, and no WebSocket opens', async () => {
    const rec = handlerRecorder();
    const { port, http2Server } = await h2Server(defer, rec.handler);
    http2Server.updateSettings({ enableConnectProtocol: false }); // sessions from now on do not advertise it
    const session = await h2Session(defer, port);
    expect(session.remoteSettings.enableConnectProtocol).toBe(false);
    await expect(openStream(session)).rejects.toThrow(/closed before a response/);
    expect(rec.opens.items).toHaveLength(0);
  });
});

describe('limits and RST_STREAM', () => {
  it('each stream counts as a connection for maxConnections; a place comes back when one closes', async () => {
    const rec = handlerRecorder();
    const { port } = await h2Server(defer, { ...rec.handler, ...echo, maxConnections: 2, maxConnectionsPerIp: 2 });
    const session = await h2Session(defer, port);
    const a = await openStream(session);
    await openStream(session);
    const third = await openStream(session);
    expect(third.status).toBe(503);
    expect(third.headers['retry-after']).toBe('5');
    a.stream.close(); // RST_STREAM
    await rec.closes.next();
    expect((await openStream(session)).status).toBe(200);
  });

  it('maxConnectionsPerIp counts the streams of every session from one address together', async () => {
    const { port } = await h2Server(defer, { ...echo, maxConnectionsPerIp: 1 });
    const first = await h2Session(defer, port);
    const second = await h2Session(defer, port);
    expect((await openStream(first)).status).toBe(200);
    expect((await openStream(first)).status).toBe(503);
    expect((await openStream(second)).status).toBe(503);
  });

  it('the hook sees one raw Http2ServerRequest, however often it reads it', async () => {
    const seen = deferred<UpgradeRequest>();
    const { port } = await h2Server(defer, { ...echo, upgrade: (req) => void seen.resolve(req) });
    await openStream(await h2Session(defer, port), '/raw?q=1');
    const req = await withTimeout(seen.promise);
    expect(req.raw).toBe(req.raw);
    expect(req.raw.url).toBe('/raw?q=1');
  });

  it('RST_STREAM while the upgrade hook runs: no connection opens and the place is given back', async () => {
    const started = deferred<void>();
    const release = deferred<void>();
    const rec = handlerRecorder();
    const { port, server, http2Server } = await h2Server(defer, {
      ...rec.handler,
      maxConnections: 1,
      upgrade: () => {
        started.resolve();
        return release.promise.then(() => true as const);
      },
    });
    const serverStreamClosed = deferred<void>();
    http2Server.once('stream', (serverStream) => serverStream.once('close', () => serverStreamClosed.resolve()));
    const session = await h2Session(defer, port);
    const stream = session.request({
      ':method': 'CONNECT',
      ':protocol': 'websocket',
      ':scheme': 'https',
      ':path': '/',
      ':authority': 'localhost',
      'sec-websocket-version': '13',
    });
    stream.on('error', () => {});
    await withTimeout(started.promise);
    stream.close();
    await withTimeout(serverStreamClosed.promise, 5000, 'the server sees RST_STREAM');
    release.resolve();
    await until(() => server.pendingSockets.size === 0);
    expect(rec.opens.items).toHaveLength(0);
    expect(server.connections.size).toBe(0);
    expect((await openStream(session)).status).toBe(200); // maxConnections: 1, so the place came back
  });

  it('RST_STREAM mid-message: the WebSocket closes with 1006 and nothing is left', async () => {
    const rec = handlerRecorder();
    const { port, server } = await h2Server(defer, { ...rec.handler, maxConnections: 1 });
    const session = await h2Session(defer, port);
    const s = await openStream(session);
    const ws = await rec.opens.next();
    s.send(2, Buffer.alloc(1000), { fin: false });
    s.stream.write(Buffer.from([0x80, 0xfe])); // half a frame header
    s.stream.close();
    expect((await rec.closes.next()).code).toBe(1006);
    expect(ws.readyState).toBe(3);
    await until(() => server.connections.size === 0);
    expect(s.stream.listenerCount('data')).toBeLessThanOrEqual(1);
    expect((await openStream(session)).status).toBe(200);
  });

  it('RST_STREAM during the close handshake: the WebSocket finishes and gives its place back', async () => {
    const rec = handlerRecorder();
    const { port, server } = await h2Server(defer, { ...rec.handler, maxConnections: 1 });
    const session = await h2Session(defer, port);
    const s = await openStream(session);
    (await rec.opens.next()).close(1000);
    await s.frames.next();
    s.stream.close();
    expect((await rec.closes.next()).code).toBe(1006);
    await until(() => server.connections.size === 0);
    expect((await openStream(session)).status).toBe(200);
  });
});

describe('HTTP/1.1 on the same server (allowHTTP1)', () => {
  it('an HTTP/1.1 upgrade keeps working beside HTTP/2 streams, and plain HTTP/2 requests reach the request listener', async () => {
    const { port } = await h2Server(defer, echo);
    const { client, messages } = await wsConnect(defer, `wss://localhost:${port}/`, { ca: cert });
    client.send('over http/1.1');
    expect((await messages.next()).data.toString()).toBe('over http/1.1');
    const session = await h2Session(defer, port);
    const get = session.request({ ':path': '/page' });
    let body = '';
    get.setEncoding('utf8');
    get.on('data', (d: string) => (body += d));
    await withTimeout(new Promise((resolve) => get.on('end', resolve)));
    expect(body).toBe('plain');
    const s = await openStream(session);
    s.send(1, 'over h2');
    expect((await s.frames.next()).payload.toString()).toBe('over h2');
  });
});
