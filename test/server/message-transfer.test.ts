/**
 * A message's Buffer is a view of the memory it was read into, which it may
 * share with other messages (one read, a native read slab, a piece of small
 * reads). An application may hand the memory to another thread with
 * postMessage(data, [data.buffer]): that must not empty the other messages of
 * the same read, delivered already or still to come. The shared memory is
 * untransferable, as Node's own Buffer pool is: Node 20 clones it instead,
 * Node 21 and later throw a DataCloneError (the message is then cloned here).
 */
import { randomBytes } from 'node:crypto';
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { type WebSocket, connect } from '../../src/index.js';
import { HOST, Queue, clientFrame, rawConnect, rawWebSocketServer, serverFrame, startServer, useCleanup, withTimeout, wsConnect } from '../kit/index.js';

const defer = useCleanup();

/** Moves data's memory to port, or clones data where its memory may not be moved (Node 21 and later throw DataCloneError). */
function transfer(port: MessagePort, data: Uint8Array): void {
  try {
    port.postMessage(data, [data.buffer as ArrayBuffer]);
  } catch (error) {
    if ((error as Error).name !== 'DataCloneError') throw error;
    port.postMessage(data);
  }
}

/** A server that transfers the memory of the messages whose first byte is 1 (or '1') through a MessageChannel. */
async function transferringServer(options: Record<string, unknown> = {}) {
  const kept = new Queue<Buffer>('server message');
  const moved = new Queue<Buffer>('transferred message');
  const channel = new MessageChannel();
  defer(() => channel.port1.close());
  channel.port2.on('message', (data: Uint8Array) => moved.push(Buffer.from(data)));
  const server = await startServer(defer, {
    ...options,
    message: (_ws: WebSocket, data: Buffer) => {
      kept.push(data); // the view itself, as an application that keeps messages would
      if (data[0] === 1 || data[0] === 0x31) transfer(channel.port1, data);
    },
  });
  return { server, kept, moved };
}

/** A message whose first byte says whether the server transfers it. */
function payload(size: number, transfer: boolean): Buffer {
  const bytes = randomBytes(size);
  bytes[0] = transfer ? 1 : 0;
  return bytes;
}

