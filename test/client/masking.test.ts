/** Client frames on the wire, read by a raw server: every frame masked, keys vary, the user's buffers untouched. */
import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, frameReader, rawWebSocketServer } from '../kit/index.js';
import { client } from './util.js';

afterEach(cleanup);

describe('masking', () => {
  it('every client frame is masked, with a different key each time', async () => {
    const raw = await rawWebSocketServer();
    const { ws } = await client(raw.url);
    const { socket } = await raw.connections.next();
    const frames = frameReader(socket);

    const n = 64;
    for (let i = 0; i < n; i++) ws.send(`message ${i}`);
    ws.send(Buffer.alloc(300, 0x5a)); // long enough for the native masking path
    ws.send(Buffer.alloc(70_000, 0xa5)); // 64-bit length form
    ws.ping('p');
    ws.pong('q');
    ws.close(4000, 'bye');
    const got = await frames.take(n + 5);

    for (const f of got) {
      expect(f.masked).toBe(true);
      expect(f.rsv).toBe(0);
      expect(f.fin).toBe(true);
    }
    expect(got.slice(0, n).map((f) => [f.opcode, f.payload.toString()])).toEqual(Array.from({ length: n }, (_, i) => [1, `message ${i}`]));
    expect(got[n]!.opcode).toBe(2);
    expect(got[n]!.payload.equals(Buffer.alloc(300, 0x5a))).toBe(true);
    expect(got[n + 1]!.payload.equals(Buffer.alloc(70_000, 0xa5))).toBe(true);
    expect(got.slice(n + 2).map((f) => [f.opcode, f.payload.toString('latin1')])).toEqual([
      [9, 'p'],
      [10, 'q'],
      [8, '\x0f\xa0bye'],
    ]);
    // 69 random 32-bit keys: a repeat would mean they are not fresh per frame.
    const keys = new Set(got.map((f) => f.key!.toString('hex')));
    expect(keys.size).toBe(got.length);
    // A key that is all zeros would leave the payload in the clear.
    expect(keys.has('00000000')).toBe(false);
  });

  it("the masked payload on the wire differs from the user's bytes", async () => {
    const raw = await rawWebSocketServer();
    const { ws } = await client(raw.url);
    const { socket } = await raw.connections.next();
    const wire: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => wire.push(chunk));
    const frames = frameReader(socket);
    const text = 'a clearly recognisable plaintext payload';
    ws.send(text);
    await frames.next();
    expect(Buffer.concat(wire).includes(Buffer.from(text))).toBe(false);
  });

  it('a Buffer (and a view into a larger buffer) passed to send() is not modified', async () => {
    const raw = await rawWebSocketServer();
    const { ws } = await client(raw.url);
    const { socket } = await raw.connections.next();
    const frames = frameReader(socket);

    const sizes = [1, 5, 63, 64, 65, 95, 96, 97, 125, 126, 1000, 65_535, 65_536, 200_000];
    const buffers = sizes.map((size) => Buffer.from(Array.from({ length: size }, (_, i) => (i * 31 + size) & 0xff)));
    const copies = buffers.map((b) => Buffer.from(b));
    for (const b of buffers) ws.send(b);
    const big = Buffer.alloc(1024, 0x11);
    const view = new Uint8Array(big.buffer, big.byteOffset + 100, 500);
    ws.send(view);
    const fragment = Buffer.from('fragmented part');
    ws.send(fragment, { fin: false });
    ws.send(Buffer.from('!'), { fin: true });

    const got = await frames.take(sizes.length + 3);
    got.slice(0, sizes.length).forEach((f, i) => expect(f.payload.equals(copies[i]!)).toBe(true));
    buffers.forEach((b, i) => expect(b.equals(copies[i]!), `buffer of ${sizes[i]} bytes was modified`).toBe(true));
    expect(big.equals(Buffer.alloc(1024, 0x11))).toBe(true);
    expect(got[sizes.length]!.payload.equals(Buffer.alloc(500, 0x11))).toBe(true);
    expect(fragment.toString()).toBe('fragmented part');
    expect([got[sizes.length + 1]!.fin, got[sizes.length + 1]!.opcode, got[sizes.length + 2]!.fin, got[sizes.length + 2]!.opcode]).toEqual([false, 2, true, 0]);
  });

  it('two clients use unrelated keys', async () => {
    const raw = await rawWebSocketServer();
    const a = await client(raw.url);
    const b = await client(raw.url);
    const [ca, cb] = await raw.connections.take(2);
    const fa = frameReader(ca!.socket);
    const fb = frameReader(cb!.socket);
    for (let i = 0; i < 16; i++) {
      a.ws.send('x');
      b.ws.send('x');
    }
    const keys = [...(await fa.take(16)), ...(await fb.take(16))].map((f) => f.key!.toString('hex'));
    expect(new Set(keys).size).toBe(32);
  });
});
