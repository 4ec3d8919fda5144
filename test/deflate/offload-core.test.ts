/**
 * The sans-I/O side of offloaded zlib work: the core pauses input on a
 * message to be inflated off the main thread and replays what followed once
 * resumeInflated() hands the result back; sends behind a message being
 * compressed off the main thread wait in order (pings and pongs go ahead).
 * The "driver" here is the test: it runs the job synchronously when told to.
 */
import { describe, expect, it } from 'vitest';
import { Protocol, type WsboltError } from '../../src/core/index.js';
import type { DeflateOptions, DeflateParams } from '../../src/extensions/negotiation.js';
import { PerMessageDeflate } from '../../src/extensions/permessage-deflate.js';
import { type Event, frame, parseFrames, rng } from '../kit/index.js';
import { compressible } from './util.js';

const M = { mask: true } as const;
const hex = (b: Buffer | string) => Buffer.from(b).toString('hex');
const stateless: DeflateParams = { serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 15, clientMaxWindowBits: 15 };

/** A core with both offload hooks; jobs are recorded, and run by the test. */
function offloading(role: 'server' | 'client', deflateOptions: DeflateOptions = { asyncThreshold: 1000 }, params = stateless, maxPayload?: number) {
  const events: Event[] = [];
  const inflates: { compressed: Buffer; isBinary: boolean }[] = [];
  const deflates: (Buffer | string)[] = [];
  const codec = new PerMessageDeflate(params, role, deflateOptions);
  const protocol = new Protocol(
    { role, deflate: codec, ...(maxPayload !== undefined ? { maxPayload } : {}) },
    {
      onMessage: (data, binary) => events.push({ type: 'message', data: data.toString('hex'), binary }),
      onPing: (data) => events.push({ type: 'ping', data: data.toString('hex') }),
      onPong: (data) => events.push({ type: 'pong', data: data.toString('hex') }),
      onCloseFrame: (code, reason) => events.push({ type: 'close', code, reason }),
      onProtocolError: (error: WsboltError) => events.push({ type: 'error', code: String(error.code), closeCode: error.closeCode }),
      onInflateNeeded: (compressed, isBinary) => inflates.push({ compressed: Buffer.from(compressed), isBinary }),
      onDeflateNeeded: (data) => deflates.push(data),
    },
  );
  /** Runs waiting inflate jobs (one at a time, as a driver would) until none is left. */
  const drainInflates = (limit = maxPayload ?? 100 * 1024 * 1024) => {
    let runs = 0;
    while (inflates.length > 0) {
      const job = inflates.shift()!;
      runs++;
      protocol.resumeInflated(codec.inflate(job.compressed, limit) as Buffer);
    }
    return runs;
  };
  return { protocol, events, inflates, deflates, codec, drainInflates };
}

const peer = new PerMessageDeflate(stateless, 'client');
const g = rng(0x5eed);
/** Incompressible, so its compressed form is above asyncThreshold (1000) too. */
const big = g.bytes(3000);
const bigCompressed = peer.compress(big);

