/** Interop with other clients: `ws` and undici's WHATWG WebSocket exchange every kind of message and close code with our server. */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { WebSocket as UndiciWebSocket } from 'undici';
import { type CloseCause, type WebSocket } from '../../src/index.js';
import { deferred, HOST, Queue, startServer, useCleanup, withTimeout, wsClient } from '../kit/index.js';

const defer = useCleanup();

interface Message {
  data: Buffer;
  isBinary: boolean;
}

interface Client {
  send(data: string | Buffer): void;
  close(code?: number, reason?: string): void;
  messages: Queue<Message>;
  closed: Promise<{ code: number; reason: string }>;
  protocol(): string;
}

type Open = (url: string, protocols?: string[]) => Promise<Client>;

const openWs: Open = async (url, protocols) => {
  const c = wsClient(url, protocols ? { protocols } : {});
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
  return { send: (d) => c.send(d), close: (code, reason) => c.close(code, reason), messages, closed, protocol: () => c.protocol };
};

const openUndici: Open = async (url, protocols) => {
  const c = new UndiciWebSocket(url, protocols);
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
  return { send: (d) => c.send(d), close: (code, reason) => c.close(code, reason), messages, closed, protocol: () => c.protocol };
};

interface ServerSide {
  port: number;
  received: Queue<Message>;
  sockets: Queue<WebSocket>;
  closes: Queue<{ code: number; reason: string; cause: CloseCause }>;
}

async function server(): Promise<ServerSide> {
  const received = new Queue<Message>();
  const sockets = new Queue<WebSocket>();
  const closes = new Queue<{ code: number; reason: string; cause: CloseCause }>();
  const s = await startServer(defer, {
    protocols: ['chat.v2', 'chat.v1'],
    open: (ws) => sockets.push(ws),
    message: (ws, data, isBinary) => {
      received.push({ data, isBinary });
      ws.send(data, { binary: isBinary });
    },
    close: (_ws, code, reason, cause) => closes.push({ code, reason, cause }),
  });
  return { port: s.port, received, sockets, closes };
}

describe.each([
  ['ws', openWs],
  ['undici WebSocket', openUndici],
] as const)('%s client', (_name, open) => {
  it('text and binary round-trip with their types', async () => {
    const s = await server();
    const c = await open(`ws://${HOST}:${s.port}/`);
    c.send('hello ✓');
    c.send(Buffer.from([0, 1, 2, 255]));
    c.send('');
    const echoed = await c.messages.take(3);
    expect(echoed).toEqual([
      { data: Buffer.from('hello ✓'), isBinary: false },
      { data: Buffer.from([0, 1, 2, 255]), isBinary: true },
      { data: Buffer.alloc(0), isBinary: false },
    ]);
    expect(await s.received.take(3)).toEqual(echoed);
  });

  it('1 MiB messages both ways', async () => {
    const s = await server();
    const c = await open(`ws://${HOST}:${s.port}/`);
    const bytes = randomBytes(1024 * 1024);
    const text = 'λ'.repeat(512 * 1024); // 1 MiB of two-byte characters
    c.send(bytes);
    c.send(text);
    const [b, t] = await c.messages.take(2, 15_000);
    expect(b!.isBinary).toBe(true);
    expect(b!.data.equals(bytes)).toBe(true);
    expect(t!.isBinary).toBe(false);
    expect(t!.data.toString()).toBe(text);
  });

  it('fragmented messages from the server arrive whole', async () => {
    const s = await server();
    const c = await open(`ws://${HOST}:${s.port}/`);
    const ws = await s.sockets.next();
    ws.send('frag', { fin: false });
    ws.send('mented', { fin: false });
    ws.send(' text');
    ws.send(Buffer.from([1, 2]), { fin: false });
    ws.send(Buffer.from([3]));
    expect(await c.messages.take(2)).toEqual([
      { data: Buffer.from('fragmented text'), isBinary: false },
      { data: Buffer.from([1, 2, 3]), isBinary: true },
    ]);
  });

  it('many messages keep their order', async () => {
    const s = await server();
    const c = await open(`ws://${HOST}:${s.port}/`);
    for (let i = 0; i < 500; i++) c.send(`#${i}`);
    const got = await c.messages.take(500, 10_000);
    expect(got.map((m) => m.data.toString())).toEqual(Array.from({ length: 500 }, (_, i) => `#${i}`));
  });

  it('a subprotocol is negotiated', async () => {
    const s = await server();
    const c = await open(`ws://${HOST}:${s.port}/`, ['chat.v1', 'chat.v2']);
    expect(c.protocol()).toBe('chat.v1');
    expect((await s.sockets.next()).protocol).toBe('chat.v1');
  });

  it('client-initiated close: the server sees the code and reason, the client its code echoed', async () => {
    const s = await server();
    const c = await open(`ws://${HOST}:${s.port}/`);
    c.close(4001, 'client says bye');
    expect(await s.closes.next()).toMatchObject({ code: 4001, reason: 'client says bye', cause: { kind: 'remote' } });
    expect((await withTimeout(c.closed)).code).toBe(4001);
  });

  it('server-initiated close: the client sees the code and reason', async () => {
    const s = await server();
    const c = await open(`ws://${HOST}:${s.port}/`);
    (await s.sockets.next()).close(4002, 'server says bye');
    expect(await withTimeout(c.closed)).toEqual({ code: 4002, reason: 'server says bye' });
    // The code and reason reported are those of the peer's answering close frame (ws echoes the reason, undici does not).
    expect(await s.closes.next()).toMatchObject({ code: 4002, cause: { kind: 'local' } });
  });

  it('close 1000 without a reason, from the server', async () => {
    const s = await server();
    const c = await open(`ws://${HOST}:${s.port}/`);
    (await s.sockets.next()).close(1000);
    expect(await withTimeout(c.closed)).toEqual({ code: 1000, reason: '' });
    expect((await s.closes.next()).cause.kind).toBe('local');
  });
});

describe('ws client specifics', () => {
  it('a message the ws client sends in fragments reaches the handler whole', async () => {
    const s = await server();
    const c = wsClient(`ws://${HOST}:${s.port}/`);
    defer(() => c.terminate());
    await withTimeout(new Promise((resolve) => c.once('open', resolve)));
    c.send('a', { fin: false });
    c.send('b', { fin: false });
    c.send('c', { fin: true });
    expect(await s.received.next()).toEqual({ data: Buffer.from('abc'), isBinary: false });
  });

  it('ping from the ws client is answered', async () => {
    const s = await server();
    const c = wsClient(`ws://${HOST}:${s.port}/`);
    defer(() => c.terminate());
    await withTimeout(new Promise((resolve) => c.once('open', resolve)));
    const pong = deferred<Buffer>();
    c.once('pong', (data: Buffer) => pong.resolve(data));
    c.ping('p');
    expect((await withTimeout(pong.promise)).toString()).toBe('p');
  });
});
