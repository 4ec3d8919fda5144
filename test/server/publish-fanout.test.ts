/**
 * server.publish's fan-out (issue 17): on the native transport one call into the addon queues the frame on every
 * plain subscriber. Whatever carries a subscriber (the addon, Node's streams, a compressor of its own), each one gets
 * the published frames in order with its own sends of the same tick, terminate() and close() from callbacks during a
 * publish keep their meaning, and the backpressure policy (miss the message, or close with 1008) decides exactly as
 * for a send.
 */
import { describe, expect, it } from 'vitest';
import { type PubSubAdapter, type Server, SendStatus, type WebSocket } from '../../src/index.js';
import { transportBinding } from '../../src/native/transport-binding.js';
import {
  closePayload,
  deferred,
  expectedTransport,
  HOST,
  type OpenClient,
  Queue,
  type RawClient,
  rawConnect,
  startServer,
  useCleanup,
  withTimeout,
  wsConnect,
} from '../kit/index.js';

const defer = useCleanup();
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Subscribers on every kind of carrier: the default transport, Node's streams, shared compression, a compressor of its own. */
const ROUTES = {
  '/native': {},
  '/stream': { transport: 'stream' as const },
  '/shared-deflate': { perMessageDeflate: { serverNoContextTakeover: true, threshold: 0 } },
  '/own-deflate': { perMessageDeflate: { serverNoContextTakeover: false, threshold: 0 } },
};
type Route = keyof typeof ROUTES;

async function mixedServer(extra: { adapter?: PubSubAdapter } = {}) {
  const byPath = new Map<string, WebSocket[]>();
  const opened = new Queue<WebSocket>('open');
  const closes = new Map<WebSocket, { code: number; reason: string }>();
  const commands = new Queue<{ ws: WebSocket; text: string }>('command');
  const routes = Object.fromEntries(
    Object.entries(ROUTES).map(([path, options]) => [
      path,
      {
        ...options,
        open: (ws: WebSocket) => {
          ws.subscribe('t');
          (byPath.get(path) ?? byPath.set(path, []).get(path)!).push(ws);
          opened.push(ws);
        },
        message: (ws: WebSocket, data: Buffer) => commands.push({ ws, text: data.toString() }),
        close: (ws: WebSocket, code: number, reason: string) => closes.set(ws, { code, reason }),
      },
    ]),
  );
  const server: Server = await startServer(defer, { routes, ...extra });
  const connect = async (path: Route): Promise<{ client: OpenClient; ws: WebSocket }> => {
    const client = await wsConnect(defer, `ws://${HOST}:${server.port}${path}`, { perMessageDeflate: path.includes('deflate') });
    return { client, ws: await withTimeout(opened.next()) };
  };
  return { server, connect, closes, commands, byPath };
}

/** Texts a client receives until `last` (included). */
async function receivedUntil(client: OpenClient, last: string): Promise<string[]> {
  const texts: string[] = [];
  for (let i = 0; i < 100; i++) {
    const text = (await client.messages.next()).data.toString();
    texts.push(text);
    if (text === last) return texts;
  }
  throw new Error(`no ${last}`);
}