describe('transferring a message to another thread', () => {
  for (const size of [1024, 20 * 1024, 100 * 1024]) {
    it(`leaves the other messages of the same read intact (${size} B messages)`, async () => {
      const { server, kept, moved } = await transferringServer();
      const raw = await rawConnect(defer, server.port);
      const sent = [payload(size, false), payload(size, true), payload(size, false), payload(size, true), payload(size, false)];
      // One write: the messages arrive in as few reads as the kernel makes.
      raw.write(Buffer.concat(sent.map((bytes) => clientFrame(2, bytes))));
      const received: Buffer[] = [];
      for (let i = 0; i < sent.length; i++) received.push(await kept.next());
      const transferred = [await moved.next(), await moved.next()];
      expect(transferred[0]!.equals(sent[1]!)).toBe(true);
      expect(transferred[1]!.equals(sent[3]!)).toBe(true);
      // The messages not transferred still hold their bytes (a transferred one may have been moved, or cloned).
      for (const i of [0, 2, 4]) expect(received[i]!.equals(sent[i]!), `message ${i}`).toBe(true);
    });
  }

  it('leaves the bytes that came with the upgrade request intact', async () => {
    const { server, kept, moved } = await transferringServer();
    const sent = [payload(1024, true), payload(1024, false), payload(1024, true), payload(1024, false)];
    await rawConnect(defer, server.port, { after: Buffer.concat(sent.map((bytes) => clientFrame(2, bytes))) });
    const received: Buffer[] = [];
    for (let i = 0; i < sent.length; i++) received.push(await kept.next());
    expect((await moved.next()).equals(sent[0]!)).toBe(true);
    expect((await moved.next()).equals(sent[2]!)).toBe(true);
    for (const i of [1, 3]) expect(received[i]!.equals(sent[i]!), `message ${i}`).toBe(true);
  });

  it('leaves the next messages inflated with the same context intact', async () => {
    const { server, kept, moved } = await transferringServer({ perMessageDeflate: { clientNoContextTakeover: false, threshold: 0 } });
    const { client } = await wsConnect(defer, `ws://${HOST}:${server.port}/`, { perMessageDeflate: { threshold: 0 } });
    const sent = Array.from({ length: 6 }, (_, i) => `${i % 2}${'compressible text '.repeat(20 + i)}`);
    for (const text of sent) client.send(text);
    const received: Buffer[] = [];
    for (let i = 0; i < sent.length; i++) received.push(await kept.next());
    for (const i of [1, 3, 5]) expect((await moved.next()).toString(), `transferred message ${i}`).toBe(sent[i]);
    for (const i of [0, 2, 4]) expect(received[i]!.toString(), `message ${i}`).toBe(sent[i]);
  });

  it('on the client side too', async () => {
    const raw = await rawWebSocketServer();
    const kept = new Queue<Buffer>('client message');
    const moved = new Queue<Buffer>('transferred message');
    const channel = new MessageChannel();
    defer(() => channel.port1.close());
    channel.port2.on('message', (data: Uint8Array) => moved.push(Buffer.from(data)));
    const ws = await withTimeout(
      connect(raw.url, {
        message: (_ws, data) => {
          kept.push(data);
          if (data[0] === 1) transfer(channel.port1, data);
        },
      }),
    );
    defer(() => ws.terminate());
    const { socket } = await raw.connections.next();
    const sent = [payload(1024, true), payload(1024, false), payload(20 * 1024, true), payload(20 * 1024, false), payload(1024, false)];
    socket.write(Buffer.concat(sent.map((bytes) => serverFrame(2, bytes))));
    const received: Buffer[] = [];
    for (let i = 0; i < sent.length; i++) received.push(await kept.next());
    expect((await moved.next()).equals(sent[0]!)).toBe(true);
    expect((await moved.next()).equals(sent[2]!)).toBe(true);
    for (const i of [1, 3, 4]) expect(received[i]!.equals(sent[i]!), `message ${i}`).toBe(true);
  });
});

/** Moves a buffer's memory to another thread, and records the codes of the errors the server reports. */
function mover() {
  const errors = new Queue<string>('server error');
  const channel = new MessageChannel();
  defer(() => channel.port1.close());
  return {
    errors,
    onError: (_ws: WebSocket | null, error: { code: string }) => errors.push(error.code),
    move: (data: Buffer) => channel.port1.postMessage(data, [data.buffer as ArrayBuffer]),
  };
}

/** A server whose connections subscribe to 'news'; a connection that sends 'go' runs onGo. Errors go to onError. */
async function newsServer(onGo: (ws: WebSocket, publish: (data: Buffer) => void) => void, onError: (ws: WebSocket | null, error: { code: string }) => void) {
  const server = await startServer(defer, {
    open: (ws: WebSocket) => ws.subscribe('news'),
    message: (ws: WebSocket, data: Buffer) => {
      if (data.toString() === 'go') onGo(ws, (payload) => server.publish('news', payload));
    },
    error: onError,
  });
  return server;
}

