/**
 * Messages from a peer whose compressor ends the deflate stream (a last block
 * with BFINAL set, RFC 7692 §7.2.3.4), sync-flushes or full-flushes, and
 * mixes of these: every message is delivered intact under every context
 * takeover setting, on our server, on our client and through wsbolt/ws. The
 * peer is made by hand (node:zlib and the frame encoder of test/kit/wire.ts),
 * so the compressor's flush mode is the test's choice per message.
 */
import { createHash } from 'node:crypto';
import * as net from 'node:net';
import * as zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { connect } from '../../src/index.js';
import Bolt from '../../src/ws/index.js';
import { acceptFor, frame, HOST, httpUpgradeServer, parseFrames, Queue, rng, startServer, useCleanup, withTimeout } from '../kit/index.js';
import { TAIL } from './util.js';

const defer = useCleanup();
const KiB = 1024;

/**
 * How the peer ends a message:
 * - sync / full: Z_SYNC_FLUSH / Z_FULL_FLUSH, the trailing 00 00 ff ff removed (§7.2.1);
 * - finish: Z_FINISH, a last block with BFINAL set (§7.2.3.4), the compressor started afresh for the next message;
 * - finish+empty: finish, then §7.2.1 applied as written (an empty stored block appended, 00 00 ff ff removed: one 00 byte left after the end);
 * - final-stored: sync-flushed, then a last empty stored block with BFINAL set (as Go's flate Writer.Close writes) whose
 *   00 00 ff ff is removed: the stream ends exactly where the receiver's appended 00 00 ff ff ends.
 */
type Flush = 'sync' | 'full' | 'finish' | 'finish+empty' | 'final-stored';

/** A peer's compressor; with keepContext false it starts afresh after every message (it agreed to no context takeover). */
class PeerDeflater {
  private stream: zlib.DeflateRaw | null = null;

  constructor(private readonly keepContext: boolean) {}

  async compress(data: Buffer, flush: Flush): Promise<Buffer> {
    const stream = (this.stream ??= zlib.createDeflateRaw());
    const chunks: Buffer[] = [];
    const onData = (chunk: Buffer) => chunks.push(chunk);
    stream.on('data', onData);
    if (flush === 'finish' || flush === 'finish+empty') {
      const ended = new Promise((resolve) => stream.once('end', resolve));
      stream.end(data);
      await withTimeout(ended, 5000, 'peer compressor finished');
      this.stream = null;
    } else {
      stream.write(data);
      await withTimeout(
        new Promise((resolve) => stream.flush(flush === 'full' ? zlib.constants.Z_FULL_FLUSH : zlib.constants.Z_SYNC_FLUSH, () => resolve(null))),
      );
      stream.off('data', onData);
      if (flush === 'final-stored') chunks.push(Buffer.from([0x01, 0x00, 0x00, 0xff, 0xff]));
    }
    if (flush === 'final-stored' || !this.keepContext) this.close();
    let out = Buffer.concat(chunks);
    if (flush === 'finish+empty') out = Buffer.concat([out, Buffer.from([0x00, 0x00, 0x00, 0xff, 0xff])]);
    return out.subarray(out.length - 4).equals(TAIL) ? out.subarray(0, out.length - 4) : out;
  }

  close(): void {
    this.stream?.close();
    this.stream = null;
  }
}

const FIRST_SECOND_THIRD = ['first', 'second', 'third'].map((s) => Buffer.from(s));
/** Messages that repeat each other, so that a compressor keeping its context refers back to earlier ones. */
const REPEATING = Array.from({ length: 9 }, (_, i) => Buffer.from(`message ${i % 3}: the quick brown fox jumps over the lazy dog ${i}`));
/** Over 64 KiB compressed (so it is inflated off the main thread even without context takeover), then small ones. */
const LARGE_THEN_SMALL = [randomBytes(80 * KiB, 15), ...REPEATING.slice(0, 3)];

const SEQUENCES: [string, Buffer[], Flush[]][] = [
  ['every message finished', FIRST_SECOND_THIRD, ['finish', 'finish', 'finish']],
  ['every message sync-flushed', FIRST_SECOND_THIRD, ['sync', 'sync', 'sync']],
  ['every message full-flushed', FIRST_SECOND_THIRD, ['full', 'full', 'full']],
  ['every message finished, §7.2.1 applied after (a 00 byte past the end)', FIRST_SECOND_THIRD, ['finish+empty', 'finish+empty', 'finish+empty']],
  ['every message ending with an empty final stored block, its 00 00 ff ff removed', FIRST_SECOND_THIRD, ['final-stored', 'final-stored', 'final-stored']],
  ['mixed', REPEATING, ['sync', 'finish', 'sync', 'sync', 'full', 'final-stored', 'sync', 'finish+empty', 'sync']],
  ['a large message finished, then small ones', LARGE_THEN_SMALL, ['finish', 'finish', 'sync', 'sync']],
  ['a large message sync-flushed, then small ones finished', LARGE_THEN_SMALL, ['sync', 'finish', 'finish', 'sync']],
];

