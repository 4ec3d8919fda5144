/**
 * Offloaded zlib work and context takeover over real connections: order
 * under a zlib concurrency of 1 with many connections, pings and a close
 * right behind large messages; the bomb on the thread-pool path; connections
 * dropped while their jobs wait (nothing crashes, the limiter drains);
 * context takeover against `ws` both ways, shown by shrinking wire sizes;
 * zlib streams closed with the connection.
 */
import * as net from 'node:net';
import * as zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WsClient, { WebSocketServer } from 'ws';
import { type CloseCause, type WebSocket, connect, openZlibContexts, setZlibConcurrency, zlibStats } from '../../src/index.js';
import { frame, HOST, parseFrames, Queue, socketOf, startServer, useCleanup, withTimeout } from '../kit/index.js'; // socketOf: Node's socket counts the bytes, so the connections measured ask for transport 'stream'
import { compressible, TAIL } from './util.js';

const defer = useCleanup();
const KiB = 1024;

/** Waits (bounded) until cond() holds, checking after every turn of the event loop. */
async function until(cond: () => boolean, ms = 5000, label = 'condition'): Promise<void> {
  await withTimeout(
    (async () => {
      while (!cond()) await new Promise((resolve) => setImmediate(resolve));
    })(),
    ms,
    label,
  );
}

let previous = 0;
beforeAll(() => {
  previous = zlibStats().concurrency;
  setZlibConcurrency(1);
});
afterAll(() => setZlibConcurrency(previous));

const OFFLOAD = { asyncThreshold: 16 * KiB };

/** Message i of connection c: every third one large (compressed off the main thread), others small (inline or plain). */
function message(c: number, i: number): string | Buffer {
  if (i % 3 === 0) return i % 2 === 0 ? compressible(64 * KiB, c * 1000 + i).toString() : compressible(40 * KiB, c * 1000 + i);
  return i % 3 === 1 ? `small ${c}/${i}` : compressible(3 * KiB, c * 1000 + i);
}
const label = (data: Buffer | string, isBinary: boolean) =>
  `${isBinary ? 'b' : 't'}:${Buffer.byteLength(data)}:${Buffer.from(data).subarray(0, 16).toString()}:${Buffer.from(data).toString('base64').length}`;

