/**
 * permessage-deflate with other implementations: our server ↔ the `ws`
 * client, our client ↔ the `ws` server, our server ↔ undici's WHATWG
 * WebSocket (and our client ↔ our server). undici 7 offers
 * "permessage-deflate; client_max_window_bits" and inflates what it
 * receives, but sends everything uncompressed: with it only the
 * server → client direction is compressed.
 */
import { createHash } from 'node:crypto';
import * as net from 'node:net';
import { describe, expect, it } from 'vitest';
import { WebSocket as UndiciWebSocket } from 'undici';
import WsClient, { WebSocketServer } from 'ws';
import { type CloseCause, type WebSocket, connect } from '../../src/index.js';
import { HOST, Queue, rng, socketOf, startServer, useCleanup, withTimeout } from '../kit/index.js'; // socketOf: Node's socket counts the bytes, so the connections measured ask for transport 'stream'
import { compressible } from './util.js';

const defer = useCleanup();

interface Message {
  data: Buffer;
  isBinary: boolean;
}

interface End {
  send(data: string | Buffer): void;
  close(code: number, reason: string): void;
  messages: Queue<Message>;
  closed: Promise<{ code: number; reason: string; cause?: CloseCause }>;
}

interface Pair {
  /** Our connection (server or client side). */
  ours: End & { ws: WebSocket };
  peer: End;
  /** The extensions the peer reports. */
  peerExtensions: string;
  /** Whether the peer compresses what it sends (undici does not). */
  peerCompresses: boolean;
}

function wsboltEnd(ws: WebSocket, messages: Queue<Message>, closed: Promise<{ code: number; reason: string; cause: CloseCause }>): Pair['ours'] {
  return { ws, messages, closed, send: (d) => ws.send(d), close: (code, reason) => ws.close(code, reason) };
}

/** Our server with compression on; resolves once a client connected through open(). */
async function ourServer(openPeer: (url: string) => Promise<Omit<Pair, 'ours'>>): Promise<Pair> {
  const sockets = new Queue<WebSocket>();
  const messages = new Map<WebSocket, Queue<Message>>();
  const closes = new Map<WebSocket, (v: { code: number; reason: string; cause: CloseCause }) => void>();
  const closedOf = new Map<WebSocket, Promise<{ code: number; reason: string; cause: CloseCause }>>();
  const server = await startServer(defer, {
    transport: 'stream' as const,
    perMessageDeflate: true,
    open: (ws) => {
      messages.set(ws, new Queue());
      closedOf.set(ws, new Promise((resolve) => closes.set(ws, resolve)));
      sockets.push(ws);
    },
    message: (ws, data, isBinary) => messages.get(ws)!.push({ data, isBinary }),
    close: (ws, code, reason, cause) => closes.get(ws)!({ code, reason, cause }),
  });
  const peer = await openPeer(`ws://${HOST}:${server.port}/`);
  const ws = await sockets.next();
  return { ...peer, ours: wsboltEnd(ws, messages.get(ws)!, closedOf.get(ws)!) };
}

async function wsClientPeer(url: string): Promise<Omit<Pair, 'ours'>> {
  const c = new WsClient(url, { perMessageDeflate: true });
  defer(() => c.terminate());
  const messages = new Queue<Message>();
  c.on('message', (data: Buffer, isBinary: boolean) => messages.push({ data, isBinary }));
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    c.on('close', (code: number, reason: Buffer) => resolve({ code, reason: reason.toString() })),
  );
  await withTimeout(
    new Promise<void>((resolve, reject) => {
      c.once('open', () => resolve());
      c.once('error', reject);
    }),
  );
  return {
    peer: { send: (d) => c.send(d), close: (code, reason) => c.close(code, reason), messages, closed },
    peerExtensions: c.extensions,
    peerCompresses: true,
  };
}

