/**
 * The permessage-deflate codec and its use by the core (RFC 7692 §6, §7.2):
 * round trips, the decompression bomb, the receive-side failures with their
 * close codes, compressed fragmented messages, and what goes out (threshold,
 * per-send compress, frames any inflater can read).
 */
import * as net from 'node:net';
import * as zlib from 'node:zlib';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import type { DeflateParams } from '../../src/extensions/negotiation.js';
import { PerMessageDeflate } from '../../src/extensions/permessage-deflate.js';
import { type CloseCause, type WebSocket } from '../../src/index.js';
import { acceptFor, frame, HOST, parseFrames, protocolRecorder, Queue, rng, sentCloseCode, startServer, useCleanup, withTimeout } from '../kit/index.js';
import { compressible, TAIL } from './util.js';

/*
 * node:zlib seen through a pass-through wrapper that records how the codec
 * calls inflateRawSync: the options bound what zlib may produce (Node stops
 * one output chunk past maxOutputLength), which is how the bomb test knows
 * the inflater never got near 100 MiB.
 */
const inflateCalls = vi.hoisted(() => [] as { maxOutputLength: number | undefined; chunkSize: number | undefined; result: number | string }[]);
vi.mock('node:zlib', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:zlib')>();
  const inflateRawSync = (input: zlib.InputType, options?: zlib.ZlibOptions) => {
    const call = { maxOutputLength: options?.maxOutputLength, chunkSize: options?.chunkSize, result: 0 as number | string };
    inflateCalls.push(call);
    try {
      const out = actual.inflateRawSync(input, options);
      call.result = out.length;
      return out;
    } catch (error) {
      call.result = String((error as { code?: string }).code ?? 'error');
      throw error;
    }
  };
  return { ...actual, default: { ...actual, inflateRawSync }, inflateRawSync };
});

const defer = useCleanup();
const M = { mask: true } as const; // what a client sends
const KiB = 1024;
const MiB = 1024 * 1024;

const params = (bits = 15): DeflateParams => ({
  serverNoContextTakeover: true,
  clientNoContextTakeover: true,
  serverMaxWindowBits: bits,
  clientMaxWindowBits: bits,
});
const codec = (options = {}, bits = 15, role: 'server' | 'client' = 'server') => new PerMessageDeflate(params(bits), role, options);
const hex = (b: Buffer | string) => Buffer.from(b).toString('hex');
/** Independent decoder: Node's zlib on payload + 00 00 ff ff, as RFC 7692 §7.2.2 says. */
const zinflate = (payload: Buffer, windowBits = 15) =>
  zlib.inflateRawSync(Buffer.concat([payload, TAIL]), { windowBits, finishFlush: zlib.constants.Z_SYNC_FLUSH });

function deflating(role: 'server' | 'client', options: Record<string, unknown> = {}, deflateOptions = {}) {
  return protocolRecorder(role, { deflate: new PerMessageDeflate(params(), role, deflateOptions), ...options });
}

function failure(r: ReturnType<typeof protocolRecorder>) {
  return { error: r.events.find((e) => e.type === 'error'), sent: sentCloseCode(r.protocol.dataToSend()) };
}

