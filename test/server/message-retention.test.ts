/**
 * A delivered message is a view into the bytes it arrived in when that is cheap to keep; it must never keep alive a
 * read buffer far larger than itself. Node's own reads retain at most 64 KiB; the native transport reads a whole loop
 * turn into one large slab, copies the small reads of many connections out of it into pieces of at most 64 KiB, and hands
 * the slab itself over when one connection read much. A kept small message must then be a copy: what a message retains
 * is at most max(64 KiB, 64 × its size), on every transport.
 */
import { expect, it } from 'vitest';
import { Queue, clientFrame, rawConnect, startServer, useCleanup, withTimeout } from '../kit/index.js';

const defer = useCleanup();

it('small messages from a burst do not retain a read buffer larger than max(64 KiB, 64 × their size)', async () => {
  const kept = new Queue<Buffer>('server message');
  const server = await startServer(defer, { message: (_ws, data) => kept.push(data) });
  const raw = await rawConnect(defer, server.port);
  // 400 × 1 KiB in one write: one connection reads up to 256 KiB in a turn, far more than the native transport copies out of its slab.
  const payload = Buffer.alloc(1024, 7);
  raw.write(Buffer.concat(Array.from({ length: 400 }, () => clientFrame(2, payload))));
  const messages = await withTimeout(kept.take(400), 10_000, '400 messages');
  for (const data of messages) {
    expect(data.equals(payload)).toBe(true);
    expect(data.buffer.byteLength).toBeLessThanOrEqual(Math.max(65536, 64 * data.length));
  }
});

it('small messages from many connections in one loop turn are views of what was read (not copies), within the same bound', async () => {
  const kept = new Queue<Buffer>('server message');
  const server = await startServer(defer, { message: (_ws, data) => kept.push(data) });
  const clients = await Promise.all(Array.from({ length: 80 }, () => rawConnect(defer, server.port)));
  // One synchronous run of writes: the server's next loop turn reads all 80 KiB at once (a turn that hands over a slab).
  const payloads = clients.map((_, i) => Buffer.alloc(1024, i));
  clients.forEach((raw, i) => raw.write(clientFrame(2, payloads[i]!)));
  const messages = await withTimeout(kept.take(80), 10_000, '80 messages');
  expect(messages.map((data) => data[0]).sort((a, b) => a! - b!)).toEqual(payloads.map((_, i) => i));
  for (const data of messages) {
    expect(data.buffer.byteLength).toBeLessThanOrEqual(Math.max(65536, 64 * data.length));
    // A view, not a copy: the frame's header (FIN + binary, 126 = 16-bit length, 1024) and mask key lie right before the payload.
    expect(data.byteOffset).toBeGreaterThanOrEqual(8);
    expect([...new Uint8Array(data.buffer, data.byteOffset - 8, 4)]).toEqual([0x82, 0xfe, 0x04, 0x00]);
  }
});