/** Takeover settings as the receiving side's options, and whether the peer may then keep its context. */
const SETTINGS = [
  ['the peer keeps its context', true],
  ['no context takeover', false],
] as const;

function randomBytes(size: number, seed: number): Buffer {
  const r = rng(seed);
  const out = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i++) out[i] = r.next() & 0xff;
  return out;
}

/** A message as text, or for the large one its length and digest, so that a failure shows which message went wrong. */
const shown = (data: Buffer) => (data.length > 200 ? `${data.length} bytes, sha1 ${createHash('sha1').update(data).digest('hex')}` : data.toString());

/** A raw client: a hand-written upgrade offering `offer`, frames written by hand, the response head and frames kept. */
async function rawClient(port: number, offer: string) {
  const socket = net.connect({ host: HOST, port });
  defer(() => socket.destroy());
  socket.on('error', () => {});
  socket.write(
    `GET / HTTP/1.1\r\nHost: ${HOST}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n` +
      `Sec-WebSocket-Version: 13\r\nSec-WebSocket-Extensions: ${offer}\r\n\r\n`,
  );
  let received = Buffer.alloc(0);
  const heads = new Queue<string>();
  const bytes = new Queue<void>();
  socket.on('data', (chunk: Buffer) => {
    const before = received.indexOf('\r\n\r\n');
    received = Buffer.concat([received, chunk]);
    const end = received.indexOf('\r\n\r\n');
    if (before === -1 && end !== -1) heads.push(received.subarray(0, end).toString('latin1'));
    bytes.push();
  });
  const head = await heads.next(5000, 'the 101');
  return {
    head,
    send: (payload: Buffer) => socket.write(frame({ opcode: 2, payload, rsv: 0x40, mask: true })),
    /** The server's frames, once there are n. */
    async frames(n: number) {
      for (;;) {
        const all = received.subarray(received.indexOf('\r\n\r\n') + 4);
        try {
          const frames = parseFrames(all);
          if (frames.length >= n) return frames;
        } catch {
          // a frame still arriving
        }
        await bytes.next(5000, `${n} frames`);
      }
    },
  };
}

/** A raw server answering the upgrade with `extensions`; the sockets it accepted, one by one. */
async function rawServer(extensions: string) {
  const sockets = new Queue<net.Socket>();
  const { port } = await httpUpgradeServer(defer, (req, socket) => {
    const accept = acceptFor(String(req.headers['sec-websocket-key']));
    socket.write(
      `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\nSec-WebSocket-Extensions: ${extensions}\r\n\r\n`,
    );
    sockets.push(socket);
  });
  return { url: `ws://${HOST}:${port}/`, sockets };
}

/** Compresses the messages as the peer would and writes each as one frame. */
async function sendAll(write: (payload: Buffer) => void, messages: Buffer[], flushes: Flush[], keepContext: boolean): Promise<void> {
  const peer = new PeerDeflater(keepContext);
  defer(() => peer.close());
  for (const [i, data] of messages.entries()) write(await peer.compress(data, flushes[i]!));
}

describe.each(SETTINGS)('our server, %s', (_setting, keepContext) => {
  it.each(SEQUENCES)('%s: every message delivered intact', async (_what, messages, flushes) => {
    const received = new Queue<Buffer>();
    const server = await startServer(defer, {
      perMessageDeflate: keepContext ? { clientNoContextTakeover: false } : {},
      message: (_ws, data) => received.push(Buffer.from(data)),
    });
    const c = await rawClient(server.port, 'permessage-deflate; client_max_window_bits');
    expect(/^sec-websocket-extensions: (.*)$/im.exec(c.head)?.[1]).toBe(keepContext ? 'permessage-deflate' : 'permessage-deflate; client_no_context_takeover');
    await sendAll(c.send, messages, flushes, keepContext);
    expect((await received.take(messages.length, 10_000)).map(shown)).toEqual(messages.map(shown));
  });
});