describe('publish among the sends of the same tick', () => {
  it('every subscriber, whatever carries it, gets the published frames in order with its own sends', async () => {
    const m = await mixedServer();
    const subs: { client: OpenClient; ws: WebSocket; route: Route }[] = [];
    for (const route of Object.keys(ROUTES) as Route[]) {
      for (let i = 0; i < 2; i++) subs.push({ route, ...(await m.connect(route)) });
    }
    if (m.byPath.get('/native')![0]!.transport !== expectedTransport) throw new Error('the default route should use the project transport');
    expect(subs.filter((s) => s.route === '/stream').every((s) => s.ws.transport === 'stream')).toBe(true);
    expect(subs.filter((s) => s.route.includes('deflate')).every((s) => s.ws.deflate !== null)).toBe(true);

    subs[0]!.client.client.send('go');
    const { ws: sender } = await withTimeout(m.commands.next());
    // One tick: sends before, between and after two publishes, on different subscribers each time.
    const expected = new Map<WebSocket, string[]>(subs.map((s) => [s.ws, []]));
    const sendOn = (ws: WebSocket, text: string) => {
      expect(ws.send(text)).not.toBe(SendStatus.DROPPED);
      expected.get(ws)!.push(text);
    };
    const publish = (text: string, options?: { compress?: boolean }) => {
      expect(m.server.publish('t', text, options)).toBe(subs.length);
      for (const s of subs) expected.get(s.ws)!.push(text);
    };
    subs.forEach((s, i) => i % 2 === 0 && sendOn(s.ws, `before ${i}`));
    publish('p1');
    subs.forEach((s, i) => i % 3 === 0 && sendOn(s.ws, `between ${i}`));
    publish('p2', { compress: false });
    publish('p3 '.repeat(400));
    subs.forEach((s, i) => sendOn(s.ws, `after ${i}`));
    sendOn(sender, 'sender after');
    publish('end');

    for (const [i, s] of subs.entries()) expect(await withTimeout(receivedUntil(s.client, 'end')), `subscriber ${i} (${s.route})`).toEqual(expected.get(s.ws));
  });

  it('publishes from many ticks reach every subscriber once each, in publish order', async () => {
    const m = await mixedServer();
    const subs = [];
    for (const route of Object.keys(ROUTES) as Route[]) subs.push(await m.connect(route));
    const sent: string[] = [];
    for (let turn = 0; turn < 20; turn++) {
      for (let k = 0; k <= turn % 4; k++) {
        const text = `m${turn}.${k}`;
        sent.push(text);
        expect(m.server.publish('t', text)).toBe(subs.length);
      }
      await nextTurn();
    }
    sent.push('end');
    m.server.publish('t', 'end');
    for (const s of subs) expect(await withTimeout(receivedUntil(s.client, 'end'))).toEqual(sent);
  });
});

describe('closing and terminating subscribers around a publish', () => {
  it('from the adapter called during publish, and right after it in the same tick: each connection ends as asked, with what it was sent', async () => {
    const during: (() => void)[] = [];
    const adapter: PubSubAdapter = {
      start: () => {},
      publish: () => {
        for (const act of during.splice(0)) act();
      },
      close: () => {},
    };
    const m = await mixedServer({ adapter });
    const subs = [];
    for (const route of Object.keys(ROUTES) as Route[]) subs.push(await m.connect(route), await m.connect(route));
    // Per carrier: one terminated and one closed during the publish (they miss it), then the other one of each
    // pair terminated or closed right after it (it was sent first, so it still arrives).
    const terminatedDuring = subs.filter((_, i) => i % 4 === 0);
    const closedDuring = subs.filter((_, i) => i % 4 === 2);
    const terminatedAfter = subs.filter((_, i) => i % 4 === 1);
    const closedAfter = subs.filter((_, i) => i % 4 === 3);
    during.push(() => terminatedDuring.forEach((s) => s.ws.terminate()));
    during.push(() => closedDuring.forEach((s) => s.ws.close(4001, 'during')));
    const gone = new Map(
      subs.map((s) => [
        s,
        new Promise<{ code: number; texts: string[] }>((resolve) => {
          s.client.client.once('close', (code: number) => resolve({ code, texts: s.client.messages.items.map((r) => r.data.toString()) }));
        }),
      ]),
    );
    const reached = m.server.publish('t', 'news');
    terminatedAfter.forEach((s) => s.ws.terminate());
    closedAfter.forEach((s) => s.ws.close(4002, 'after'));
    expect(reached).toBe(subs.length - terminatedDuring.length - closedDuring.length);
    // A publish after all that reaches nobody of them.
    expect(m.server.publish('t', 'late')).toBe(0);

    for (const s of terminatedDuring) expect(await withTimeout(gone.get(s)!)).toEqual({ code: 1006, texts: [] });
    for (const s of closedDuring) expect(await withTimeout(gone.get(s)!)).toEqual({ code: 4001, texts: [] });
    for (const s of terminatedAfter) expect(await withTimeout(gone.get(s)!)).toEqual({ code: 1006, texts: ['news'] });
    for (const s of closedAfter) expect(await withTimeout(gone.get(s)!)).toEqual({ code: 4002, texts: ['news'] });
  });
});

