/**
 * Backpressure: a peer that does not read. Sends report BACKPRESSURE, then
 * DROPPED over maxBackpressure (or close with 1008); bufferedAmount stays
 * bounded; drain fires when the peer reads again; an echoing server stops
 * reading from a peer that sends but does not read.
 */
import { describe, expect, it } from 'vitest';
import { type CloseCause, SendStatus, type WebSocket } from '../../src/index.js';
import { closePayload, deferred, frame, Queue, type RawClient, rawConnect, startServer, useCleanup, withTimeout, wsConnect } from '../kit/index.js';

const defer = useCleanup();

const MiB = 1024 * 1024;
const MAX_BACKPRESSURE = 4 * MiB;
const HEADER = 10; // a 1 MiB unmasked frame's header
const HWM = 16 * 1024; // a socket's default writable high-water mark on Node 20
const nextTick = () => new Promise<void>((resolve) => setImmediate(resolve));

interface SendRecord {
  before: number;
  status: number;
  after: number;
}

/**
 * Sends 1 MiB messages to a peer that has stopped reading, one per
 * event-loop turn (so writes reach the kernel in between), until a send is
 * DROPPED or the connection is no longer open; at most `limit` sends.
 */
async function flood(ws: WebSocket, limit = 200): Promise<SendRecord[]> {
  const payload = Buffer.alloc(MiB, 0x61);
  const records: SendRecord[] = [];
  for (let i = 0; i < limit; i++) {
    const before = ws.bufferedAmount;
    const status = ws.send(payload);
    records.push({ before, status, after: ws.bufferedAmount });
    if (status === SendStatus.DROPPED) break;
    await nextTick();
  }
  return records;
}

/** Reads everything the server sends from now on, counting data bytes; resolves the first close frame. */
function drainClient(raw: RawClient) {
  let bytes = 0;
  const close = deferred<{ code: number; reason: string }>();
  void (async () => {
    for (;;) {
      const f = await raw.frames.next(10_000).catch(() => null);
      if (!f) return;
      if (f.opcode === 8) {
        close.resolve(closePayload(f.payload));
        return;
      }
      bytes += f.payload.length;
    }
  })();
  raw.socket.resume();
  return { close: close.promise, bytes: () => bytes };
}

describe('a peer that stops reading', () => {
  it('BACKPRESSURE, then DROPPED over maxBackpressure; bufferedAmount bounded; drain when the peer reads again', async () => {
    const opened = deferred<WebSocket>();
    const drained = deferred();
    let resumed = false;
    const server = await startServer(defer, {
      maxBackpressure: MAX_BACKPRESSURE,
      open: (ws) => opened.resolve(ws),
      drain: () => {
        if (resumed) drained.resolve();
      },
    });
    const raw = await rawConnect(defer, server.port);
    raw.socket.pause();
    const ws = await withTimeout(opened.promise);

    const records = await withTimeout(flood(ws), 20_000, 'flood');
    const statuses = records.map((r) => r.status);
    expect(statuses).toContain(SendStatus.BACKPRESSURE);
    expect(statuses.at(-1)).toBe(SendStatus.DROPPED);
    expect(statuses.filter((s) => s === SendStatus.DROPPED)).toHaveLength(1);
    // A status reads as "accepted" when truthy: `if (!ws.send(x))` catches exactly the dropped send, never a queued one.
    expect(statuses.map(Boolean)).toEqual(statuses.map((s) => s !== SendStatus.DROPPED));
    const dropped = records.at(-1)!;
    expect(dropped.before).toBeGreaterThan(MAX_BACKPRESSURE);
    expect(dropped.after).toBe(dropped.before); // nothing was queued
    // Every accepted send happened at or under the limit, so the buffer never exceeds it by more than one message.
    for (const r of records.slice(0, -1)) expect(r.before).toBeLessThanOrEqual(MAX_BACKPRESSURE);
    expect(Math.max(...records.map((r) => r.after))).toBeLessThanOrEqual(MAX_BACKPRESSURE + MiB + HEADER);
    // BACKPRESSURE is reported whenever more than the socket's high-water mark is waiting.
    for (const r of records.slice(0, -1)) {
      expect(r.status).toBe(r.after > HWM ? SendStatus.BACKPRESSURE : SendStatus.SENT);
    }

    resumed = true;
    drainClient(raw);
    await withTimeout(drained.promise, 10_000, 'drain callback');
    expect(ws.bufferedAmount).toBeLessThanOrEqual(HWM);
    expect(ws.send('after drain')).toBe(SendStatus.SENT);
    expect(ws.readyState).toBe(1);
  });

  it('closeOnBackpressureLimit: the connection is closed with 1008 instead', async () => {
    const opened = deferred<WebSocket>();
    const closed = deferred<{ code: number; cause: CloseCause }>();
    const server = await startServer(defer, {
      maxBackpressure: MAX_BACKPRESSURE,
      closeOnBackpressureLimit: true,
      open: (ws) => opened.resolve(ws),
      close: (_ws, code, _reason, cause) => closed.resolve({ code, cause }),
    });
    const raw = await rawConnect(defer, server.port);
    raw.socket.pause();
    const ws = await withTimeout(opened.promise);
    const records = await withTimeout(flood(ws), 20_000, 'flood');
    expect(records.at(-1)!.status).toBe(SendStatus.DROPPED);
    expect(records.at(-1)!.before).toBeGreaterThan(MAX_BACKPRESSURE);
    expect(ws.readyState).toBe(2); // CLOSING
    expect(ws.send('x')).toBe(SendStatus.DROPPED);

    const reader = drainClient(raw);
    const frameClose = await withTimeout(reader.close, 10_000, 'close frame');
    expect(frameClose.code).toBe(1008);
    // Everything accepted before the limit was delivered ahead of the close frame.
    expect(reader.bytes()).toBe((records.length - 1) * MiB);
    raw.sendClose(1008);
    const result = await withTimeout(closed.promise, 5000, 'server close callback');
    expect(result.code).toBe(1008);
    expect(result.cause.kind).toBe('local');
  });
});

