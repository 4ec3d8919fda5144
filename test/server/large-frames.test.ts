/**
 * Frames larger than one read (issue 17, point 1): on the native transport the
 * rest of such a frame is read straight into its final buffer (unmasked in
 * place). Whatever the transport, the frames split at every kind of boundary
 * arrive byte-exact, the limits and the UTF-8 rule still hold at the end of
 * such a frame, and pause, close and terminate in the middle of one are safe.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { connect, type WebSocket } from '../../src/index.js';
import { transportBinding } from '../../src/native/transport-binding.js';
import {
  HOST,
  Queue,
  clientFrame,
  closePayload,
  deferred,
  expectedTransport,
  frame,
  rawConnect,
  rawWebSocketServer,
  serverFrame,
  startServer,
  useCleanup,
  withTimeout,
  wsConnect,
} from '../kit/index.js';

const defer = useCleanup();

/** Bytes the addon has read straight into frame buffers in this process (0 without the native transport). */
const directBytes = (): number => (expectedTransport === 'native' ? transportBinding!.directBytes() : 0);

interface Received {
  data: Buffer;
  isBinary: boolean;
}

async function echoServer(options: Record<string, unknown> = {}) {
  const received = new Queue<Received>('server message');
  const server = await startServer(defer, {
    ...options,
    message: (ws: WebSocket, data: Buffer, isBinary: boolean) => {
      received.push({ data: Buffer.from(data), isBinary });
      ws.send(data, { binary: isBinary });
    },
  });
  return { server, received };
}

/** Writes chunks one by one, each after the kernel took the one before. */
async function writeEach(socket: import('node:net').Socket, chunks: Buffer[]): Promise<void> {
  for (const chunk of chunks) await new Promise<void>((resolve, reject) => socket.write(chunk, (error) => (error ? reject(error) : resolve())));
}

/** Cuts bytes at the given offsets. */
function cut(bytes: Buffer, at: number[]): Buffer[] {
  const parts: Buffer[] = [];
  let from = 0;
  for (const to of [...at, bytes.length]) {
    parts.push(bytes.subarray(from, to));
    from = to;
  }
  return parts.filter((p) => p.length > 0);
}

describe('large frames, server side (masked)', () => {
  it('a 1 MiB binary message echoes byte-exact (on the native transport, mostly read straight into its buffer)', async () => {
    const { server } = await echoServer();
    const { client, messages } = await wsConnect(defer, `ws://${HOST}:${server.port}/`);
    const bytes = randomBytes(1024 * 1024);
    const before = directBytes();
    client.send(bytes);
    const m = await messages.next(20_000);
    expect(m.isBinary).toBe(true);
    expect(m.data.equals(bytes)).toBe(true);
    if (expectedTransport === 'native') expect(directBytes() - before).toBeGreaterThan(512 * 1024);
  });

  const payloadA = randomBytes(200 * 1024);
  const payloadB = randomBytes(100 * 1024 + 3);
  const stream = Buffer.concat([
    frame({ opcode: 2, payload: payloadA, mask: true, key: [1, 2, 3, 4] }),
    frame({ opcode: 1, payload: 'small', mask: true, key: [9, 8, 7, 6] }),
    frame({ opcode: 2, payload: payloadB, mask: true, key: [0xaa, 0x55, 0x0f, 0xf0] }),
    frame({ opcode: 2, payload: Buffer.from([1]), mask: true }),
  ]);
  const a = 14 + payloadA.length; // end of frame A
  const splits: [string, number[]][] = [
    ['the header of a large frame split', [1, 5, 11]],
    ['the payload split near its start, middle and end', [20, 100 * 1024 + 1, a - 1]],
    ['several frames in one read after a large one', [16 * 1024, a + 4]],
    ['every frame boundary', [a, a + 11, a + 11 + 14 + payloadB.length]],
    ['odd splits (mask phases 1, 2, 3)', [14 + 8193, 14 + 8193 + 65538, 14 + 8193 + 65538 + 40001]],
  ];
  for (const [name, at] of splits) {
    it(`${name}: every frame arrives byte-exact, in order`, async () => {
      const { server, received } = await echoServer();
      const raw = await rawConnect(defer, server.port);
      await writeEach(raw.socket, cut(stream, at));
      const got = await received.take(4, 20_000);
      expect(got[0]!.data.equals(payloadA)).toBe(true);
      expect(got[1]!.data.toString()).toBe('small');
      expect(got[2]!.data.equals(payloadB)).toBe(true);
      expect([...got[3]!.data]).toEqual([1]);
    });
  }

  it('a fragmented message whose next fragment would pass maxPayload: 1009 at its header, before its payload is sent', async () => {
    const { server } = await echoServer({ maxPayload: 1024 * 1024 });
    const raw = await rawConnect(defer, server.port);
    await writeEach(raw.socket, cut(frame({ opcode: 2, fin: false, payload: randomBytes(700 * 1024), mask: true }), [30 * 1024]));
    const header = frame({ opcode: 0, payload: Buffer.alloc(700 * 1024), mask: true }).subarray(0, 14);
    raw.write(header);
    expect(await raw.closeCode(10_000)).toBe(1009);
  });

  it('a single frame declared beyond maxPayload: 1009 at its header', async () => {
    const { server } = await echoServer({ maxPayload: 1024 * 1024 });
    const raw = await rawConnect(defer, server.port);
    raw.write(frame({ opcode: 2, payload: Buffer.alloc(2 * 1024 * 1024), mask: true }).subarray(0, 14 + 100 * 1024));
    expect(await raw.closeCode(10_000)).toBe(1009);
  });

  it('text whose last byte breaks UTF-8, at the end of a frame that spans many reads: 1007', async () => {
    const { server } = await echoServer();
    const raw = await rawConnect(defer, server.port);
    const payload = Buffer.concat([Buffer.alloc(300 * 1024, 0x61), Buffer.from([0xff])]);
    await writeEach(raw.socket, cut(frame({ opcode: 1, payload, mask: true }), [1000, 100 * 1024]));
    expect(await raw.closeCode(10_000)).toBe(1007);
  });

  it('valid multi-byte UTF-8 cut by every read boundary of a large text frame comes back intact', async () => {
    const { server, received } = await echoServer();
    const raw = await rawConnect(defer, server.port);
    const text = 'ü€😀'.repeat(40_000); // 1-, 2-, 3- and 4-byte sequences across every alignment
    await writeEach(raw.socket, cut(frame({ opcode: 1, payload: text, mask: true }), [7, 64 * 1024 + 1, 200 * 1024 + 2]));
    const got = await received.next(20_000);
    expect(got.isBinary).toBe(false);
    expect(got.data.toString()).toBe(text);
  });
});