/** A subscriber whose peer stops reading, next to one that reads. */
async function stalledSubscriber(options: { maxBackpressure: number; closeOnBackpressureLimit?: boolean }) {
  const opened = new Queue<WebSocket>('open');
  const closed = new Map<WebSocket, number>();
  const server = await startServer(defer, {
    ...options,
    open: (ws) => {
      ws.subscribe('t');
      opened.push(ws);
    },
    close: (ws, code) => closed.set(ws, code),
  });
  const stalledPeer: RawClient = await rawConnect(defer, server.port, { keepPayloadUpTo: 200 });
  stalledPeer.socket.pause();
  const stalled = await withTimeout(opened.next());
  const reader = await wsConnect(defer, `ws://${HOST}:${server.port}/`);
  const reading = await withTimeout(opened.next());
  return { server, stalledPeer, stalled, reader, reading, closed };
}

const KiB = 1024;
const FRAME = 1 * KiB + 4; // a 1 KiB payload's frame

describe('backpressure on published messages', () => {
  it('within one tick: the subscriber misses exactly the publishes made while over maxBackpressure', async () => {
    const max = 16 * KiB;
    const s = await stalledSubscriber({ maxBackpressure: max });
    const payload = Buffer.alloc(KiB, 0x61);
    const reached: number[] = [];
    const before: number[] = [];
    for (let i = 0; i < 40; i++) {
      before.push(s.stalled.bufferedAmount);
      reached.push(s.server.publish('t', payload));
    }
    // Nothing leaves before the tick ends, so every accepted frame counts, on every transport alike (the reading
    // subscriber's too: within the tick it is over the limit at the same publish).
    const accepted = Math.floor(max / FRAME) + 1;
    expect(before.slice(0, accepted + 1)).toEqual(Array.from({ length: accepted + 1 }, (_, i) => i * FRAME));
    expect(reached).toEqual(Array.from({ length: 40 }, (_, i) => (i < accepted ? 2 : 0)));
    expect(s.stalled.bufferedAmount).toBe(accepted * FRAME);
    await nextTurn();
    expect(s.server.publish('t', 'end')).toBeGreaterThanOrEqual(1);
    expect((await withTimeout(receivedUntil(s.reader, 'end'))).length).toBe(accepted + 1);
  });

  it('across ticks, with the kernel taking what it can: reached exactly while bufferedAmount was within the limit, then DROPPED-like misses', async () => {
    const max = 256 * KiB;
    const s = await stalledSubscriber({ maxBackpressure: max });
    const payload = Buffer.alloc(8 * KiB, 0x62);
    const records: { before: number; reached: number }[] = [];
    for (let i = 0; i < 4000 && records.filter((r) => r.reached === 1).length < 5; i++) {
      const before = s.stalled.bufferedAmount;
      records.push({ before, reached: s.server.publish('t', payload) });
      await nextTurn();
    }
    const misses = records.filter((r) => r.reached === 1);
    expect(misses.length).toBe(5);
    for (const r of records) expect(r.reached, `bufferedAmount ${r.before}`).toBe(r.before > max ? 1 : 2);
    // Bounded: at most one frame over the limit is queued.
    expect(s.stalled.bufferedAmount).toBeLessThanOrEqual(max + payload.length + 4);
    expect(s.stalled.readyState).toBe(1);
    // The peer reads again: it gets exactly the published messages it was not over the limit for.
    const expectedFrames = records.filter((r) => r.reached === 2).length;
    s.stalledPeer.socket.resume();
    await s.stalledPeer.waitFor(() => s.stalledPeer.frames.items.length >= expectedFrames, 20_000, 'published frames at the stalled peer');
    expect(s.stalledPeer.frames.items.length).toBe(expectedFrames);
  });

  it('closeOnBackpressureLimit: the first publish over the limit closes the subscriber with 1008 instead', async () => {
    const max = 16 * KiB;
    const s = await stalledSubscriber({ maxBackpressure: max, closeOnBackpressureLimit: true });
    const payload = Buffer.alloc(KiB, 0x63);
    const reached: number[] = [];
    for (let i = 0; i < 40; i++) reached.push(s.server.publish('t', payload));
    const accepted = Math.floor(max / FRAME) + 1;
    // Both subscribers pass the limit at the same publish within one tick: both are closed.
    expect(reached).toEqual(Array.from({ length: 40 }, (_, i) => (i < accepted ? 2 : 0)));
    expect(s.reading.closeState).toMatchObject({ closeSent: true, code: 1008 });
    expect(s.stalled.readyState).toBe(2);
    expect(s.stalled.closeState).toMatchObject({ closeSent: true, code: 1008 });
    s.stalledPeer.socket.resume();
    const close = await s.stalledPeer.nextOf(8, 10_000);
    expect(closePayload(close.frame.payload).code).toBe(1008);
    expect(s.stalledPeer.frames.items.filter((f) => f.opcode === 2).length).toBe(accepted);
  });
});

