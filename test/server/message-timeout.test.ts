/**
 * messageTimeout: a peer that trickles a frame or a message (each byte well
 * inside idleTimeout) is closed with 1008 once the message has taken longer
 * than messageTimeout; complete messages at the same rate, and big messages
 * that arrive in time, are not.
 */
import { describe, expect, it } from 'vitest';
import type { CloseCause, WebSocket } from '../../src/index.js';
import { closePayload, deferred, frame, Queue, rawConnect, startServer, useCleanup, withTimeout } from '../kit/index.js';

const defer = useCleanup();

interface Closed {
  code: number;
  reason: string;
  cause: CloseCause;
}

/** Short limits for the tests, in milliseconds: a message may take 1 s; silence is allowed 3 s. */
const MESSAGE_TIMEOUT = 1000;
const IDLE_TIMEOUT = 3000;
/** One byte (or one small message) every TRICKLE_MS: far inside the idle timeout. */
const TRICKLE_MS = 150;

async function server() {
  const closed = deferred<Closed>();
  const messages = new Queue<Buffer>();
  const s = await startServer(defer, {
    messageTimeout: MESSAGE_TIMEOUT,
    idleTimeout: IDLE_TIMEOUT,
    sendPings: false,
    closeTimeout: 500,
    message: (_ws, data) => messages.push(Buffer.from(data)),
    close: (_ws, code, reason, cause) => closed.resolve({ code, reason, cause }),
  });
  return { port: s.port, closed, messages };
}

/** Writes the pieces one every TRICKLE_MS (the first at once) until they run out or the test ends. */
function trickle(write: (piece: Buffer) => void, pieces: Buffer[]): void {
  let i = 0;
  write(pieces[i++]!);
  const timer = setInterval(() => {
    if (i < pieces.length) write(pieces[i++]!);
    else clearInterval(timer);
  }, TRICKLE_MS);
  defer(() => clearInterval(timer));
}

const bytesOf = (b: Buffer) => [...b].map((x) => Buffer.from([x]));