async function undiciPeer(url: string): Promise<Omit<Pair, 'ours'>> {
  const c = new UndiciWebSocket(url);
  c.binaryType = 'arraybuffer';
  defer(() => {
    if (c.readyState < 2) c.close();
  });
  const messages = new Queue<Message>();
  c.addEventListener('message', (e) => {
    const data = e.data as string | ArrayBuffer;
    messages.push(typeof data === 'string' ? { data: Buffer.from(data), isBinary: false } : { data: Buffer.from(data), isBinary: true });
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => c.addEventListener('close', (e) => resolve({ code: e.code, reason: e.reason })));
  await withTimeout(
    new Promise<void>((resolve, reject) => {
      c.addEventListener('open', () => resolve());
      c.addEventListener('error', () => reject(new Error('undici WebSocket error')));
    }),
  );
  return {
    peer: { send: (d) => c.send(d), close: (code, reason) => c.close(code, reason), messages, closed },
    peerExtensions: c.extensions,
    peerCompresses: false,
  };
}

/** Our client against a peer server (ws, or ours). */
async function ourClient(kind: 'ws' | 'wsbolt'): Promise<Pair> {
  let url: string;
  let peerSide: Promise<Omit<Pair, 'ours'>>;
  if (kind === 'ws') {
    const wss = new WebSocketServer({ host: HOST, port: 0, perMessageDeflate: true });
    await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
    defer(
      () =>
        new Promise<void>((resolve) => {
          for (const c of wss.clients) c.terminate();
          wss.close(() => resolve());
        }),
    );
    url = `ws://${HOST}:${(wss.address() as net.AddressInfo).port}/`;
    peerSide = new Promise((resolve) =>
      wss.once('connection', (c: any) => {
        c.on('error', () => {});
        const messages = new Queue<Message>();
        c.on('message', (data: Buffer, isBinary: boolean) => messages.push({ data, isBinary }));
        const closed = new Promise<{ code: number; reason: string }>((done) =>
          c.on('close', (code: number, reason: Buffer) => done({ code, reason: reason.toString() })),
        );
        resolve({
          peer: { send: (d) => c.send(d), close: (code, reason) => c.close(code, reason), messages, closed },
          peerExtensions: c.extensions,
          peerCompresses: true,
        });
      }),
    );
  } else {
    const sockets = new Queue<{ ws: WebSocket; messages: Queue<Message>; closed: Promise<{ code: number; reason: string; cause: CloseCause }> }>();
    const closes = new Map<WebSocket, (v: { code: number; reason: string; cause: CloseCause }) => void>();
    const queues = new Map<WebSocket, Queue<Message>>();
    const server = await startServer(defer, {
      transport: 'stream' as const,
      perMessageDeflate: true,
      open: (ws) => {
        queues.set(ws, new Queue());
        sockets.push({ ws, messages: queues.get(ws)!, closed: new Promise((resolve) => closes.set(ws, resolve)) });
      },
      message: (ws, data, isBinary) => queues.get(ws)!.push({ data, isBinary }),
      close: (ws, code, reason, cause) => closes.get(ws)?.({ code, reason, cause }),
    });
    url = `ws://${HOST}:${server.port}/`;
    peerSide = sockets.next().then((s) => ({ peer: wsboltEnd(s.ws, s.messages, s.closed), peerExtensions: s.ws.extensions, peerCompresses: true }));
  }
  const messages = new Queue<Message>();
  let onClose!: (v: { code: number; reason: string; cause: CloseCause }) => void;
  const closed = new Promise<{ code: number; reason: string; cause: CloseCause }>((resolve) => (onClose = resolve));
  const ws = await withTimeout(
    connect(url, {
      transport: 'stream' as const,
      message: (_ws, data, isBinary) => messages.push({ data, isBinary }),
      close: (_ws, code, reason, cause) => onClose({ code, reason, cause }),
    }),
  );
  defer(() => ws.terminate());
  return { ...(await withTimeout(peerSide)), ours: wsboltEnd(ws, messages, closed) };
}

const pairs: [string, () => Promise<Pair>][] = [
  ['our server ↔ ws client', () => ourServer(wsClientPeer)],
  ['our server ↔ undici WebSocket', () => ourServer(undiciPeer)],
  ['our client ↔ ws server', () => ourClient('ws')],
  ['our client ↔ our server', () => ourClient('wsbolt')],
];

/** A message as a short comparable string (deep equality on large buffers is very slow). */
const digest = (data: Buffer | string, isBinary = Buffer.isBuffer(data)) =>
  `${isBinary ? 'binary' : 'text'} ${Buffer.byteLength(data)} ${createHash('sha1').update(data).digest('hex')}`;
const digests = (ms: Message[]) => ms.map((m) => digest(m.data, m.isBinary));

describe.each(pairs)('%s', (_name, open) => {
  it('permessage-deflate is negotiated on both sides', async () => {
    const p = await open();
    expect(p.ours.ws.extensions).toMatch(/^permessage-deflate; (server_no_context_takeover; )?client_no_context_takeover$/);
    expect(p.ours.ws.deflate).not.toBeNull();
    expect(p.peerExtensions).toMatch(/^permessage-deflate/);
  });

  it('text and binary, small (plain) and large (compressed), both ways', async () => {
    const p = await open();
    const large = compressible(100_000, 1);
    const sent = ['hello ✓', Buffer.from([0, 1, 2, 255]), '', large.toString(), large, Buffer.alloc(0)];
    for (const m of sent) p.ours.send(m);
    for (const m of sent) p.peer.send(m);
    const expected = sent.map((m) => digest(m));
    expect(digests(await p.peer.messages.take(sent.length))).toEqual(expected);
    expect(digests(await p.ours.messages.take(sent.length))).toEqual(expected);
  });

  it('1 MiB messages both ways: random binary and compressible text; compression is used on the wire', async () => {
    const p = await open();
    const random = rng(11).bytes(1024 * 1024);
    const text = compressible(1024 * 1024, 2).toString();
    const socket = socketOf(p.ours.ws);
    const written = socket.bytesWritten;
    p.ours.send(random);
    p.ours.send(text);
    expect(digests(await p.peer.messages.take(2, 15_000))).toEqual([digest(random), digest(text)]);
    // 1 MiB of random data does not shrink, 1 MiB of text shrinks a lot.
    expect(socket.bytesWritten - written).toBeLessThan(1024 * 1024 + 200 * 1024);
    const read = socket.bytesRead;
    p.peer.send(random);
    p.peer.send(text);
    expect(digests(await p.ours.messages.take(2, 15_000))).toEqual([digest(random), digest(text)]);
    if (p.peerCompresses) expect(socket.bytesRead - read).toBeLessThan(1024 * 1024 + 200 * 1024);
    else expect(socket.bytesRead - read).toBeGreaterThan(2 * 1024 * 1024);
  });

  it('many messages keep their order, both ways', async () => {
    const p = await open();
    const n = 400;
    const message = (i: number) => (i % 3 === 0 ? compressible(3000 + i, i).toString() : `#${i}`);
    for (let i = 0; i < n; i++) p.ours.send(message(i));
    for (let i = 0; i < n; i++) p.peer.send(message(i));
    const expected = Array.from({ length: n }, (_, i) => message(i));
    expect((await p.peer.messages.take(n, 15_000)).map((m) => m.data.toString())).toEqual(expected);
    expect((await p.ours.messages.take(n, 15_000)).map((m) => m.data.toString())).toEqual(expected);
  });

  it('mixed small (uncompressed) and large (compressed) binary messages keep their order', async () => {
    const p = await open();
    const g = rng(5);
    const sent: Buffer[] = [];
    for (let i = 0; i < 120; i++) {
      const kind = g.int(4);
      sent.push(
        kind === 0 ? g.bytes(g.int(100)) : kind === 1 ? compressible(1024 + g.int(40_000), i) : kind === 2 ? g.bytes(1024 + g.int(20_000)) : Buffer.from([i]),
      );
    }
    for (const m of sent) p.ours.send(m);
    for (const m of sent) p.peer.send(m);
    expect(digests(await p.peer.messages.take(sent.length, 15_000))).toEqual(sent.map((m) => digest(m)));
    expect(digests(await p.ours.messages.take(sent.length, 15_000))).toEqual(sent.map((m) => digest(m)));
  });

  it('we close: the peer sees our code and reason', async () => {
    const p = await open();
    p.ours.send(compressible(10_000).toString()); // a compressed message just before the close
    p.ours.close(4001, 'bye from wsbolt');
    expect((await p.peer.messages.next()).data.equals(compressible(10_000))).toBe(true);
    expect(await withTimeout(p.peer.closed)).toMatchObject({ code: 4001, reason: 'bye from wsbolt' });
    expect(await withTimeout(p.ours.closed)).toMatchObject({ code: 4001, cause: { kind: 'local' } });
  });

  it('the peer closes: we see its code and reason', async () => {
    const p = await open();
    p.peer.send(compressible(10_000).toString());
    p.peer.close(4002, 'bye from the peer');
    expect((await p.ours.messages.next()).data.equals(compressible(10_000))).toBe(true);
    expect(await withTimeout(p.ours.closed)).toMatchObject({ code: 4002, reason: 'bye from the peer', cause: { kind: 'remote' } });
    expect((await withTimeout(p.peer.closed)).code).toBe(4002);
  });
});

describe('limits and options over a real connection', () => {
  it('our client (maxPayload 64 KiB) refuses a compressed message from the ws server that inflates past it: 1009', async () => {
    const wss = new WebSocketServer({ host: HOST, port: 0, perMessageDeflate: true });
    await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
    defer(
      () =>
        new Promise<void>((resolve) => {
          for (const c of wss.clients) c.terminate();
          wss.close(() => resolve());
        }),
    );
    const peerClosed = new Queue<number>();
    wss.on('connection', (c: any) => {
      c.on('error', () => {});
      c.on('close', (code: number) => peerClosed.push(code));
      c.send(Buffer.alloc(60 * 1024, 1)); // under the limit
      c.send(Buffer.alloc(1024 * 1024)); // 1 MiB of zeros: about 1 KiB on the wire
    });
    const messages = new Queue<number>();
    let onClose!: (v: { code: number; cause: CloseCause }) => void;
    const closed = new Promise<{ code: number; cause: CloseCause }>((resolve) => (onClose = resolve));
    const ws = await withTimeout(
      connect(`ws://${HOST}:${(wss.address() as net.AddressInfo).port}/`, {
        transport: 'stream' as const,
        maxPayload: 64 * 1024,
        message: (_ws, data) => messages.push(data.length),
        close: (_ws, code, _reason, cause) => onClose({ code, cause }),
      }),
    );
    defer(() => ws.terminate());
    expect(await messages.next()).toBe(60 * 1024);
    expect(await withTimeout(closed)).toMatchObject({ code: 1009, cause: { kind: 'protocol_error', error: { code: 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH' } } });
    expect(await peerClosed.next()).toBe(1009);
    expect(messages.items).toHaveLength(1);
  });

  it('our server (maxPayload 64 KiB) refuses a compressed message from the ws client that inflates past it: 1009', async () => {
    const closes = new Queue<{ code: number; cause: CloseCause }>();
    const server = await startServer(defer, { perMessageDeflate: true, maxPayload: 64 * 1024, close: (_ws, code, _r, cause) => closes.push({ code, cause }) });
    const p = await wsClientPeer(`ws://${HOST}:${server.port}/`);
    p.peer.send(Buffer.alloc(1024 * 1024));
    expect((await withTimeout(p.peer.closed)).code).toBe(1009);
    expect(await closes.next()).toMatchObject({ code: 1009, cause: { kind: 'protocol_error', error: { code: 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH' } } });
  });

  it('send options and thresholds through the connection API: compress: false, compress: true, a custom threshold', async () => {
    const sockets = new Queue<WebSocket>();
    const server = await startServer(defer, { transport: 'stream' as const, perMessageDeflate: { threshold: 100_000 }, open: (ws) => sockets.push(ws) });
    const p = await wsClientPeer(`ws://${HOST}:${server.port}/`);
    const ws = await sockets.next();
    const big = compressible(50_000, 9);
    const sent = async (data: Buffer, options?: { compress?: boolean }) => {
      const before = socketOf(ws).bytesWritten;
      ws.send(data, options);
      expect(digests([await p.peer.messages.next()])).toEqual([digest(data)]);
      return socketOf(ws).bytesWritten - before;
    };
    expect(await sent(big)).toBeGreaterThan(50_000); // under the 100,000-byte threshold: plain
    expect(await sent(big, { compress: true })).toBeLessThan(5_000);
    expect(await sent(compressible(200_000, 9))).toBeLessThan(10_000); // above it: compressed
    expect(await sent(compressible(200_000, 9), { compress: false })).toBeGreaterThan(200_000);
  });
});

describe('undici WebSocket specifics', () => {
  it('offers permessage-deflate; our answer is what it reports; it sends uncompressed', async () => {
    const requests = new Queue<string | undefined>();
    const sockets = new Queue<WebSocket>();
    const received = new Queue<Message>();
    const server = await startServer(defer, {
      transport: 'stream' as const,
      perMessageDeflate: true,
      upgrade: (req) => {
        requests.push(req.header('sec-websocket-extensions'));
      },
      open: (ws) => sockets.push(ws),
      message: (_ws, data, isBinary) => received.push({ data, isBinary }),
    });
    const peer = await undiciPeer(`ws://${HOST}:${server.port}/`);
    expect(await requests.next()).toBe('permessage-deflate; client_max_window_bits');
    const ws = await sockets.next();
    expect(ws.extensions).toBe('permessage-deflate; client_no_context_takeover');
    expect(peer.peerExtensions).toBe(ws.extensions);
    const read = socketOf(ws).bytesRead;
    const big = compressible(200_000, 3).toString();
    peer.peer.send(big);
    expect(digests([await received.next()])).toEqual([digest(big)]);
    expect(socketOf(ws).bytesRead - read).toBeGreaterThan(200_000); // not compressed by undici
  });
});
