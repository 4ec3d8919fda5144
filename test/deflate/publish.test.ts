/**
 * server.publish with permessage-deflate: compressed and uncompressed
 * subscribers of one topic all get the right data, and a message is
 * compressed once (per window size), not once per subscriber.
 */
import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import WsClient from 'ws';
import { PerMessageDeflate } from '../../src/extensions/permessage-deflate.js';
import { type ConnectOptions, type Server, type WebSocket, connect } from '../../src/index.js';
import { HOST, Queue, socketOf, startServer, useCleanup, withTimeout } from '../kit/index.js'; // socketOf: Node's socket counts the bytes, so the connections measured ask for transport 'stream'
import { compressible } from './util.js';

const defer = useCleanup();
afterEach(() => {
  vi.restoreAllMocks();
});

interface Message {
  data: Buffer;
  isBinary: boolean;
}

const digest = (data: Buffer | string, isBinary = Buffer.isBuffer(data)) =>
  `${isBinary ? 'binary' : 'text'} ${Buffer.byteLength(data)} ${createHash('sha1').update(data).digest('hex')}`;

interface Subscriber {
  name: string;
  compressed: boolean;
  messages: Queue<Message>;
}

async function ours(port: number, name: string, perMessageDeflate: ConnectOptions['perMessageDeflate']): Promise<Subscriber> {
  const messages = new Queue<Message>();
  const ws = await withTimeout(connect(`ws://${HOST}:${port}/`, { perMessageDeflate, message: (_ws, data, isBinary) => messages.push({ data, isBinary }) }));
  defer(() => ws.terminate());
  return { name, compressed: ws.deflate !== null, messages };
}

async function theirs(port: number, name: string, perMessageDeflate: boolean): Promise<Subscriber> {
  const c = new WsClient(`ws://${HOST}:${port}/`, { perMessageDeflate });
  defer(() => c.terminate());
  const messages = new Queue<Message>();
  c.on('message', (data: Buffer, isBinary: boolean) => messages.push({ data, isBinary }));
  await withTimeout(
    new Promise<void>((resolve, reject) => {
      c.once('open', () => resolve());
      c.once('error', reject);
    }),
  );
  return { name, compressed: c.extensions !== '', messages };
}

/** A server whose connections all subscribe to "news", with 5 compressed and 2 uncompressed subscribers. */
async function setup() {
  const server: Server = await startServer(defer, { transport: 'stream' as const, perMessageDeflate: true, open: (ws) => ws.subscribe('news') });
  const port = server.port;
  const subscribers = [
    await ours(port, 'wsbolt client 1', true),
    await ours(port, 'wsbolt client 2', undefined),
    await ours(port, 'wsbolt client 3', { clientMaxWindowBits: 12 }),
    await theirs(port, 'ws client 1', true),
    await theirs(port, 'ws client 2', true),
    await ours(port, 'wsbolt client, no compression', false),
    await theirs(port, 'ws client, no compression', false),
  ];
  expect(subscribers.map((s) => s.compressed)).toEqual([true, true, true, true, true, false, false]);
  expect(server.subscribers('news')).toBe(7);
  const connections = [...server.connections] as WebSocket[];
  return { server, subscribers, connections };
}

/** What every subscriber received next, as digests by name. */
async function nextOfEach(subscribers: Subscriber[], n = 1): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const s of subscribers) out[s.name] = (await s.messages.take(n, 10_000, s.name)).map((m) => digest(m.data, m.isBinary));
  return out;
}

const everyone = (subscribers: Subscriber[], values: string[]) => Object.fromEntries(subscribers.map((s) => [s.name, values]));