describe.runIf(expectedTransport === 'native')('on the native transport', () => {
  /** A server whose connections subscribe to 't' on open, and n clients of it, with the server's side of each. */
  async function subscribed(n: number) {
    const opened = new Queue<WebSocket>('open');
    const server = await startServer(defer, {
      open: (ws) => {
        ws.subscribe('t');
        opened.push(ws);
      },
    });
    const clients: OpenClient[] = [];
    const sockets: WebSocket[] = [];
    for (let i = 0; i < n; i++) {
      clients.push(await wsConnect(defer, `ws://${HOST}:${server.port}/`));
      sockets.push(await withTimeout(opened.next()));
    }
    await nextTurn();
    return { server, clients, sockets };
  }

  it('a publish to many plain subscribers enters the addon once, and their frames leave in one more call per tick', async () => {
    const { server, clients, sockets } = await subscribed(40);
    for (const ws of sockets) expect(ws.transport).toBe('native');
    const binding = transportBinding as unknown as Record<string, (...args: unknown[]) => unknown>;
    const calls: string[] = [];
    const originals = new Map<string, (...args: unknown[]) => unknown>();
    for (const name of ['write', 'writev', 'pending', 'publish', 'fanout', 'flushPublished']) {
      const original = binding[name];
      if (typeof original !== 'function') continue;
      originals.set(name, original);
      binding[name] = (...args: unknown[]) => {
        calls.push(name);
        return original.apply(binding, args);
      };
    }
    defer(() => originals.forEach((fn, name) => (binding[name] = fn)));
    const done = deferred();
    expect(server.publish('t', 'one')).toBe(40);
    expect(server.publish('t', 'two')).toBe(40);
    process.nextTick(() => setImmediate(done.resolve));
    await done.promise;
    originals.forEach((fn, name) => (binding[name] = fn));
    expect(calls).toEqual(['fanout', 'fanout', 'flushPublished']);
    for (const c of clients) expect((await c.messages.take(2)).map((r) => r.data.toString())).toEqual(['one', 'two']);
  });

  it('idle plain subscribers take a publish without a policy question each in JS; one with output of its own, paused or owing a drain is asked, and order and counts hold', async () => {
    const { server, clients, sockets } = await subscribed(30);
    const proto = Object.getPrototypeOf(sockets[0]!) as { acceptsDirectFrame: (size: number) => boolean };
    const original = proto.acceptsDirectFrame;
    const asked: WebSocket[] = [];
    proto.acceptsDirectFrame = function (this: WebSocket, size: number) {
      asked.push(this);
      return original.call(this, size);
    };
    defer(() => (proto.acceptsDirectFrame = original));
    expect(server.publish('t', 'one')).toBe(30);
    expect(asked).toEqual([]);
    // Counted as buffered from the publish on, by every subscriber, until it leaves.
    expect(sockets.map((ws) => ws.bufferedAmount)).toEqual(sockets.map(() => 5));
    // Its own send queued first: asked, and its send stays ahead of the publish.
    sockets[1]!.send('own');
    sockets[2]!.pause();
    expect(server.publish('t', 'two')).toBe(30);
    expect(asked).toEqual([sockets[1], sockets[2]]);
    await nextTurn();
    sockets[2]!.resume();
    asked.length = 0;
    expect(server.publish('t', 'three', undefined)).toBe(30);
    expect(asked).toEqual([]);
    // A frame above what the addon copies per connection goes the engine's way, to each but the publisher.
    const big = 'b'.repeat(20 * 1024);
    expect(sockets[5]!.publish('t', big)).toBe(29);
    for (const [i, c] of clients.entries()) {
      const expected = [...(i === 1 ? ['one', 'own', 'two', 'three'] : ['one', 'two', 'three']), ...(i === 5 ? [] : [big])];
      expect(
        (await c.messages.take(expected.length)).map((r) => r.data.toString()),
        `subscriber ${i}`,
      ).toEqual(expected);
    }
    expect(sockets.map((ws) => ws.bufferedAmount)).toEqual(sockets.map(() => 0));
  });
});