describe('messageTimeout', () => {
  const cases: [string, () => Buffer[]][] = [
    // A header announcing 100 bytes, then the payload one byte at a time (15 s in all).
    ['a frame trickled byte by byte', () => bytesOf(frame({ opcode: 2, payload: Buffer.alloc(100, 7), mask: true }))],
    // Every fragment complete, the message never finished: one-byte continuations.
    [
      'a message trickled fragment by fragment',
      () => [
        frame({ opcode: 2, payload: 'a', fin: false, mask: true }),
        ...Array.from({ length: 100 }, () => frame({ opcode: 0, payload: 'b', fin: false, mask: true })),
      ],
    ],
  ];

  for (const [name, pieces] of cases) {
    it(`${name}: closed with 1008 "message timeout" after messageTimeout, cause timeout`, async () => {
      const { port, closed, messages } = await server();
      const raw = await rawConnect(defer, port);
      const started = Date.now();
      trickle((piece) => raw.socket.write(piece), pieces());
      const { frame: close } = await raw.nextOf(8, 4000);
      const elapsed = Date.now() - started;
      expect(closePayload(close.payload)).toEqual({ code: 1008, reason: 'message timeout' });
      expect(elapsed).toBeGreaterThanOrEqual(MESSAGE_TIMEOUT);
      expect(elapsed).toBeLessThan(IDLE_TIMEOUT); // the trickle kept the idle timer from firing
      // The peer cannot answer the close without finishing its frame: the server drops TCP itself.
      await withTimeout(raw.ended, 2000, 'server closing TCP');
      const result = await withTimeout(closed.promise, 2000, 'close callback');
      expect(result.cause.kind).toBe('timeout');
      expect(messages.items).toEqual([]);
    });
  }

  it('complete small messages at the same rate are not closed', async () => {
    const { port, closed, messages } = await server();
    const raw = await rawConnect(defer, port);
    const started = Date.now();
    const count = Math.ceil((2.5 * MESSAGE_TIMEOUT) / TRICKLE_MS);
    trickle(
      (piece) => raw.socket.write(piece),
      Array.from({ length: count }, (_, i) => frame({ opcode: 2, payload: Buffer.from([i]), mask: true })),
    );
    const received = await messages.take(count, 10_000, 'trickled messages');
    expect(Date.now() - started).toBeGreaterThan(2 * MESSAGE_TIMEOUT);
    expect(received.map((b) => b[0])).toEqual(Array.from({ length: count }, (_, i) => i));
    expect(raw.frames.items.filter((f) => f.opcode === 8)).toEqual([]);
    expect(closed.settled).toBe(false);
  });

  it('big messages that arrive steadily, back to back for longer than messageTimeout, are not cut', async () => {
    const { port, closed, messages } = await server();
    const raw = await rawConnect(defer, port);
    const sent = [1, 2, 3].map((n) => Buffer.alloc(64 * 1024, n));
    const stream = Buffer.concat(sent.map((payload) => frame({ opcode: 2, payload, mask: true })));
    // Twelve pieces, one every TRICKLE_MS: about four per message (≈ 0.5 s each, 1.65 s in all); pieces do not
    // line up with frames, so one message's end and the next one's start arrive in the same read.
    const piece = Math.ceil(stream.length / 12) + 5;
    const pieces: Buffer[] = [];
    for (let at = 0; at < stream.length; at += piece) pieces.push(stream.subarray(at, at + piece));
    const started = Date.now();
    trickle((p) => raw.socket.write(p), pieces);
    const received = await messages.take(3, 10_000, 'big messages');
    expect(Date.now() - started).toBeGreaterThan(MESSAGE_TIMEOUT);
    expect(received.map((b, i) => b.equals(sent[i]!))).toEqual([true, true, true]);
    expect(raw.frames.items.filter((f) => f.opcode === 8)).toEqual([]);
    expect(closed.settled).toBe(false);
  });

  it('time while the server has paused reading does not count against the peer', async () => {
    const closed = deferred<Closed>();
    const messages = new Queue<Buffer>();
    const paused = deferred<WebSocket>();
    const s = await startServer(defer, {
      messageTimeout: MESSAGE_TIMEOUT,
      idleTimeout: 0,
      // Paused by the application right after a ping, which arrives in the same read as half a frame.
      ping: (ws) => {
        ws.pause();
        paused.resolve(ws);
      },
      message: (_ws, data) => messages.push(Buffer.from(data)),
      close: (_ws, code, reason, cause) => closed.resolve({ code, reason, cause }),
    });
    const raw = await rawConnect(defer, s.port);
    const whole = frame({ opcode: 2, payload: Buffer.alloc(100, 7), mask: true });
    raw.socket.write(Buffer.concat([frame({ opcode: 9, mask: true }), whole.subarray(0, 50)]));
    const ws = await withTimeout(paused.promise, 2000, 'ping');
    // An absence check needs a window: well past messageTimeout while paused.
    await new Promise((resolve) => setTimeout(resolve, 2.5 * MESSAGE_TIMEOUT));
    expect(raw.frames.items.filter((f) => f.opcode === 8)).toEqual([]);
    expect(closed.settled).toBe(false);
    ws.resume();
    raw.socket.write(whole.subarray(50));
    expect((await messages.next(2000, 'the message')).equals(Buffer.alloc(100, 7))).toBe(true);
  });

  it('messageTimeout: 0 turns it off (only the idle timeout applies)', async () => {
    const closed = deferred<Closed>();
    const s = await startServer(defer, {
      messageTimeout: 0,
      idleTimeout: 1000,
      sendPings: false,
      closeTimeout: 300,
      close: (_ws, code, reason, cause) => closed.resolve({ code, reason, cause }),
    });
    const raw = await rawConnect(defer, s.port);
    // Half a frame, then silence: the idle timeout closes it, with its own reason.
    raw.socket.write(frame({ opcode: 2, payload: Buffer.alloc(100), mask: true }).subarray(0, 50));
    const { frame: close } = await raw.nextOf(8, 4000);
    expect(closePayload(close.payload)).toEqual({ code: 1001, reason: 'idle timeout' });
  });
});