describe('server.publish with permessage-deflate', () => {
  it('5 compressed and 2 uncompressed subscribers all receive the right data; each message is compressed once', async () => {
    const { server, subscribers } = await setup();
    const compress = vi.spyOn(PerMessageDeflate.prototype, 'compress');
    const large = compressible(64 * 1024, 1).toString();
    expect(server.publish('news', large)).toBe(7);
    expect(compress).toHaveBeenCalledTimes(1);
    expect(await nextOfEach(subscribers)).toEqual(everyone(subscribers, [digest(large)]));

    // Ten more (text and binary): ten compressions, not seventy.
    compress.mockClear();
    const sent: (string | Buffer)[] = [];
    for (let i = 0; i < 10; i++) {
      const m = i % 2 ? compressible(5000 + i, i) : compressible(5000 + i, i).toString();
      sent.push(m);
      expect(server.publish('news', m)).toBe(7);
    }
    expect(compress).toHaveBeenCalledTimes(10);
    expect(await nextOfEach(subscribers, 10)).toEqual(
      everyone(
        subscribers,
        sent.map((m) => digest(m)),
      ),
    );
  });

  it('below the threshold nothing is compressed; compress: true and compress: false override it', async () => {
    const { server, subscribers } = await setup();
    const compress = vi.spyOn(PerMessageDeflate.prototype, 'compress');
    const small = 'breaking: small news';
    const large = compressible(20_000, 2);
    server.publish('news', small);
    expect(compress).toHaveBeenCalledTimes(0);
    server.publish('news', large, { compress: false });
    expect(compress).toHaveBeenCalledTimes(0);
    server.publish('news', small, { compress: true });
    expect(compress).toHaveBeenCalledTimes(1);
    server.publish('news', Buffer.from('binary as text'), { binary: false });
    expect(await nextOfEach(subscribers, 4)).toEqual(everyone(subscribers, [digest(small), digest(large), digest(small), digest('binary as text')]));
  });

  it('compressed subscribers get compressed bytes, the others plain bytes', async () => {
    const { server, subscribers, connections } = await setup();
    const before = new Map(connections.map((ws) => [ws, socketOf(ws).bytesWritten]));
    const large = compressible(200_000, 3);
    server.publish('news', large);
    expect(await nextOfEach(subscribers)).toEqual(everyone(subscribers, [digest(large)]));
    for (const ws of connections) {
      const sent = socketOf(ws).bytesWritten - before.get(ws)!;
      if (ws.deflate) expect(sent).toBeLessThan(20_000);
      else expect(sent).toBeGreaterThan(200_000);
    }
  });

  it('subscribers with different agreed windows: one compression per window size', async () => {
    const { server, subscribers } = await setup();
    const port = server.port;
    const narrow = [await ours(port, 'window 10 (a)', { serverMaxWindowBits: 10 }), await ours(port, 'window 10 (b)', { serverMaxWindowBits: 10 })];
    const all = [...subscribers, ...narrow];
    expect(server.subscribers('news')).toBe(9);
    const compress = vi.spyOn(PerMessageDeflate.prototype, 'compress');
    const large = Buffer.concat([compressible(30_000, 4), compressible(30_000, 5)]);
    expect(server.publish('news', large)).toBe(9);
    expect(compress).toHaveBeenCalledTimes(2);
    expect(new Set(compress.mock.contexts.map((c) => (c as PerMessageDeflate).sendWindowBits))).toEqual(new Set([15, 10]));
    expect(await nextOfEach(all)).toEqual(everyone(all, [digest(large)]));
  });

  it('ws.publish (the sender excluded) compresses once as well', async () => {
    const { server, subscribers, connections } = await setup();
    // Connections were made one after another, so server.connections is in the subscribers' order.
    expect(connections.map((ws) => ws.deflate !== null)).toEqual(subscribers.map((s) => s.compressed));
    const compress = vi.spyOn(PerMessageDeflate.prototype, 'compress');
    const senderIndex = 5; // the wsbolt client without compression
    const large = compressible(30_000, 6).toString();
    expect(connections[senderIndex]!.publish('news', large)).toBe(6);
    expect(compress).toHaveBeenCalledTimes(1);
    const others = subscribers.filter((_, i) => i !== senderIndex);
    expect(await nextOfEach(others)).toEqual(everyone(others, [digest(large)]));
    // The sender's next message is the one published after: it did not get its own.
    server.publish('news', 'marker');
    expect(await nextOfEach([subscribers[senderIndex]!])).toEqual({ [subscribers[senderIndex]!.name]: [digest('marker')] });
  });
});