describe('large frames, in the middle of one', () => {
  /** A server that acts on a connection once part of a large frame was sent; `act` is called from the test. */
  async function midFrame(act: (ws: WebSocket) => void) {
    const opened = new Queue<WebSocket>('open');
    const received = new Queue<Received>('server message');
    const closed = new Queue<number>('close');
    const server = await startServer(defer, {
      open: (ws: WebSocket) => opened.push(ws),
      message: (ws: WebSocket, data: Buffer, isBinary: boolean) => {
        received.push({ data: Buffer.from(data), isBinary });
        ws.send(data, { binary: isBinary });
      },
      close: (_ws: WebSocket, code: number) => closed.push(code),
    });
    const raw = await rawConnect(defer, server.port);
    const ws = await opened.next();
    const payload = randomBytes(512 * 1024);
    const bytes = frame({ opcode: 2, payload, mask: true });
    await writeEach(raw.socket, [bytes.subarray(0, 200 * 1024)]);
    act(ws);
    return { server, raw, ws, payload, rest: bytes.subarray(200 * 1024), received, closed };
  }

  it('pause, then resume: the frame completes byte-exact', async () => {
    const { raw, ws, payload, rest, received } = await midFrame((w) => w.pause());
    await writeEach(raw.socket, [rest.subarray(0, 100 * 1024)]);
    ws.resume();
    ws.pause();
    ws.resume();
    await writeEach(raw.socket, [rest.subarray(100 * 1024)]);
    const got = await received.next(20_000);
    expect(got.data.equals(payload)).toBe(true);
  });

  it('terminate: the connection ends, the server serves the next one', async () => {
    const { raw, rest, closed, server } = await midFrame((w) => w.terminate());
    raw.socket.write(rest);
    expect(await closed.next(10_000)).toBe(1006);
    await raw.ended;
    const { client, messages } = await wsConnect(defer, `ws://${HOST}:${server.port}/`);
    const bytes = randomBytes(300 * 1024);
    client.send(bytes);
    expect((await messages.next(20_000)).data.equals(bytes)).toBe(true);
  });

  it('close: the close frame goes out, the rest of the frame is still read, the peer closing completes it', async () => {
    const { raw, rest, closed } = await midFrame((w) => w.close(4000, 'mid-frame'));
    const { frame: sent } = await raw.nextOf(8, 10_000);
    expect(closePayload(sent.payload)).toEqual({ code: 4000, reason: 'mid-frame' });
    await writeEach(raw.socket, [rest, clientFrame(8, Buffer.from([0x0f, 0xa0]))]);
    expect(await closed.next(10_000)).toBe(4000);
  });
});

describe('large frames, client side (unmasked)', () => {
  it('a 1 MiB frame from the server, in uneven pieces, arrives byte-exact', async () => {
    const raw = await rawWebSocketServer();
    const payload = randomBytes(1024 * 1024 + 5);
    const got = deferred<Buffer>();
    const ws = await connect(raw.url, { message: (_ws, data) => got.resolve(Buffer.from(data)) });
    defer(() => ws.terminate());
    const { socket } = await raw.connections.next();
    const before = directBytes();
    await writeEach(socket, cut(serverFrame(2, payload), [3, 9, 70_001, 500_000]));
    const data = await withTimeout(got.promise, 20_000, 'large message');
    expect(data.equals(payload)).toBe(true);
    if (expectedTransport === 'native') expect(directBytes() - before).toBeGreaterThan(256 * 1024);
  });
});