describe('order under a zlib concurrency of 1', () => {
  it('6 connections, mixed sizes both ways, pings, a close right after a large message: all in call order, nothing lost', async () => {
    expect(zlibStats().concurrency).toBe(1);
    const received = new Map<number, string[]>();
    const pings = new Map<number, string[]>();
    const server = await startServer<{ id: number }>(defer, {
      perMessageDeflate: OFFLOAD,
      upgrade: (req) => ({ data: { id: Number(new URLSearchParams(req.query).get('c')) } }),
      message: (ws, data, isBinary) => {
        received.get(ws.data.id)!.push(label(data, isBinary));
        ws.send(data, { binary: isBinary });
      },
      ping: (ws, data) => pings.get(ws.data.id)!.push(data.toString()),
    });
    const N = 30;
    const C = 6;
    const runs = Array.from({ length: C }, async (_, c) => {
      received.set(c, []);
      pings.set(c, []);
      const echoes: string[] = [];
      const pongs: string[] = [];
      const closed = new Queue<{ code: number; echoes: number }>();
      const ws = await withTimeout(
        connect(`ws://${HOST}:${server.port}/?c=${c}`, {
          perMessageDeflate: OFFLOAD,
          message: (_ws, data, isBinary) => echoes.push(label(data, isBinary)),
          pong: (_ws, data) => pongs.push(data.toString()),
          close: (_ws, code) => closed.push({ code, echoes: echoes.length }),
        }),
      );
      defer(() => ws.terminate());
      expect(ws.deflate?.asyncThreshold).toBe(16 * KiB);
      const expected: string[] = [];
      for (let i = 0; i < N; i++) {
        const m = message(c, i);
        ws.send(m);
        expected.push(label(m, typeof m !== 'string'));
        if (i % 5 === 0) ws.ping(`p${i}`);
      }
      // Messages still waiting to be compressed count as buffered.
      expect(ws.bufferedAmount).toBeGreaterThan(64 * KiB);
      ws.close(1000, 'done'); // right behind the last large message (i = 27) and two small ones
      const end = await closed.next(30_000, `close ${c}`);
      expect(end.code).toBe(1000);
      // The server's echoes and its close frame left in order: every echo came before the close.
      expect(end.echoes).toBe(N);
      expect(echoes).toEqual(expected);
      expect(received.get(c)).toEqual(expected);
      // Pings may overtake messages waiting for compression, but none is lost, and their pongs come back.
      expect(pings.get(c)!.sort()).toEqual(['p0', 'p10', 'p15', 'p20', 'p25', 'p5']);
      expect(pongs.sort()).toEqual(['p0', 'p10', 'p15', 'p20', 'p25', 'p5']);
    });
    await withTimeout(Promise.all(runs), 50_000, 'all connections');
    await until(() => zlibStats().running === 0 && zlibStats().pending === 0, 5000, 'limiter drained');
  });

  it('from the ws client (it compresses on its own thread pool queue): our server keeps the order', async () => {
    const received: string[] = [];
    const server = await startServer(defer, {
      perMessageDeflate: { ...OFFLOAD, asyncThreshold: 0 },
      message: (ws, data, isBinary) => (received.push(label(data, isBinary)), ws.send(data, { binary: isBinary })),
    });
    const c = new WsClient(`ws://${HOST}:${server.port}/`, { perMessageDeflate: true });
    defer(() => c.terminate());
    const echoes = new Queue<string>();
    c.on('message', (data: Buffer, isBinary: boolean) => echoes.push(label(data, isBinary)));
    await withTimeout(new Promise((resolve) => c.once('open', resolve)));
    const expected: string[] = [];
    for (let i = 0; i < 60; i++) {
      const m = message(9, i);
      c.send(m);
      expected.push(label(m, typeof m !== 'string'));
    }
    expect(await echoes.take(60, 30_000)).toEqual(expected);
    expect(received).toEqual(expected);
  });
});

/** Opens a raw TCP client with a hand-written upgrade offering `offer`; resolves with the socket and the bytes after the 101. */
async function rawClient(port: number, offer: string) {
  const socket = net.connect({ host: HOST, port });
  defer(() => socket.destroy());
  socket.on('error', () => {});
  await withTimeout(new Promise((resolve) => socket.once('connect', resolve)));
  socket.write(
    `GET / HTTP/1.1\r\nHost: ${HOST}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n` +
      `Sec-WebSocket-Extensions: ${offer}\r\n\r\n`,
  );
  const state = { received: Buffer.alloc(0), head: '' };
  const headDone = new Promise<void>((resolve) =>
    socket.on('data', (chunk: Buffer) => {
      state.received = Buffer.concat([state.received, chunk]);
      const end = state.received.indexOf('\r\n\r\n');
      if (end !== -1 && !state.head) {
        state.head = state.received.subarray(0, end).toString('latin1');
        resolve();
      }
    }),
  );
  await withTimeout(headDone);
  return { socket, state, frames: () => parseFrames(state.received.subarray(state.received.indexOf('\r\n\r\n') + 4)) };
}