describe('codec round trips', () => {
  const sizes = [1, 2, 10, 100, 1000, 1023, 1024, 1025, 4096, 16 * KiB - 1, 16 * KiB, 16 * KiB + 1, 64 * KiB - 1, 64 * KiB, 64 * KiB + 1, 300_000, MiB + 7];
  const r = rng(0xdeadbeef);

  it.each(sizes)('random data, %i bytes', (size) => {
    const c = codec();
    const data = r.bytes(size);
    const compressed = c.compress(data);
    expect(compressed.subarray(-4).equals(TAIL)).toBe(false);
    expect(zinflate(compressed).equals(data)).toBe(true);
    const out = c.inflate(compressed, size);
    expect(Buffer.isBuffer(out) && out.equals(data)).toBe(true);
    expect(c.inflate(compressed, size - 1)).toBe('too-big');
  });

  it.each(sizes)('compressible data, %i bytes', (size) => {
    const c = codec();
    const data = compressible(size, size);
    const compressed = c.compress(data);
    expect(compressed.subarray(-4).equals(TAIL)).toBe(false);
    if (size >= 1024) expect(compressed.length).toBeLessThan(size / 4);
    expect(zinflate(compressed).equals(data)).toBe(true);
    const out = c.inflate(compressed, size);
    expect(Buffer.isBuffer(out) && out.equals(data)).toBe(true);
    expect(c.inflate(compressed, size - 1)).toBe('too-big');
  });

  it('strings are compressed as UTF-8', () => {
    const text = 'héllo ✓ 𝄞 '.repeat(500);
    const out = codec().inflate(codec().compress(text), 1 * MiB);
    expect(Buffer.isBuffer(out) && out.toString()).toBe(text);
  });

  it('many random sizes and contents (seeded)', () => {
    const c = codec();
    const g = rng(42);
    for (let i = 0; i < 150; i++) {
      const size = g.int(g.chance(0.2) ? 200_000 : 3000);
      const data = g.chance(0.5) ? g.bytes(size) : compressible(size, i);
      const out = c.inflate(c.compress(data), size);
      expect(Buffer.isBuffer(out) && out.equals(data), `#${i}: ${size} bytes`).toBe(true);
    }
  });

  it.each([8, 9, 10, 11, 12, 13, 14, 15])('window bits %i: the peer can inflate with that window', (bits) => {
    for (const role of ['server', 'client'] as const) {
      const c = codec({}, bits, role);
      expect(c.sendWindowBits).toBe(Math.max(9, bits));
      const data = Buffer.concat([compressible(100 * KiB, bits), r.bytes(10 * KiB), compressible(50 * KiB, 99)]);
      const compressed = c.compress(data);
      expect(zinflate(compressed, Math.max(9, bits)).equals(data)).toBe(true);
      const out = c.inflate(compressed, data.length);
      expect(Buffer.isBuffer(out) && out.equals(data)).toBe(true);
    }
  });

  it('the window is the one agreed for our own direction', () => {
    const p: DeflateParams = { serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 10, clientMaxWindowBits: 12 };
    expect(new PerMessageDeflate(p, 'server').sendWindowBits).toBe(10);
    expect(new PerMessageDeflate(p, 'client').sendWindowBits).toBe(12);
  });

  it.each([0, 1, 6, 9])('level %i round-trips', (level) => {
    const data = compressible(200 * KiB, level);
    const c = codec({ level, memLevel: level === 0 ? 1 : 9 });
    const out = c.inflate(c.compress(data), data.length);
    expect(Buffer.isBuffer(out) && out.equals(data)).toBe(true);
  });

  it('the empty message', () => {
    const c = codec();
    const compressed = c.compress(Buffer.alloc(0));
    expect(compressed.length).toBeLessThanOrEqual(2); // §7.2.3.6: a single 0x00 is typical
    expect(c.inflate(compressed, 0)).toEqual(Buffer.alloc(0));
    expect(c.compress('').equals(compressed)).toBe(true);
    expect(c.inflate(Buffer.alloc(0), 0)).toEqual(Buffer.alloc(0));
    expect(c.inflate(Buffer.from([0x00]), 0)).toEqual(Buffer.alloc(0));
    expect(c.inflate(Buffer.from([0x00]), 1000)).toEqual(Buffer.alloc(0));
  });

  it.each([
    ['§7.2.3.1 a message compressed with one block', 'f248cdc9c90700'],
    ['§7.2.3.3 a block with no compression', '000500faff48656c6c6f00'],
    ['§7.2.3.4 a block with BFINAL set', 'f348cdc9c9070000'],
    ['§7.2.3.5 two blocks in one message', 'f24805000000ffffcac9c90700'],
  ])('RFC 7692 %s inflates to "Hello"', (_what, payload) => {
    const out = codec().inflate(Buffer.from(payload, 'hex'), 100);
    expect(Buffer.isBuffer(out) && out.toString()).toBe('Hello');
  });

  it('invalid DEFLATE data → "invalid"', () => {
    const c = codec();
    // BTYPE 11 is reserved; zlib's own error is kept (ws passes it on).
    expect(c.inflate(Buffer.from([0xff, 0xff, 0xff, 0xff]), MiB)).toMatchObject({ zlibError: { code: 'Z_DATA_ERROR', errno: -3 } });
    expect(c.inflate(Buffer.from('000500000048656c6c6f', 'hex'), MiB)).toMatchObject({ zlibError: { code: 'Z_DATA_ERROR' } }); // stored block with a bad NLEN
    const g = rng(7);
    let invalid = 0;
    for (let i = 0; i < 100; i++) {
      const out = c.inflate(g.bytes(64), MiB);
      expect(out !== 'too-big').toBe(true); // never throws, never 'too-big' for 64 random bytes
      if (!Buffer.isBuffer(out)) invalid++;
    }
    expect(invalid).toBeGreaterThan(50);
  });
});