describe('a peer that reads', () => {
  it('every BACKPRESSURE is followed by a drain callback', async () => {
    const drains = new Queue<number>();
    const statuses = deferred<number[]>();
    const server = await startServer(defer, {
      open: (ws) => {
        const out = [ws.send('small'), ws.send(Buffer.alloc(MiB))];
        statuses.resolve(out);
      },
      drain: (ws) => drains.push(ws.bufferedAmount),
    });
    const { messages } = await wsConnect(defer, `ws://127.0.0.1:${server.port}/`);
    expect(await withTimeout(statuses.promise)).toEqual([SendStatus.SENT, SendStatus.BACKPRESSURE]);
    expect(await drains.next(5000, 'drain')).toBeLessThanOrEqual(HWM);
    expect((await messages.take(2)).map((m) => m.data.length)).toEqual([5, MiB]);
  });

  it('many small sends in one tick: BACKPRESSURE once past 16 KiB, then drain', async () => {
    const drains = new Queue<number>();
    const statuses = deferred<number[]>();
    const server = await startServer(defer, {
      open: (ws) => statuses.resolve(Array.from({ length: 200 }, (_, i) => ws.send(Buffer.alloc(200, i)))),
      drain: (ws) => drains.push(ws.bufferedAmount),
    });
    const { messages } = await wsConnect(defer, `ws://127.0.0.1:${server.port}/`);
    const got = await withTimeout(statuses.promise);
    const first = got.indexOf(SendStatus.BACKPRESSURE);
    expect(first).toBeGreaterThan(0);
    expect(got.slice(0, first).every((x) => x === SendStatus.SENT)).toBe(true);
    expect(got.slice(first).every((x) => x === SendStatus.BACKPRESSURE)).toBe(true);
    // Frames are 204 bytes (a 4-byte header: 200 needs the 16-bit length); BACKPRESSURE starts with the
    // send that takes bufferedAmount past the high-water mark.
    expect(first * 204).toBeLessThanOrEqual(HWM);
    expect((first + 1) * 204).toBeGreaterThan(HWM);
    // Everything arrives; by then the socket has long written it all, so the drain callback is due.
    expect((await messages.take(200)).every((m, i) => m.data.equals(Buffer.alloc(200, i)))).toBe(true);
    await drains.next(3000, 'drain callback');
  });
});

describe('a peer that sends but never reads', () => {
  it('the echoing server stops reading: its bufferedAmount stays bounded and nothing is lost', async () => {
    const LIMIT = 2 * MiB;
    const COUNT = 32;
    const opened = deferred<WebSocket>();
    const paused = deferred<number>();
    const echoStatuses: number[] = [];
    let maxBuffered = 0;
    let received = 0;
    const server = await startServer(defer, {
      maxBackpressure: LIMIT,
      open: (ws) => opened.resolve(ws),
      message: (ws, data) => {
        received++;
        maxBuffered = Math.max(maxBuffered, ws.bufferedAmount);
        echoStatuses.push(ws.send(data));
        maxBuffered = Math.max(maxBuffered, ws.bufferedAmount);
        // The read pause is taken after this chunk is processed: look once the callback has returned.
        setImmediate(() => {
          if (ws.isPaused && !paused.settled) paused.resolve(received);
        });
      },
    });
    const raw = await rawConnect(defer, server.port);
    raw.socket.pause();
    const ws = await withTimeout(opened.promise);

    // Messages numbered in their first 4 bytes; written all at once (the socket queues what the kernel does not take).
    const frames: Buffer[] = [];
    for (let i = 0; i < COUNT; i++) {
      const payload = Buffer.alloc(MiB, i);
      payload.writeUInt32BE(i, 0);
      frames.push(frame({ opcode: 2, payload, mask: true }));
    }
    for (const f of frames) raw.socket.write(f);

    const receivedWhenPaused = await withTimeout(paused.promise, 20_000, 'server pausing its reads');
    expect(receivedWhenPaused).toBeLessThan(COUNT);
    expect(ws.bufferedAmount).toBeGreaterThan(LIMIT);
    expect(maxBuffered).toBeLessThanOrEqual(LIMIT + MiB + HEADER);

    // The client reads again: every message comes back, in order, and the server never buffered more than the bound.
    const order: number[] = [];
    raw.socket.resume();
    for (let i = 0; i < COUNT; i++) {
      const f = await raw.frames.next(10_000, `echo ${i}`);
      expect(f.payload.length).toBe(MiB);
      order.push(f.payload.readUInt32BE(0));
    }
    expect(order).toEqual(Array.from({ length: COUNT }, (_, i) => i));
    expect(received).toBe(COUNT);
    expect(echoStatuses.includes(SendStatus.DROPPED)).toBe(false);
    expect(maxBuffered).toBeLessThanOrEqual(LIMIT + MiB + HEADER);
    expect(ws.isPaused).toBe(false);
  });
});