describe('the bomb on the offloaded paths', () => {
  let bomb: Buffer;
  beforeAll(async () => {
    const deflate = zlib.createDeflateRaw({ level: 9 });
    const chunks: Buffer[] = [];
    deflate.on('data', (c: Buffer) => chunks.push(c));
    const zeros = Buffer.alloc(1024 * KiB);
    for (let i = 0; i < 50; i++) deflate.write(zeros);
    await new Promise<void>((resolve) => deflate.flush(zlib.constants.Z_SYNC_FLUSH, () => resolve()));
    deflate.close();
    const all = Buffer.concat(chunks);
    bomb = all.subarray(0, all.length - TAIL.length);
  });

  it.each([
    ['one-shot (no context)', {}, 'permessage-deflate; client_max_window_bits'],
    ['the kept inflate stream (client context takeover)', { clientNoContextTakeover: false }, 'permessage-deflate; client_max_window_bits'],
  ])('%s: 1009, nothing delivered, nothing read after it', async (_what, options, offer) => {
    const closes = new Queue<{ code: number; cause: CloseCause }>();
    const messages: number[] = [];
    const server = await startServer(defer, {
      perMessageDeflate: { asyncThreshold: 0, ...options },
      maxPayload: 1024 * KiB,
      message: (_ws: WebSocket, data: Buffer) => messages.push(data.length),
      close: (_ws: WebSocket, code: number, _reason: string, cause: CloseCause) => closes.push({ code, cause }),
    });
    const c = await rawClient(server.port, offer);
    expect(c.state.head).toContain(
      `Sec-WebSocket-Extensions: ${'clientNoContextTakeover' in options ? 'permessage-deflate' : 'permessage-deflate; client_no_context_takeover'}\r`.slice(
        0,
        -1,
      ),
    );
    const ended = new Promise<void>((resolve) => c.socket.once('end', () => resolve()));
    c.socket.write(Buffer.concat([frame({ opcode: 2, payload: bomb, rsv: 0x40, mask: true }), frame({ opcode: 1, payload: 'after', mask: true })]));
    await withTimeout(ended, 10_000, 'the server ends the connection');
    const frames = c.frames();
    expect(frames.map((f) => [f.opcode, f.payload.readUInt16BE(0)])).toEqual([[8, 1009]]);
    const closed = await closes.next();
    expect(closed.cause).toMatchObject({ kind: 'protocol_error', error: { code: 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH' } });
    expect(messages).toEqual([]);
    await until(() => zlibStats().running === 0 && zlibStats().pending === 0, 5000, 'limiter drained');
  });
});

describe('connections that end while their zlib jobs wait', () => {
  it('terminated with jobs queued both ways: no crash, no callback into them, the limiter drains, new connections work', async () => {
    const closes = new Queue<string>();
    const contextsBefore = openZlibContexts();
    let serverMessages = 0;
    const server = await startServer(defer, {
      perMessageDeflate: { asyncThreshold: 0, serverNoContextTakeover: false, clientNoContextTakeover: false },
      message: (ws, data, isBinary) => {
        serverMessages++;
        for (let i = 0; i < 3; i++) ws.send(data, { binary: isBinary });
      },
      close: (_ws, _code, _reason, cause) => closes.push(cause.kind),
    });
    const clients: WebSocket[] = [];
    for (let c = 0; c < 5; c++) {
      const ws = await withTimeout(
        connect(`ws://${HOST}:${server.port}/`, { perMessageDeflate: { asyncThreshold: 0, serverNoContextTakeover: false, clientNoContextTakeover: false } }),
      );
      clients.push(ws);
    }
    clients.forEach((ws, c) => {
      for (let i = 0; i < 20; i++) ws.send(compressible(20 * KiB, c * 100 + i));
    });
    // One compression per connection is asked for at once; with a concurrency of 1, four wait.
    expect(zlibStats()).toMatchObject({ running: 1, pending: 4 });
    // Let the server get some messages (inflating, echoing: jobs both ways), then drop every connection while most wait.
    await until(() => serverMessages >= 3, 10_000, 'server busy');
    for (const ws of clients) ws.terminate();
    expect(clients.every((ws) => ws.deflateJobs!.closed)).toBe(false); // closed when the socket is gone, not before
    expect((await closes.take(5, 10_000)).every((k) => k === 'abrupt')).toBe(true);
    await until(() => clients.every((ws) => ws.deflateJobs!.closed), 5000, 'client zlib jobs closed');
    await until(() => zlibStats().running === 0 && zlibStats().pending === 0, 10_000, 'limiter drained');
    expect(openZlibContexts()).toBe(contextsBefore);
    // The limiter is not stuck: a new connection's offloaded messages go through.
    const echo = new Queue<number>();
    const ws = await withTimeout(
      connect(`ws://${HOST}:${server.port}/`, { perMessageDeflate: { asyncThreshold: 0 }, message: (_ws, data) => echo.push(data.length) }),
    );
    defer(() => ws.terminate());
    ws.send(compressible(5 * KiB));
    expect(await echo.take(3)).toEqual([5 * KiB, 5 * KiB, 5 * KiB]);
  });
});

describe('context takeover against ws', () => {
  const repeated = Buffer.from(
    JSON.stringify({ type: 'update', items: Array.from({ length: 40 }, (_, i) => ({ id: i, name: `item ${i}`, tags: ['a', 'b', 'c'] })) }),
  );
  const CONTEXT = { serverNoContextTakeover: false, clientNoContextTakeover: false };

  /** Sends `repeated` five times, one echo at a time; returns the bytes read for each echo. */
  async function echoSizes(send: (data: Buffer) => void, echoes: Queue<{ data: Buffer; read: number }>, readBefore: number): Promise<number[]> {
    const sizes: number[] = [];
    let read = readBefore;
    for (let i = 0; i < 5; i++) {
      send(repeated);
      const echo = await echoes.next();
      expect(echo.data.equals(repeated)).toBe(true);
      sizes.push(echo.read - read);
      read = echo.read;
    }
    return sizes;
  }

  it('the ws client (default offer) ↔ our server allowing it: both directions keep context, wire sizes shrink', async () => {
    const contextsBefore = openZlibContexts();
    const sockets = new Queue<WebSocket>();
    const sizesIn: number[] = [];
    let lastRead = 0;
    const server = await startServer(defer, {
      transport: 'stream' as const,
      perMessageDeflate: CONTEXT,
      open: (ws) => ((lastRead = socketOf(ws).bytesRead), sockets.push(ws)),
      message: (ws, data, isBinary) => {
        sizesIn.push(socketOf(ws).bytesRead - lastRead);
        lastRead = socketOf(ws).bytesRead;
        ws.send(data, { binary: isBinary });
      },
    });
    const c = new WsClient(`ws://${HOST}:${server.port}/`);
    defer(() => c.terminate());
    const echoes = new Queue<{ data: Buffer; read: number }>();
    c.on('message', (data: Buffer) => echoes.push({ data, read: (c as unknown as { _socket: net.Socket })._socket.bytesRead }));
    await withTimeout(new Promise((resolve) => c.once('open', resolve)));
    expect(c.extensions).toBe('permessage-deflate');
    const ws = await sockets.next();
    expect(ws.extensions).toBe('permessage-deflate');
    expect(ws.deflate).toMatchObject({ sendContext: true, receiveContext: true });
    const sizesOut = await echoSizes((data) => c.send(data), echoes, (c as unknown as { _socket: net.Socket })._socket.bytesRead);
    // The first message carries the content; the next ones refer back to it across messages.
    expect(sizesIn[4]!).toBeLessThan(sizesIn[0]! / 4);
    expect(sizesOut[4]!).toBeLessThan(sizesOut[0]! / 4);
    expect(openZlibContexts()).toBe(contextsBefore + 2);
    const closed = new Promise((resolve) => c.once('close', resolve));
    c.close(1000);
    await withTimeout(closed);
    await until(() => ws.deflateJobs!.closed, 5000, 'zlib jobs closed');
    expect(openZlibContexts()).toBe(contextsBefore);
  });

  it('our client allowing it ↔ the ws server (default options): both directions keep context, wire sizes shrink', async () => {
    const wss = new WebSocketServer({ host: HOST, port: 0, perMessageDeflate: true });
    await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
    defer(() => new Promise<void>((resolve) => (wss.clients.forEach((c: { terminate(): void }) => c.terminate()), wss.close(() => resolve()))));
    const sizesIn: number[] = [];
    wss.on('connection', (peer: InstanceType<typeof WsClient>) => {
      const socket = (peer as unknown as { _socket: net.Socket })._socket;
      let last = socket.bytesRead;
      peer.on('message', (data: Buffer, isBinary: boolean) => {
        sizesIn.push(socket.bytesRead - last);
        last = socket.bytesRead;
        peer.send(data, { binary: isBinary });
      });
    });
    const contextsBefore = openZlibContexts();
    const echoes = new Queue<{ data: Buffer; read: number }>();
    const port = (wss.address() as net.AddressInfo).port;
    const ws = await withTimeout(
      connect(`ws://${HOST}:${port}/`, {
        transport: 'stream' as const,
        perMessageDeflate: CONTEXT,
        message: (w, data) => echoes.push({ data, read: socketOf(w).bytesRead }),
      }),
    );
    defer(() => ws.terminate());
    expect(ws.deflate).toMatchObject({ sendContext: true, receiveContext: true });
    const sizesOut = await echoSizes((data) => ws.send(data), echoes, socketOf(ws).bytesRead);
    expect(sizesIn[4]!).toBeLessThan(sizesIn[0]! / 4);
    expect(sizesOut[4]!).toBeLessThan(sizesOut[0]! / 4);
    expect(openZlibContexts()).toBe(contextsBefore + 2);
    ws.close(1000);
    // The zlib jobs (and their streams) are closed once the socket is gone.
    await until(() => ws.deflateJobs!.closed, 5000, 'zlib jobs closed');
    expect(openZlibContexts()).toBe(contextsBefore);
  });

  it('with the defaults (no context takeover) the same messages do not shrink, and no zlib stream is opened', async () => {
    const contextsBefore = openZlibContexts();
    const sizes: number[] = [];
    let last = 0;
    const server = await startServer(defer, {
      transport: 'stream' as const,
      perMessageDeflate: true,
      open: (ws) => (last = socketOf(ws).bytesRead),
      message: (ws, _data) => {
        sizes.push(socketOf(ws).bytesRead - last);
        last = socketOf(ws).bytesRead;
        ws.send('ok');
      },
    });
    const echoes = new Queue<void>();
    const ws = await withTimeout(connect(`ws://${HOST}:${server.port}/`, { message: () => echoes.push() }));
    defer(() => ws.terminate());
    for (let i = 0; i < 3; i++) {
      ws.send(repeated);
      await echoes.next();
    }
    expect(sizes[2]).toBe(sizes[0]);
    expect(openZlibContexts()).toBe(contextsBefore);
    expect(ws.deflate).toMatchObject({ sendContext: false, receiveContext: false });
  });

  it('publish: subscribers with a server context get their own compression, in order with their other sends; the others share one', async () => {
    const sockets = new Queue<WebSocket>();
    const server = await startServer(defer, { perMessageDeflate: { serverNoContextTakeover: false }, open: (ws) => (ws.subscribe('t'), sockets.push(ws)) });
    const got = { ctx: new Queue<string>(), plain: new Queue<string>() };
    const withCtx = await withTimeout(
      connect(`ws://${HOST}:${server.port}/`, { perMessageDeflate: { serverNoContextTakeover: false }, message: (_w, d) => got.ctx.push(d.toString()) }),
    );
    const without = await withTimeout(connect(`ws://${HOST}:${server.port}/`, { message: (_w, d) => got.plain.push(d.toString()) }));
    defer(() => withCtx.terminate());
    defer(() => without.terminate());
    const [a, b] = [await sockets.next(), await sockets.next()];
    const ctxSide = a.deflate!.sendContext ? a : b;
    expect(ctxSide.deflate!.sendContext).toBe(true);
    const big = compressible(100 * KiB, 7).toString();
    ctxSide.send('direct 1');
    server.publish('t', big);
    ctxSide.send('direct 2');
    server.publish('t', repeated.toString());
    const expectedCtx = ['direct 1', big, 'direct 2', repeated.toString()];
    expect(await got.ctx.take(4, 10_000)).toEqual(expectedCtx);
    expect(await got.plain.take(2, 10_000)).toEqual([big, repeated.toString()]);
  });
});