describe.each(SETTINGS)('our client, %s', (_setting, keepContext) => {
  it.each(SEQUENCES)('%s: every message delivered intact', async (_what, messages, flushes) => {
    const s = await rawServer(
      keepContext ? 'permessage-deflate; client_no_context_takeover' : 'permessage-deflate; server_no_context_takeover; client_no_context_takeover',
    );
    const received = new Queue<Buffer>();
    const ws = await withTimeout(
      connect(s.url, {
        perMessageDeflate: keepContext ? { serverNoContextTakeover: false } : {},
        message: (_ws, data) => received.push(Buffer.from(data)),
      }),
    );
    defer(() => ws.terminate());
    const socket = await s.sockets.next();
    await sendAll((payload) => socket.write(frame({ opcode: 2, payload, rsv: 0x40 })), messages, flushes, keepContext);
    expect((await received.take(messages.length, 10_000)).map(shown)).toEqual(messages.map(shown));
  });
});

describe('wsbolt/ws', () => {
  // wsbolt/ws takes ws's defaults, which keep context both ways (issue 18); no context takeover when asked for.
  const NO_CONTEXT = { serverNoContextTakeover: true, clientNoContextTakeover: true };
  const settings = [
    ['wsbolt/ws defaults (ws’s: context kept both ways)', true, true],
    ['no context takeover either way', NO_CONTEXT, false],
  ] as const;

  describe.each(settings)('server, %s', (_setting, perMessageDeflate, keepContext) => {
    it.each(SEQUENCES)('%s: every message delivered intact', async (_what, messages, flushes) => {
      const wss = new Bolt.WebSocketServer({ host: HOST, port: 0, perMessageDeflate });
      defer(() => new Promise((resolve) => wss.close(resolve)));
      await withTimeout(new Promise((resolve) => wss.once('listening', resolve)));
      const received = new Queue<Buffer>();
      wss.on('connection', (ws) => {
        defer(() => ws.terminate());
        ws.on('message', (data) => received.push(Buffer.from(data as Buffer)));
      });
      const c = await rawClient((wss.address() as net.AddressInfo).port, 'permessage-deflate; client_max_window_bits');
      expect(/^sec-websocket-extensions: (.*)$/im.exec(c.head)?.[1]).toBe(
        keepContext ? 'permessage-deflate' : 'permessage-deflate; client_no_context_takeover',
      );
      await sendAll(c.send, messages, flushes, keepContext);
      expect((await received.take(messages.length, 10_000)).map(shown)).toEqual(messages.map(shown));
    });
  });

  describe.each(settings)('client, %s', (_setting, perMessageDeflate, keepContext) => {
    it.each(SEQUENCES)('%s: every message delivered intact', async (_what, messages, flushes) => {
      const s = await rawServer(keepContext ? 'permessage-deflate' : 'permessage-deflate; server_no_context_takeover; client_no_context_takeover');
      const received = new Queue<Buffer>();
      const ws = new Bolt(s.url, { perMessageDeflate });
      defer(() => ws.terminate());
      ws.on('message', (data) => received.push(Buffer.from(data as Buffer)));
      await withTimeout(new Promise((resolve) => ws.once('open', resolve)));
      const socket = await s.sockets.next();
      await sendAll((payload) => socket.write(frame({ opcode: 2, payload, rsv: 0x40 })), messages, flushes, keepContext);
      expect((await received.take(messages.length, 10_000)).map(shown)).toEqual(messages.map(shown));
    });
  });
});

describe('what we send', () => {
  it.each([
    ['keeping our context', { serverNoContextTakeover: false }],
    ['without context takeover', {}],
    ['without context takeover, offloaded', { asyncThreshold: 0 }],
  ])('%s: never a last block (BFINAL), so one inflate stream takes every message whole', async (_what, options) => {
    const messages = [...REPEATING, randomBytes(80 * KiB, 7)];
    const server = await startServer(defer, {
      perMessageDeflate: { threshold: 0, ...options },
      open: (ws) => {
        for (const m of messages) ws.send(m, { binary: true });
      },
    });
    const c = await rawClient(server.port, 'permessage-deflate; client_max_window_bits');
    const frames = await c.frames(messages.length);
    expect(frames.every((f) => f.rsv1)).toBe(true);
    const inflater = zlib.createInflateRaw();
    defer(() => inflater.close());
    const out: Buffer[] = [];
    inflater.on('data', (chunk: Buffer) => out.push(chunk));
    for (const [i, f] of frames.entries()) {
      const before = inflater.bytesWritten;
      inflater.write(f.payload);
      inflater.write(TAIL);
      await withTimeout(new Promise((resolve) => inflater.flush(zlib.constants.Z_SYNC_FLUSH, () => resolve(null))));
      // zlib stops taking input at the end of a stream: every byte taken means no BFINAL block came.
      expect(inflater.bytesWritten - before).toBe(f.payload.length + TAIL.length);
      expect(shown(Buffer.concat(out.splice(0)))).toBe(shown(messages[i]!));
    }
  });
});