describe('the decompression bomb and the inflate limit', () => {
  let bomb: Buffer;
  const LIMIT = MiB;

  beforeAll(async () => {
    // 100 MiB of zeros, deflated in 1 MiB pieces (never holding 100 MiB), flushed as a sender would.
    const deflate = zlib.createDeflateRaw({ level: 9 });
    const chunks: Buffer[] = [];
    deflate.on('data', (c: Buffer) => chunks.push(c));
    const zeros = Buffer.alloc(MiB);
    for (let i = 0; i < 100; i++) deflate.write(zeros);
    await new Promise<void>((resolve) => deflate.flush(zlib.constants.Z_SYNC_FLUSH, () => resolve()));
    deflate.close();
    const all = Buffer.concat(chunks);
    expect(all.subarray(-4).equals(TAIL)).toBe(true);
    bomb = all.subarray(0, all.length - 4);
  });

  it('is about 100 KiB for 100 MiB', () => {
    expect(bomb.length).toBeGreaterThan(90 * KiB);
    expect(bomb.length).toBeLessThan(120 * KiB);
  });

  it('codec.inflate stops one chunk past the limit: "too-big", quickly, without the memory', () => {
    const c = codec();
    inflateCalls.length = 0;
    const rss = process.memoryUsage().rss;
    let bounded = Infinity;
    for (let i = 0; i < 3; i++) {
      // The fastest of three, so that a pause of a loaded machine does not count.
      const start = performance.now();
      expect(c.inflate(bomb, LIMIT)).toBe('too-big');
      bounded = Math.min(bounded, performance.now() - start);
    }
    const grown = process.memoryUsage().rss - rss;
    expect(grown).toBeLessThan(32 * MiB);
    // zlib was told to stop past the limit, and its output chunks are small: at most limit + one chunk (≤ 64 KiB) was produced.
    expect(inflateCalls).toHaveLength(3);
    for (const call of inflateCalls) {
      expect(call.maxOutputLength).toBeLessThanOrEqual(LIMIT + 1);
      expect(call.chunkSize ?? zlib.constants.Z_DEFAULT_CHUNK).toBeLessThanOrEqual(64 * KiB);
      expect(call.result).toBe('ERR_BUFFER_TOO_LARGE');
    }
    // Inflating it all takes far longer (and 100 MiB): compared, not absolute, so a loaded machine does not matter.
    const fullStart = performance.now();
    const full = c.inflate(bomb, 101 * MiB);
    const unbounded = performance.now() - fullStart;
    expect(Buffer.isBuffer(full) && full.length).toBe(100 * MiB);
    expect(bounded * 4).toBeLessThan(unbounded);
  });

  it.each([
    ['binary', 2],
    ['text', 1],
  ])('sent to a server with maxPayload 1 MiB (%s) → 1009, nothing delivered, memory bounded', (_kind, opcode) => {
    const s = deflating('server', { maxPayload: LIMIT });
    const bytes = frame({ opcode, payload: bomb, rsv: 0x40, ...M });
    inflateCalls.length = 0;
    const rss = process.memoryUsage().rss;
    s.protocol.receive(bytes);
    expect(process.memoryUsage().rss - rss).toBeLessThan(32 * MiB);
    expect(s.events).toEqual([{ type: 'error', code: 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH', closeCode: 1009 }]);
    expect(sentCloseCode(s.protocol.dataToSend())).toBe(1009);
    expect(inflateCalls.map((c) => c.maxOutputLength)).toEqual([LIMIT]);
    // Input after the failure is ignored.
    s.protocol.receive(frame({ opcode: 1, payload: 'more', ...M }));
    expect(s.events).toHaveLength(1);
  });

  it('sent in fragments → 1009 as well', () => {
    const s = deflating('server', { maxPayload: LIMIT });
    const third = Math.ceil(bomb.length / 3);
    s.protocol.receive(
      Buffer.concat([
        frame({ opcode: 2, payload: bomb.subarray(0, third), rsv: 0x40, fin: false, ...M }),
        frame({ opcode: 0, payload: bomb.subarray(third, 2 * third), fin: false, ...M }),
        frame({ opcode: 0, payload: bomb.subarray(2 * third), ...M }),
      ]),
    );
    expect(s.events).toEqual([{ type: 'error', code: 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH', closeCode: 1009 }]);
  });

  it('the limit itself: exactly maxPayload inflated is delivered, one byte more is 1009', () => {
    const c = codec();
    const exact = c.compress(Buffer.alloc(LIMIT, 0x61));
    const over = c.compress(Buffer.alloc(LIMIT + 1, 0x61));
    const ok = deflating('server', { maxPayload: LIMIT });
    ok.protocol.receive(frame({ opcode: 2, payload: exact, rsv: 0x40, ...M }));
    expect(ok.events).toHaveLength(1);
    expect(ok.events[0]).toMatchObject({ type: 'message', binary: true });
    expect((ok.events[0] as { data: string }).data.length).toBe(2 * LIMIT);
    const bad = deflating('server', { maxPayload: LIMIT });
    bad.protocol.receive(frame({ opcode: 2, payload: over, rsv: 0x40, ...M }));
    expect(bad.events).toEqual([{ type: 'error', code: 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH', closeCode: 1009 }]);
  });

  it.each([
    ['8 GiB', 8 * 1024 * MiB],
    ['Number.MAX_SAFE_INTEGER', Number.MAX_SAFE_INTEGER],
    ['Infinity', Infinity],
  ])('a maxPayload of %s (above the largest Buffer): compressed messages still inflate', (_what, maxPayload) => {
    const c = codec();
    const compressed = c.compress('hello hello hello');
    // Uncompressed messages are accepted under such a limit; compressed ones must be too, not failed as invalid data.
    const out = c.inflate(compressed, maxPayload);
    expect(Buffer.isBuffer(out) ? out.toString() : out).toBe('hello hello hello');
    const r = deflating('server', { maxPayload });
    r.protocol.receive(frame({ opcode: 1, payload: 'plain', ...M }));
    r.protocol.receive(frame({ opcode: 1, payload: compressed, rsv: 0x40, ...M }));
    expect(r.events).toEqual([
      { type: 'message', data: hex('plain'), binary: false },
      { type: 'message', data: hex('hello hello hello'), binary: false },
    ]);
  });

  it('over a socket: our server (maxPayload 1 MiB) closes with 1009', async () => {
    const closes = new Queue<{ code: number; cause: CloseCause }>();
    const messages = new Queue<Buffer>();
    const server = await startServer(defer, {
      perMessageDeflate: true,
      maxPayload: LIMIT,
      message: (_ws: WebSocket, data: Buffer) => messages.push(data),
      close: (_ws: WebSocket, code: number, _reason: string, cause: CloseCause) => closes.push({ code, cause }),
    });
    const socket = net.connect({ host: HOST, port: server.port });
    defer(() => socket.destroy());
    socket.on('error', () => {});
    await withTimeout(new Promise((resolve) => socket.once('connect', resolve)));
    const key = 'dGhlIHNhbXBsZSBub25jZQ==';
    socket.write(
      `GET / HTTP/1.1\r\nHost: ${HOST}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n` +
        'Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n',
    );
    let received = Buffer.alloc(0);
    const head = await withTimeout(
      new Promise<string>((resolve) =>
        socket.on('data', (chunk: Buffer) => {
          received = Buffer.concat([received, chunk]);
          const end = received.indexOf('\r\n\r\n');
          if (end !== -1 && received.length > 0) resolve(received.subarray(0, end).toString('latin1'));
        }),
      ),
    );
    expect(head).toContain(`Sec-WebSocket-Accept: ${acceptFor(key)}`);
    expect(head).toContain('Sec-WebSocket-Extensions: permessage-deflate; client_no_context_takeover');
    const ended = new Promise<void>((resolve) => socket.once('end', () => resolve()));
    socket.write(frame({ opcode: 2, payload: bomb, rsv: 0x40, ...M }));
    await withTimeout(ended);
    const frames = parseFrames(received.subarray(received.indexOf('\r\n\r\n') + 4));
    expect(frames.map((f) => f.opcode)).toEqual([8]);
    expect(frames[0]!.payload.readUInt16BE(0)).toBe(1009);
    const closed = await closes.next();
    expect(closed.code).toBe(1009);
    expect(closed.cause).toMatchObject({ kind: 'protocol_error', error: { code: 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH' } });
    expect(messages.items).toHaveLength(0);
  });
});

describe('receive-side failures with permessage-deflate', () => {
  it.each(['server', 'client'] as const)('corrupt DEFLATE data → 1007 (%s)', (role) => {
    const r = deflating(role);
    r.protocol.receive(frame({ opcode: 2, payload: Buffer.from([0xff, 0xff, 0xff, 0xff, 0x00]), rsv: 0x40, mask: role === 'server' }));
    expect(failure(r)).toEqual({ error: { type: 'error', code: 'WS_ERR_INVALID_COMPRESSED_DATA', closeCode: 1007 }, sent: 1007 });
  });

  it('compressed text that inflates to invalid UTF-8 → 1007; the same bytes as binary are fine', () => {
    const bad = codec().compress(Buffer.concat([Buffer.from('valid start ✓ '.repeat(100)), Buffer.from([0xc3, 0x28])]));
    const r = deflating('server');
    r.protocol.receive(frame({ opcode: 1, payload: bad, rsv: 0x40, ...M }));
    expect(failure(r)).toEqual({ error: { type: 'error', code: 'WS_ERR_INVALID_UTF8', closeCode: 1007 }, sent: 1007 });
    const b = deflating('server');
    b.protocol.receive(frame({ opcode: 2, payload: bad, rsv: 0x40, ...M }));
    expect(b.events).toHaveLength(1);
    expect(b.events[0]).toMatchObject({ type: 'message', binary: true });
  });

  it('compressed text ending inside a code point → 1007', () => {
    const r = deflating('server');
    r.protocol.receive(frame({ opcode: 1, payload: codec().compress(Buffer.from([0x61, 0xe2, 0x9c])), rsv: 0x40, ...M }));
    expect(failure(r).error).toEqual({ type: 'error', code: 'WS_ERR_INVALID_UTF8', closeCode: 1007 });
  });

  it('with skipUtf8Validation, invalid inflated text is delivered', () => {
    const r = deflating('server', { skipUtf8Validation: true });
    r.protocol.receive(frame({ opcode: 1, payload: codec().compress(Buffer.from([0xff, 0xfe])), rsv: 0x40, ...M }));
    expect(r.events).toEqual([{ type: 'message', data: 'fffe', binary: false }]);
  });

  it('compressed text whose compressed bytes are not UTF-8 is still accepted (only the inflated text is checked)', () => {
    const text = 'é✓𝄞 weiß '.repeat(2000);
    const payload = codec().compress(text);
    expect(Buffer.from(payload.toString('utf8')).equals(payload)).toBe(false); // the payload itself is not valid UTF-8
    const bytes = frame({ opcode: 1, payload, rsv: 0x40, ...M });
    // Whole, and split so that the frame arrives in parts (the streaming path).
    for (const splits of [[], [1], [3, 10, 100], Array.from({ length: 20 }, (_, i) => 5 + i * 37)]) {
      const r = deflating('server');
      let last = 0;
      for (const at of [...splits, bytes.length]) {
        r.protocol.receive(Buffer.from(bytes.subarray(last, at)));
        last = at;
      }
      expect(r.events, JSON.stringify(splits)).toEqual([{ type: 'message', data: hex(text), binary: false }]);
    }
  });

  it.each([
    ['compressed', 0x40],
    ['uncompressed', 0],
  ])('RSV1 on a continuation frame (first frame %s) → 1002', (_what, firstRsv) => {
    const r = deflating('server');
    const first = firstRsv ? codec().compress('hello') : Buffer.from('hel');
    r.protocol.receive(
      Buffer.concat([frame({ opcode: 1, payload: first, rsv: firstRsv, fin: false, ...M }), frame({ opcode: 0, payload: 'lo', rsv: 0x40, ...M })]),
    );
    expect(failure(r)).toEqual({ error: { type: 'error', code: 'WS_ERR_UNEXPECTED_RSV_1', closeCode: 1002 }, sent: 1002 });
  });

  it('RSV1 on a continuation frame that arrives byte by byte → 1002 from its header alone', () => {
    const r = deflating('server');
    const bytes = Buffer.concat([
      frame({ opcode: 2, payload: codec().compress(compressible(3000)), rsv: 0x40, fin: false, ...M }),
      frame({ opcode: 0, payload: Buffer.alloc(5000, 1), rsv: 0x40, ...M }),
    ]);
    const headerEnd = bytes.length - 5000; // the continuation's payload starts here
    for (let p = 0; p < headerEnd; p++) r.protocol.receive(Buffer.from(bytes.subarray(p, p + 1)));
    expect(failure(r)).toEqual({ error: { type: 'error', code: 'WS_ERR_UNEXPECTED_RSV_1', closeCode: 1002 }, sent: 1002 });
  });

  it.each([
    ['ping', 9],
    ['pong', 10],
    ['close', 8],
  ])('RSV1 on a %s → 1002', (_what, opcode) => {
    const r = deflating('server');
    r.protocol.receive(frame({ opcode, payload: opcode === 8 ? Buffer.from([0x03, 0xe8]) : 'p', rsv: 0x40, ...M }));
    expect(failure(r)).toEqual({ error: { type: 'error', code: 'WS_ERR_UNEXPECTED_RSV_1', closeCode: 1002 }, sent: 1002 });
  });

  it('RSV1 on a ping, client side → 1002', () => {
    const r = deflating('client');
    r.protocol.receive(frame({ opcode: 9, payload: 'p', rsv: 0x40 }));
    expect(failure(r).error).toEqual({ type: 'error', code: 'WS_ERR_UNEXPECTED_RSV_1', closeCode: 1002 });
  });

  it('RSV1 without the extension → 1002', () => {
    const r = protocolRecorder('server');
    r.protocol.receive(frame({ opcode: 2, payload: codec().compress('hello'), rsv: 0x40, ...M }));
    expect(failure(r)).toEqual({ error: { type: 'error', code: 'WS_ERR_UNEXPECTED_RSV_1', closeCode: 1002 }, sent: 1002 });
  });

  it.each([0x20, 0x10, 0x60])('RSV bits %s besides RSV1 are still refused with the extension → 1002', (rsv) => {
    const r = deflating('server');
    r.protocol.receive(frame({ opcode: 2, payload: codec().compress('hello'), rsv, ...M }));
    expect(failure(r)).toEqual({ error: { type: 'error', code: 'WS_ERR_UNEXPECTED_RSV_2_3', closeCode: 1002 }, sent: 1002 });
  });

  it('messages without RSV1 are taken as they are (uncompressed) even with the extension', () => {
    const r = deflating('server');
    r.protocol.receive(Buffer.concat([frame({ opcode: 1, payload: 'plain', ...M }), frame({ opcode: 2, payload: Buffer.from([0xff, 0xff, 0xff]), ...M })]));
    expect(r.events).toEqual([
      { type: 'message', data: hex('plain'), binary: false },
      { type: 'message', data: 'ffffff', binary: true },
    ]);
  });
});

describe('compressed fragmented messages', () => {
  it.each([
    ['text', 1],
    ['binary', 2],
  ])('first frame RSV1, continuations without: inflated whole (%s)', (_kind, opcode) => {
    const data = Buffer.from('fragmented and compressed — ✓ '.repeat(400));
    const payload = codec().compress(data);
    const cuts = [0, 1, Math.floor(payload.length / 2), payload.length - 1, payload.length];
    const frames = [];
    for (let i = 0; i + 1 < cuts.length; i++) {
      frames.push(
        frame({
          opcode: i === 0 ? opcode : 0,
          payload: payload.subarray(cuts[i], cuts[i + 1]),
          rsv: i === 0 ? 0x40 : 0,
          fin: i + 2 === cuts.length,
          ...M,
        }),
      );
    }
    // A ping between fragments, and the whole stream split into odd pieces.
    frames.splice(2, 0, frame({ opcode: 9, payload: 'mid', ...M }));
    const bytes = Buffer.concat(frames);
    for (const step of [bytes.length, 7, 1000]) {
      const r = deflating('server');
      for (let p = 0; p < bytes.length; p += step) r.protocol.receive(Buffer.from(bytes.subarray(p, p + step)));
      expect(r.events, `step ${step}`).toEqual([
        { type: 'ping', data: hex('mid') },
        { type: 'message', data: data.toString('hex'), binary: opcode === 2 },
      ]);
    }
  });

  it('RFC 7692 §7.2.3.1 frames: one frame and two fragments, unmasked to a client', () => {
    const one = deflating('client');
    one.protocol.receive(Buffer.from('c107f248cdc9c90700', 'hex'));
    expect(one.events).toEqual([{ type: 'message', data: hex('Hello'), binary: false }]);
    const two = deflating('client');
    two.protocol.receive(Buffer.from('4103f248cd8004c9c90700', 'hex'));
    expect(two.events).toEqual([{ type: 'message', data: hex('Hello'), binary: false }]);
  });

  it('an empty compressed message, and an empty final fragment', () => {
    const r = deflating('server');
    const payload = codec().compress('hi there');
    r.protocol.receive(
      Buffer.concat([
        frame({ opcode: 1, payload: Buffer.from([0x00]), rsv: 0x40, ...M }),
        frame({ opcode: 2, payload: Buffer.alloc(0), rsv: 0x40, ...M }), // nothing at all: just the stripped tail
        frame({ opcode: 1, payload, rsv: 0x40, fin: false, ...M }),
        frame({ opcode: 0, payload: '', ...M }),
      ]),
    );
    expect(r.events).toEqual([
      { type: 'message', data: '', binary: false },
      { type: 'message', data: '', binary: true },
      { type: 'message', data: hex('hi there'), binary: false },
    ]);
  });

  it('a compressed message followed by an uncompressed one: each is taken for what it is', () => {
    const r = deflating('server');
    const payload = codec().compress('compressed one');
    r.protocol.receive(
      Buffer.concat([
        frame({ opcode: 1, payload: payload.subarray(0, 3), rsv: 0x40, fin: false, ...M }),
        frame({ opcode: 0, payload: payload.subarray(3), ...M }),
        frame({ opcode: 1, payload: 'plain ', fin: false, ...M }),
        frame({ opcode: 0, payload: 'one', ...M }),
      ]),
    );
    expect(r.events).toEqual([
      { type: 'message', data: hex('compressed one'), binary: false },
      { type: 'message', data: hex('plain one'), binary: false },
    ]);
  });
});

describe('sending with permessage-deflate', () => {
  it('the threshold (default 1024): below it without RSV1, at and above it compressed', () => {
    const s = deflating('server');
    for (const size of [0, 1, 100, 1023, 1024, 1025, 5000]) s.protocol.send(Buffer.alloc(size, 0x61), true);
    const frames = parseFrames(s.protocol.dataToSend());
    expect(frames.map((f) => f.rsv1)).toEqual([false, false, false, false, true, true, true]);
    for (const f of frames.slice(0, 4)) expect(f.payload.equals(Buffer.alloc(f.payload.length, 0x61))).toBe(true);
    expect(frames.slice(4).map((f) => zinflate(f.payload).length)).toEqual([1024, 1025, 5000]);
  });

  it('the threshold counts UTF-8 bytes, not string length', () => {
    const s = deflating('server');
    s.protocol.send('é'.repeat(511), false); // 1022 bytes
    s.protocol.send('é'.repeat(512), false); // 1024 bytes, 512 characters
    s.protocol.send('a'.repeat(1023), false);
    s.protocol.send('a'.repeat(1024), false);
    const frames = parseFrames(s.protocol.dataToSend());
    expect(frames.map((f) => [f.opcode, f.rsv1])).toEqual([
      [1, false],
      [1, true],
      [1, false],
      [1, true],
    ]);
    expect(zinflate(frames[1]!.payload).toString()).toBe('é'.repeat(512));
  });

  it('a custom threshold', () => {
    const s = deflating('server', {}, { threshold: 100 });
    s.protocol.send('x'.repeat(99), false);
    s.protocol.send('x'.repeat(100), false);
    const none = deflating('server', {}, { threshold: 0 });
    none.protocol.send('', false);
    none.protocol.send('a', false);
    expect(parseFrames(s.protocol.dataToSend()).map((f) => f.rsv1)).toEqual([false, true]);
    const all = parseFrames(none.protocol.dataToSend());
    expect(all.map((f) => f.rsv1)).toEqual([true, true]);
    expect(all.map((f) => zinflate(f.payload).toString())).toEqual(['', 'a']);
  });

  it('compress: false sends a large message plain; compress: true compresses a tiny one', () => {
    const s = deflating('server');
    const big = compressible(50 * KiB);
    s.protocol.send(big, true, { compress: false });
    s.protocol.send('tiny', false, { compress: true });
    s.protocol.send(big, true, { compress: true });
    s.protocol.send('tiny', false, { compress: false });
    const frames = parseFrames(s.protocol.dataToSend());
    expect(frames.map((f) => [f.opcode, f.rsv1])).toEqual([
      [2, false],
      [1, true],
      [2, true],
      [1, false],
    ]);
    expect(frames[0]!.payload.equals(big)).toBe(true);
    expect(zinflate(frames[1]!.payload).toString()).toBe('tiny');
    expect(zinflate(frames[2]!.payload).equals(big)).toBe(true);
    expect(frames[3]!.payload.toString()).toBe('tiny');
  });

  it('without the extension, compress: true changes nothing', () => {
    const s = protocolRecorder('server');
    s.protocol.send(compressible(5000), true, { compress: true });
    const [f] = parseFrames(s.protocol.dataToSend());
    expect(f!.rsv1).toBe(false);
    expect(f!.payload.equals(compressible(5000))).toBe(true);
  });

  it('fragmented messages are never compressed, even with compress: true', () => {
    const s = deflating('server');
    s.protocol.send(compressible(5000, 1), false, { fin: false, compress: true });
    s.protocol.send(compressible(5000, 2), false, { fin: false });
    s.protocol.send(compressible(5000, 3), false, { compress: true });
    s.protocol.send(compressible(5000, 4), false); // the next message is compressed again
    const frames = parseFrames(s.protocol.dataToSend());
    expect(frames.map((f) => [f.opcode, f.fin, f.rsv1])).toEqual([
      [1, false, false],
      [0, false, false],
      [0, true, false],
      [1, true, true],
    ]);
    expect(Buffer.concat(frames.slice(0, 3).map((f) => f.payload)).equals(Buffer.concat([1, 2, 3].map((i) => compressible(5000, i))))).toBe(true);
  });

  it('control frames are never compressed', () => {
    const s = deflating('server', {}, { threshold: 0 });
    s.protocol.ping(Buffer.alloc(125, 0x61));
    s.protocol.pong('p');
    s.protocol.close(1000, 'x'.repeat(100));
    expect(parseFrames(s.protocol.dataToSend()).map((f) => [f.opcode, f.rsv1])).toEqual([
      [9, false],
      [10, false],
      [8, false],
    ]);
  });

  it.each(['server', 'client'] as const)('sent frames (%s) decode with zlib.inflateRawSync(payload + 00 00 ff ff)', (role) => {
    const s = deflating(role);
    const g = rng(99);
    const messages = [compressible(2000), g.bytes(3000), compressible(300 * KiB, 5), g.bytes(70 * KiB), Buffer.from('✓'.repeat(1000))];
    for (const m of messages) s.protocol.send(m, true);
    const frames = parseFrames(s.protocol.dataToSend());
    expect(frames.every((f) => f.rsv1 && f.fin && f.masked === (role === 'client'))).toBe(true);
    expect(frames.map((f) => zinflate(f.payload).toString('hex'))).toEqual(messages.map((m) => m.toString('hex')));
    // Each message stands alone (no context takeover): any one decodes without the others.
    expect(zinflate(frames[4]!.payload).toString()).toBe('✓'.repeat(1000));
  });

  it('sent with a limited window: a peer with that window can inflate', () => {
    const p: DeflateParams = { serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 9, clientMaxWindowBits: 15 };
    const s = protocolRecorder('server', { deflate: new PerMessageDeflate(p, 'server') });
    const data = Buffer.concat([compressible(40 * KiB), rng(3).bytes(5000), compressible(40 * KiB)]);
    s.protocol.send(data, true);
    const [f] = parseFrames(s.protocol.dataToSend());
    expect(zinflate(f!.payload, 9).equals(data)).toBe(true);
  });

  it('client → server through both cores: every size arrives intact, compressed or not', () => {
    const client = deflating('client');
    const server = deflating('server');
    const g = rng(1234);
    const sent: { data: string; binary: boolean }[] = [];
    for (const size of [0, 1, 125, 126, 1023, 1024, 65535, 65536, 70_000, 500_000]) {
      for (const kind of ['random', 'compressible', 'text'] as const) {
        const data = kind === 'random' ? g.bytes(size) : kind === 'compressible' ? compressible(size, size) : 'ü'.repeat(size >> 1);
        const binary = kind !== 'text';
        client.protocol.send(data, binary);
        sent.push({ data: hex(data), binary });
      }
    }
    const out = client.protocol.dataToSend();
    expect(parseFrames(out).filter((f) => f.rsv1).length).toBeGreaterThan(10);
    for (const chunk of out) server.protocol.receive(Buffer.from(chunk));
    expect(server.events).toEqual(sent.map((m) => ({ type: 'message', ...m })));
  });
});