describe('transferring a buffer passed to send() before it was written', () => {
  for (const size of [20 * 1024, 100 * 1024]) {
    it(`fails that connection with 1011 and a typed error, never corrupt frames or the process (${size} B)`, async () => {
      const { errors, onError, move } = mover();
      const server = await startServer(defer, {
        message: (ws: WebSocket, data: Buffer) => {
          if (data.toString() === 'first') {
            ws.send(Buffer.alloc(size, 0x41));
            return;
          }
          const moving = Buffer.alloc(size, 0x42);
          ws.send(moving);
          // Sends leave on the next tick: the memory goes first.
          move(moving);
          ws.send('after');
        },
        error: onError,
      });
      const { client, messages, closed } = await wsConnect(defer, `ws://${HOST}:${server.port}/`);
      client.send('first');
      const first = await messages.next();
      expect(first.data.equals(Buffer.alloc(size, 0x41))).toBe(true);
      client.send('second');
      expect((await withTimeout(closed, 10_000, 'close')).code).toBe(1011);
      expect(await errors.next()).toBe('ERR_SEND_BUFFER_DETACHED');
      expect(messages.items).toHaveLength(1);
    });
  }

  it('a published payload moved to another thread or changed in the same tick: every subscriber gets it as it was at publish()', async () => {
    const { errors, onError, move } = mover();
    const server = await newsServer((_ws, publish) => {
      const moving = Buffer.alloc(20 * 1024, 0x43);
      publish(moving);
      move(moving);
      const changing = Buffer.alloc(20 * 1024, 0x46);
      publish(changing);
      changing.fill(0);
    }, onError);
    const a = await wsConnect(defer, `ws://${HOST}:${server.port}/`);
    const b = await wsConnect(defer, `ws://${HOST}:${server.port}/`);
    a.client.send('go');
    for (const client of [a, b]) {
      const [moved, changed] = await client.messages.take(2);
      expect(moved!.data.equals(Buffer.alloc(20 * 1024, 0x43))).toBe(true);
      expect(changed!.data.equals(Buffer.alloc(20 * 1024, 0x46))).toBe(true);
    }
    a.client.send('still open');
    server.publish('news', 'after');
    for (const client of [a, b]) expect((await client.messages.next()).data.toString()).toBe('after');
    expect(errors.items).toEqual([]);
  });

  it("a publish waiting for the subscriber's fragmented message to end, moved meanwhile: it follows the final fragment whole", async () => {
    const { errors, onError, move } = mover();
    const server = await newsServer((ws, publish) => {
      ws.send('frag', { fin: false });
      const moving = Buffer.alloc(20 * 1024, 0x44);
      publish(moving); // waits for the final fragment (RFC 6455 §5.4)
      move(moving);
      ws.send('ment');
    }, onError);
    const { client, messages } = await wsConnect(defer, `ws://${HOST}:${server.port}/`);
    client.send('go');
    const [fragmented, published] = await messages.take(2);
    expect(fragmented!.data.toString()).toBe('fragment');
    expect(published!.data.equals(Buffer.alloc(20 * 1024, 0x44))).toBe(true);
    expect(errors.items).toEqual([]);
  });

  // A send that waits behind a compression on the thread pool is framed when its turn comes: a payload moved
  // meanwhile must fail the connection, not become an empty message.
  it('a send waiting behind a compression on the thread pool, moved meanwhile: 1011, never an empty message', async () => {
    const { errors, onError, move } = mover();
    const large = Buffer.from('compressible '.repeat(8 * 1024)); // above asyncThreshold: compressed off the main thread
    const server = await startServer(defer, {
      perMessageDeflate: { asyncThreshold: 16 * 1024 },
      message: (ws: WebSocket, data: Buffer) => {
        if (data.toString() !== 'go') return;
        ws.send(large);
        const moving = Buffer.alloc(20 * 1024, 0x45);
        ws.send(moving, { compress: false }); // waits for the compression ahead of it
        move(moving);
      },
      error: onError,
    });
    const { client, messages, closed } = await wsConnect(defer, `ws://${HOST}:${server.port}/`);
    expect(client.extensions).toContain('permessage-deflate');
    client.send('go');
    expect((await withTimeout(closed, 10_000, 'close')).code).toBe(1011);
    expect(await errors.next()).toBe('ERR_SEND_BUFFER_DETACHED');
    expect(messages.items.map((m) => m.data.length)).toEqual([large.length]);
  });
});