describe('receive: input pauses on a message inflated off the main thread', () => {
  const stream = Buffer.concat([
    frame({ opcode: 1, payload: 'before', ...M }),
    frame({ opcode: 2, payload: bigCompressed, rsv: 0x40, ...M }),
    frame({ opcode: 9, payload: 'ping', ...M }),
    frame({ opcode: 1, payload: peer.compress('small, inflated inline'), rsv: 0x40, ...M }),
    frame({ opcode: 1, payload: 'plain', fin: false, ...M }),
    frame({ opcode: 0, payload: ' text', ...M }),
    frame({ opcode: 2, payload: bigCompressed, rsv: 0x40, ...M }),
    frame({ opcode: 8, payload: Buffer.from([0x03, 0xe8]), ...M }),
    frame({ opcode: 1, payload: 'after the close: ignored', ...M }),
  ]);
  const expected: Event[] = [
    { type: 'message', data: hex('before'), binary: false },
    { type: 'message', data: hex(big), binary: true },
    { type: 'ping', data: hex('ping') },
    { type: 'message', data: hex('small, inflated inline'), binary: false },
    { type: 'message', data: hex('plain text'), binary: false },
    { type: 'message', data: hex(big), binary: true },
    { type: 'close', code: 1000, reason: '' },
  ];

  it('nothing after the paused message is delivered (pings and the close included) until its result is back', () => {
    const r = offloading('server');
    r.protocol.receive(Buffer.from(stream));
    expect(r.events).toEqual(expected.slice(0, 1));
    expect(r.inflates).toHaveLength(1);
    expect(r.protocol.waitingForInflate).toBe(true);
    expect(r.protocol.dataToSend()).toEqual([]); // no pong yet: the ping was not read
    // More input while paused waits too.
    r.protocol.receive(Buffer.from(frame({ opcode: 1, payload: 'later', ...M })));
    expect(r.protocol.bufferedInput).toBeGreaterThan(stream.length / 2);
    r.protocol.resumeInflated(r.codec.inflate(r.inflates.shift()!.compressed, 1e9) as Buffer);
    expect(r.events).toEqual(expected.slice(0, 5));
    expect(r.inflates).toHaveLength(1);
    expect(parseFrames(r.protocol.dataToSend()).map((f) => f.opcode)).toEqual([10]);
    expect(r.drainInflates()).toBe(1);
    expect(r.events).toEqual(expected);
    expect(r.protocol.waitingForInflate).toBe(false);
  });

  it.each([
    ['whole', [] as number[]],
    ['split inside the compressed frame', [20, 1500]],
    ['split inside headers and payloads', [1, 3, 7, 3010, 3013, 3020, 3040, 3100]],
    ['in 97-byte pieces', Array.from({ length: Math.floor(stream.length / 97) }, (_, i) => (i + 1) * 97)],
    ['byte by byte', Array.from({ length: stream.length - 1 }, (_, i) => i + 1)],
  ])('the same events in the same order however the bytes arrive (%s)', (_what, splits) => {
    const r = offloading('server');
    let last = 0;
    for (const at of [...splits, stream.length]) {
      r.protocol.receive(Buffer.from(stream.subarray(last, at)));
      last = at;
      // The driver answers as soon as it is asked (between reads), as a fast thread pool would.
      if (at % 2 === 0) r.drainInflates();
    }
    r.drainInflates();
    expect(r.events).toEqual(expected);
  });

  it('more frames after the paused one than one scan holds (already unmasked frames are not scanned again)', () => {
    const r = offloading('server');
    const tail = Array.from({ length: 1500 }, (_, i) => frame({ opcode: 1, payload: `#${i} ✓`, ...M }));
    r.protocol.receive(
      Buffer.concat([
        frame({ opcode: 2, payload: bigCompressed, rsv: 0x40, ...M }),
        ...tail,
        frame({ opcode: 2, payload: bigCompressed, rsv: 0x40, ...M }),
        ...tail,
      ]),
    );
    expect(r.events).toEqual([]);
    expect(r.drainInflates()).toBe(2);
    const texts = Array.from({ length: 1500 }, (_, i) => ({ type: 'message', data: hex(`#${i} ✓`), binary: false }));
    expect(r.events).toEqual([{ type: 'message', data: hex(big), binary: true }, ...texts, { type: 'message', data: hex(big), binary: true }, ...texts]);
  });

  it('a client (unmasked frames) pauses the same way', () => {
    const r = offloading('client');
    r.protocol.receive(Buffer.concat([frame({ opcode: 2, payload: bigCompressed, rsv: 0x40 }), frame({ opcode: 1, payload: 'next' })]));
    expect(r.events).toEqual([]);
    r.drainInflates();
    expect(r.events).toEqual([
      { type: 'message', data: hex(big), binary: true },
      { type: 'message', data: hex('next'), binary: false },
    ]);
  });

  it('the bomb on the offloaded path: 1009, nothing after it is read', () => {
    const r = offloading('server', { asyncThreshold: 1000 }, stateless, 64 * 1024);
    const bomb = peer.compress(Buffer.alloc(8 * 1024 * 1024));
    r.protocol.receive(Buffer.concat([frame({ opcode: 2, payload: bomb, rsv: 0x40, ...M }), frame({ opcode: 1, payload: 'next', ...M })]));
    // Its compressed form (8 KiB) is above asyncThreshold: offloaded.
    expect(r.inflates).toHaveLength(1);
    r.protocol.resumeInflated('too-big');
    expect(r.events).toEqual([{ type: 'error', code: 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH', closeCode: 1009 }]);
    expect(parseFrames(r.protocol.dataToSend()).map((f) => [f.opcode, f.payload.readUInt16BE(0)])).toEqual([[8, 1009]]);
  });

  it('a small input that inflates past 16 × asyncThreshold is redone off the main thread, not delivered inline', () => {
    const r = offloading('server', { asyncThreshold: 1000 });
    const zeros = Buffer.alloc(100_000);
    const small = peer.compress(zeros);
    expect(small.length).toBeLessThan(1000);
    r.protocol.receive(frame({ opcode: 2, payload: small, rsv: 0x40, ...M }));
    expect(r.inflates).toHaveLength(1);
    r.drainInflates();
    expect(r.events).toEqual([{ type: 'message', data: hex(zeros), binary: true }]);
  });

  it.each([
    ['corrupt data', { zlibError: new Error('invalid block type') }, 'WS_ERR_INVALID_COMPRESSED_DATA', 1007],
    ['too big', 'too-big', 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH', 1009],
  ] as const)('an offloaded result of %s fails the connection', (_what, result, code, closeCode) => {
    const r = offloading('server');
    r.protocol.receive(frame({ opcode: 2, payload: bigCompressed, rsv: 0x40, ...M }));
    r.protocol.resumeInflated(result);
    expect(r.events).toEqual([{ type: 'error', code, closeCode }]);
  });

  it('offloaded text is checked for UTF-8 after inflating', () => {
    const r = offloading('server', { asyncThreshold: 0 });
    r.protocol.receive(frame({ opcode: 1, payload: peer.compress(Buffer.from([0x61, 0xff])), rsv: 0x40, ...M }));
    r.drainInflates();
    expect(r.events).toEqual([{ type: 'error', code: 'WS_ERR_INVALID_UTF8', closeCode: 1007 }]);
  });

  it('EOF while waiting: the late result is ignored', () => {
    const r = offloading('server');
    r.protocol.receive(Buffer.concat([frame({ opcode: 2, payload: bigCompressed, rsv: 0x40, ...M }), frame({ opcode: 1, payload: 'x', ...M })]));
    r.protocol.receiveEof();
    r.drainInflates();
    expect(r.events).toEqual([]);
    expect(r.protocol.waitingForInflate).toBe(false);
  });

  it('without the hooks everything is inline, as before', () => {
    const events: unknown[] = [];
    const p = new Protocol(
      { role: 'server', deflate: new PerMessageDeflate(stateless, 'server', { asyncThreshold: 0 }) },
      {
        onMessage: (data) => events.push(data.length),
        onPing: () => {},
        onPong: () => {},
        onCloseFrame: () => {},
        onProtocolError: () => {},
      },
    );
    p.receive(frame({ opcode: 2, payload: bigCompressed, rsv: 0x40, ...M }));
    expect(events).toEqual([3000]);
  });

  it('context takeover without the hooks is refused at construction (it cannot run inline)', () => {
    const params: DeflateParams = { ...stateless, clientNoContextTakeover: false };
    const handler = { onMessage() {}, onPing() {}, onPong() {}, onCloseFrame() {}, onProtocolError() {} };
    expect(() => new Protocol({ role: 'server', deflate: new PerMessageDeflate(params, 'server') }, handler)).toThrow(
      expect.objectContaining({ code: 'ERR_DEFLATE_NEEDS_DRIVER' }),
    );
  });
});

describe('send: later sends wait behind a message compressed off the main thread', () => {
  const large = compressible(5000, 1);

  it('data, published frames and the close keep call order; pings go ahead; held bytes count as pending', () => {
    const r = offloading('server', { asyncThreshold: 3000 });
    r.protocol.send('first', false);
    r.protocol.send(large, true); // 5000 ≥ asyncThreshold (3000): offloaded
    expect(r.deflates).toEqual([large]);
    r.protocol.send('second', false);
    r.protocol.send(compressible(2000, 2), false); // compressible inline, but behind the large one
    r.protocol.sendRaw([frame({ opcode: 1, payload: 'raw' })]);
    r.protocol.ping('p');
    r.protocol.close(1000, 'bye');
    expect(r.protocol.pendingOutputBytes).toBeGreaterThan(5000 + 2000);
    expect(r.protocol.shouldCloseTransport()).toBe(false);
    // Only what was before the large message, and the ping, are framed so far.
    expect(parseFrames(r.protocol.dataToSend()).map((f) => f.opcode)).toEqual([1, 9]);
    r.protocol.resumeCompressed(r.codec.compress(r.deflates.shift()!));
    const frames = parseFrames(r.protocol.dataToSend());
    expect(frames.map((f) => [f.opcode, f.rsv1])).toEqual([
      [2, true],
      [1, false],
      [1, true],
      [1, false],
      [8, false],
    ]);
    expect(peer.inflate(frames[0]!.payload, 1e6)).toEqual(large);
    expect(frames[1]!.payload.toString()).toBe('second');
    expect((peer.inflate(frames[2]!.payload, 1e6) as Buffer).toString()).toBe(compressible(2000, 2).toString());
    expect(frames[3]!.payload.toString()).toBe('raw');
    expect(frames[4]!.payload.readUInt16BE(0)).toBe(1000);
    expect(r.protocol.pendingOutputBytes).toBe(0);
    expect(r.protocol.waitingForDeflate).toBe(false);
  });

  it('two large messages: the second is asked for only after the first is back', () => {
    const r = offloading('client');
    r.protocol.send(large, true);
    r.protocol.send(compressible(6000, 3), true);
    r.protocol.send('tail', false);
    expect(r.deflates).toHaveLength(1);
    r.protocol.resumeCompressed(r.codec.compress(r.deflates.shift()!));
    expect(r.deflates).toHaveLength(1);
    r.protocol.resumeCompressed(r.codec.compress(r.deflates.shift()!));
    const frames = parseFrames(r.protocol.dataToSend());
    expect(frames.map((f) => [f.opcode, f.rsv1, f.masked])).toEqual([
      [2, true, true],
      [2, true, true],
      [1, false, true],
    ]);
  });

  it('a failure while sends wait: they are dropped, the close goes out at once, the late result is ignored', () => {
    const r = offloading('server');
    r.protocol.send(large, true);
    r.protocol.send('held', false);
    r.protocol.receive(frame({ opcode: 1, payload: 'unmasked: a protocol error' }));
    expect(r.events).toEqual([{ type: 'error', code: 'WS_ERR_EXPECTED_MASK', closeCode: 1002 }]);
    expect(r.protocol.pendingOutputBytes).toBeLessThan(100);
    r.protocol.resumeCompressed(r.codec.compress(r.deflates.shift()!));
    expect(parseFrames(r.protocol.dataToSend()).map((f) => f.opcode)).toEqual([8]);
  });

  it('the peer closes while our data waits: the echoed close follows it, and TCP is not ended before', () => {
    const r = offloading('server');
    r.protocol.send(large, true);
    r.protocol.receive(frame({ opcode: 8, payload: Buffer.from([0x03, 0xe8]), ...M }));
    expect(r.protocol.shouldCloseTransport()).toBe(false);
    expect(r.protocol.dataToSend()).toEqual([]);
    r.protocol.resumeCompressed(r.codec.compress(r.deflates.shift()!));
    expect(parseFrames(r.protocol.dataToSend()).map((f) => f.opcode)).toEqual([2, 8]);
    expect(r.protocol.shouldCloseTransport()).toBe(true);
  });
});
