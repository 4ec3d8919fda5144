/** Data and control frames through a real socket: echo of every shape, order, ping/pong, limits. */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { SendStatus, type WebSocket } from '../../src/index.js';
import { closePayload, deferred, frame, HOST, once, Queue, rawConnect, startServer, useCleanup, withTimeout, wsConnect } from '../kit/index.js';

const defer = useCleanup();

interface Received {
  data: Buffer;
  isBinary: boolean;
}

/** An echo server recording what its message callback got. */
async function echoServer(options: Record<string, unknown> = {}) {
  const received = new Queue<Received>();
  const server = await startServer(defer, {
    ...options,
    message: (ws: WebSocket, data: Buffer, isBinary: boolean) => {
      received.push({ data, isBinary });
      ws.send(data, { binary: isBinary });
    },
  });
  const c = await wsConnect(defer, `ws://${HOST}:${server.port}/`);
  return { server, received, ...c };
}

describe('echo', () => {
  it('text arrives as a Buffer with isBinary false, and comes back as text', async () => {
    const { client, messages, received } = await echoServer();
    client.send('héllo wörld ✓');
    const r = await received.next();
    expect(Buffer.isBuffer(r.data)).toBe(true);
    expect(r.isBinary).toBe(false);
    expect(r.data.toString()).toBe('héllo wörld ✓');
    const m = await messages.next();
    expect(m.isBinary).toBe(false);
    expect(m.data.toString()).toBe('héllo wörld ✓');
  });

  it('binary comes back byte for byte', async () => {
    const { client, messages, received } = await echoServer();
    const bytes = randomBytes(1000);
    client.send(bytes);
    const r = await received.next();
    expect(Buffer.isBuffer(r.data)).toBe(true);
    expect(r.isBinary).toBe(true);
    const m = await messages.next();
    expect(m.isBinary).toBe(true);
    expect(m.data.equals(bytes)).toBe(true);
  });

  it('empty text and empty binary messages', async () => {
    const { client, messages, received } = await echoServer();
    client.send('');
    client.send(Buffer.alloc(0));
    expect(await received.take(2)).toEqual([
      { data: Buffer.alloc(0), isBinary: false },
      { data: Buffer.alloc(0), isBinary: true },
    ]);
    const [a, b] = await messages.take(2);
    expect([a!.data.length, a!.isBinary, b!.data.length, b!.isBinary]).toEqual([0, false, 0, true]);
  });

  it.each([125, 126, 65535, 65536, 1024 * 1024])('a %i-byte message (every length encoding) round-trips', async (n) => {
    const { client, messages } = await echoServer();
    const bytes = randomBytes(n);
    client.send(bytes);
    const m = await messages.next(10_000);
    expect(m.data.length).toBe(n);
    expect(m.data.equals(bytes)).toBe(true);
  });

  it('1000 messages arrive in order', async () => {
    const { client, messages, received } = await echoServer();
    for (let i = 0; i < 1000; i++) client.send(i % 2 ? `m${i}` : Buffer.from(`b${i}`));
    const echoed = await messages.take(1000, 10_000);
    expect(echoed.map((m) => m.data.toString())).toEqual(Array.from({ length: 1000 }, (_, i) => (i % 2 ? `m${i}` : `b${i}`)));
    expect(echoed.map((m) => m.isBinary)).toEqual(Array.from({ length: 1000 }, (_, i) => i % 2 === 0));
    expect(received.items).toHaveLength(1000);
  });

  it('ArrayBuffer, typed-array views and strings sent as binary', async () => {
    const server = await startServer(defer, {
      open: (ws) => {
        const ab = new Uint8Array([1, 2, 3]).buffer;
        const view = new Uint16Array([0x0102, 0x0304, 0x0506]).subarray(1, 2); // a view with an offset
        ws.send(ab);
        ws.send(view);
        ws.send('as binary', { binary: true });
        ws.send(Buffer.from('as text'), { binary: false });
      },
    });
    const { messages } = await wsConnect(defer, `ws://${HOST}:${server.port}/`);
    const [a, b, c, d] = await messages.take(4);
    expect([...a!.data]).toEqual([1, 2, 3]);
    expect(a!.isBinary).toBe(true);
    expect(b!.data.equals(Buffer.from(new Uint16Array([0x0304]).buffer))).toBe(true);
    expect(c).toEqual({ data: Buffer.from('as binary'), isBinary: true });
    expect(d).toEqual({ data: Buffer.from('as text'), isBinary: false });
  });

  it('send() of anything else throws a TypeError with code ERR_INVALID_ARG_TYPE, and the connection goes on', async () => {
    const thrown: unknown[] = [];
    const server = await startServer(defer, {
      open: (ws) => {
        for (const data of [123, null, undefined, { a: 1 }, [1, 2], Symbol('s')]) {
          try {
            ws.send(data as unknown as string);
          } catch (error) {
            thrown.push(error);
          }
        }
        ws.send('still open');
      },
    });
    const { messages } = await wsConnect(defer, `ws://${HOST}:${server.port}/`);
    expect((await messages.next()).data.toString()).toBe('still open');
    expect(thrown).toHaveLength(6);
    for (const error of thrown) {
      expect(error).toBeInstanceOf(TypeError);
      expect((error as { code?: string }).code).toBe('ERR_INVALID_ARG_TYPE');
    }
  });

  it('send(), ping(), pong() and publish() of memory already transferred away throw ERR_SEND_BUFFER_DETACHED; empty payloads still go', async () => {
    // Each made over 16 bytes that are then transferred: an ArrayBuffer, a Buffer and two views of it.
    const transferred = <T>(make: (memory: ArrayBuffer) => T): T => {
      const memory = new ArrayBuffer(16);
      const made = make(memory);
      structuredClone(memory, { transfer: [memory] });
      return made;
    };
    const payloads = () => [
      transferred((m) => m),
      transferred((m) => Buffer.from(m)),
      transferred((m) => new Uint16Array(m)),
      transferred((m) => new DataView(m)),
    ];
    const thrown: unknown[] = [];
    const attempt = (call: () => unknown) => {
      try {
        call();
      } catch (error) {
        thrown.push(error);
      }
    };
    const server = await startServer(defer, {
      open: (ws) => {
        ws.subscribe('t');
        for (const data of payloads()) {
          attempt(() => ws.send(data));
          attempt(() => ws.ping(data));
          attempt(() => ws.pong(data));
          attempt(() => server.publish('t', data));
        }
        // Empty but not transferred: sent as ever.
        ws.send(Buffer.alloc(0));
        ws.send(new ArrayBuffer(0));
        ws.send(new Uint8Array(new ArrayBuffer(8), 8));
        ws.send('still open');
      },
    });
    const { messages } = await wsConnect(defer, `ws://${HOST}:${server.port}/`);
    const received = await messages.take(4);
    expect(received.map((m) => m.data.length)).toEqual([0, 0, 0, 10]);
    expect(received[3]!.data.toString()).toBe('still open');
    expect(thrown).toHaveLength(16);
    for (const error of thrown) {
      expect(error).toBeInstanceOf(TypeError);
      expect((error as { code?: string }).code).toBe('ERR_SEND_BUFFER_DETACHED');
    }
  });
});

describe('fragmentation', () => {
  it('the server sends one message in parts with fin: false; the client gets one message', async () => {
    const statuses: number[] = [];
    const server = await startServer(defer, {
      open: (ws) => {
        statuses.push(ws.send('frag', { fin: false }), ws.send('men', { fin: false }), ws.send('ted', { fin: true }));
        statuses.push(ws.send(Buffer.from([1]), { fin: false }), ws.send(Buffer.from([2, 3])));
      },
    });
    const { messages } = await wsConnect(defer, `ws://${HOST}:${server.port}/`);
    const [t, b] = await messages.take(2);
    expect(t).toEqual({ data: Buffer.from('fragmented'), isBinary: false });
    expect(b).toEqual({ data: Buffer.from([1, 2, 3]), isBinary: true });
    expect(statuses.every((s) => s === SendStatus.SENT)).toBe(true);
  });

  it('on the wire: first frame keeps the opcode with FIN clear, then continuations, the last with FIN', async () => {
    const server = await startServer(defer, {
      open: (ws) => {
        ws.send('a', { fin: false });
        ws.send('b', { fin: false });
        ws.send('c');
      },
    });
    const raw = await rawConnect(defer, server.port);
    const frames = await raw.frames.take(3);
    expect(frames.map((f) => [f.opcode, f.fin, f.rsv, f.masked, f.payload.toString()])).toEqual([
      [1, false, 0, false, 'a'],
      [0, false, 0, false, 'b'],
      [0, true, 0, false, 'c'],
    ]);
  });

  it('a ws client sending fragments ({ fin: false }) is delivered as one message', async () => {
    const { client, received, messages } = await echoServer();
    client.send('Hel', { fin: false });
    client.send('lo, ', { fin: false });
    client.send('world');
    client.send(Buffer.from([9]), { binary: true, fin: false });
    client.send(Buffer.from([8]), { binary: true, fin: true });
    expect(await received.take(2)).toEqual([
      { data: Buffer.from('Hello, world'), isBinary: false },
      { data: Buffer.from([9, 8]), isBinary: true },
    ]);
    expect((await messages.next()).data.toString()).toBe('Hello, world');
  });

  it('control frames between fragments are handled at once', async () => {
    const pings = new Queue<string>();
    const received = new Queue<string>();
    const server = await startServer(defer, {
      ping: (_ws, data) => pings.push(data.toString()),
      message: (_ws, data) => received.push(data.toString()),
    });
    const raw = await rawConnect(defer, server.port);
    raw.send({ opcode: 1, payload: 'one ', fin: false });
    raw.send({ opcode: 9, payload: 'mid' });
    expect(await pings.next()).toBe('mid');
    const pong = await raw.frames.next();
    expect([pong.opcode, pong.payload.toString()]).toEqual([10, 'mid']);
    raw.send({ opcode: 0, payload: 'two' });
    expect(await received.next()).toBe('one two');
  });
});

describe('ping and pong', () => {
  it('client ping → server ping callback and automatic pong with the same payload', async () => {
    const pings = new Queue<Buffer>();
    const server = await startServer(defer, { ping: (_ws, data) => pings.push(data) });
    const { client } = await wsConnect(defer, `ws://${HOST}:${server.port}/`);
    const pong = once<[Buffer]>(client, 'pong');
    client.ping('are you there');
    const p = await pings.next();
    expect(Buffer.isBuffer(p)).toBe(true);
    expect(p.toString()).toBe('are you there');
    expect((await pong)[0].toString()).toBe('are you there');
  });

  it('server ping → client sees it, its pong reaches the server pong callback', async () => {
    const pongs = new Queue<Buffer>();
    const status = deferred<number>();
    const server = await startServer(defer, {
      open: (ws) => status.resolve(ws.ping('from server')),
      pong: (_ws, data) => pongs.push(data),
    });
    await wsConnect(defer, `ws://${HOST}:${server.port}/`);
    expect(await withTimeout(status.promise)).toBe(SendStatus.SENT);
    expect((await pongs.next()).toString()).toBe('from server');
  });

  it('a server ping is an unmasked ping frame with the payload', async () => {
    const server = await startServer(defer, { open: (ws) => void ws.ping(Buffer.from([0xde, 0xad])) });
    const raw = await rawConnect(defer, server.port);
    const f = await raw.frames.next();
    expect([f.opcode, f.fin, f.masked]).toEqual([9, true, false]);
    expect([...f.payload]).toEqual([0xde, 0xad]);
  });

  it('autoPong: false leaves the answer to the handler', async () => {
    const server = await startServer(defer, {
      autoPong: false,
      ping: (ws, data) => void ws.pong(Buffer.concat([Buffer.from('re:'), data])),
    });
    const raw = await rawConnect(defer, server.port);
    raw.send({ opcode: 9, payload: 'x' });
    const f = await raw.frames.next();
    expect([f.opcode, f.masked, f.payload.toString()]).toEqual([10, false, 're:x']);
  });

  it('a control payload over 125 bytes throws', async () => {
    const thrown = deferred<unknown>();
    const server = await startServer(defer, {
      open: (ws) => {
        try {
          ws.ping(Buffer.alloc(126));
          thrown.resolve(null);
        } catch (error) {
          thrown.resolve(error);
        }
      },
    });
    await wsConnect(defer, `ws://${HOST}:${server.port}/`);
    expect(await withTimeout(thrown.promise)).toMatchObject({ code: 'ERR_CONTROL_PAYLOAD_TOO_LONG' });
  });
});

describe('limits and invalid input', () => {
  it('a message over maxPayload closes with 1009; one at the limit is fine', async () => {
    const closed = deferred<[number, string]>();
    const {
      client,
      messages,
      closed: clientClosed,
    } = await echoServer({
      maxPayload: 1024,
      close: (_ws: WebSocket, code: number, _r: string, cause: { kind: string }) => closed.resolve([code, cause.kind]),
    });
    client.send(Buffer.alloc(1024, 1));
    expect((await messages.next()).data.length).toBe(1024);
    client.send(Buffer.alloc(1025, 1));
    expect((await withTimeout(clientClosed)).code).toBe(1009);
    expect(await withTimeout(closed.promise)).toEqual([1009, 'protocol_error']);
  });

  it('maxPayload counts the whole fragmented message', async () => {
    const { client, closed } = await echoServer({ maxPayload: 100 });
    client.send(Buffer.alloc(60), { fin: false });
    client.send(Buffer.alloc(60), { fin: true });
    expect((await withTimeout(closed)).code).toBe(1009);
  });

  it('invalid UTF-8 in a text message closes with 1007', async () => {
    const { client, closed } = await echoServer();
    client.send(Buffer.from([0x68, 0xff, 0x69]), { binary: false });
    expect((await withTimeout(closed)).code).toBe(1007);
  });

  it('send() after the connection closed returns DROPPED', async () => {
    const after = deferred<number>();
    const server = await startServer(defer, {
      close: (ws) => after.resolve(ws.send('too late')),
    });
    const { client } = await wsConnect(defer, `ws://${HOST}:${server.port}/`);
    client.close(1000);
    expect(await withTimeout(after.promise)).toBe(SendStatus.DROPPED);
  });

  it('the close frame comes after every message sent before it', async () => {
    const server = await startServer(defer, {
      open: (ws) => {
        for (let i = 0; i < 5; i++) ws.send(`m${i}`);
        ws.close(1000, 'end');
      },
    });
    const raw = await rawConnect(defer, server.port);
    const frames = await raw.frames.take(6);
    expect(frames.map((f) => (f.opcode === 8 ? closePayload(f.payload).reason : f.payload.toString()))).toEqual(['m0', 'm1', 'm2', 'm3', 'm4', 'end']);
  });

  it('more fragments than maxFragments close with 1009', async () => {
    const { client, closed, received } = await echoServer({ maxFragments: 4 });
    for (let i = 0; i < 3; i++) client.send('x', { fin: false });
    client.send('x');
    expect((await received.next()).data.toString()).toBe('xxxx');
    for (let i = 0; i < 4; i++) client.send('y', { fin: false });
    client.send('y');
    expect((await withTimeout(closed)).code).toBe(1009);
  });
});

describe('the connection API', () => {
  it("message buffers are the handler's to keep: later messages do not overwrite them", async () => {
    const kept: Buffer[] = [];
    const all = deferred();
    const server = await startServer(defer, {
      message: (_ws, data) => {
        kept.push(data);
        if (kept.length === 200) all.resolve();
      },
    });
    const raw = await rawConnect(defer, server.port);
    const payloads = Array.from({ length: 200 }, (_, i) => Buffer.alloc(50 + (i % 150), i));
    // All in one write, so many messages come out of each chunk the server reads.
    raw.socket.write(Buffer.concat(payloads.map((p) => frame({ opcode: 2, payload: p, mask: true }))));
    await withTimeout(all.promise);
    expect(kept.every((k, i) => k.equals(payloads[i]!))).toBe(true);
  });

  it('cork(fn) returns what fn returns and sends what fn sent', async () => {
    const result = deferred<unknown>();
    const server = await startServer(defer, {
      open: (ws) =>
        result.resolve(
          ws.cork(() => {
            ws.send('one');
            ws.send('two');
            return 42;
          }),
        ),
    });
    const { messages } = await wsConnect(defer, `ws://${HOST}:${server.port}/`);
    expect(await withTimeout(result.promise)).toBe(42);
    expect((await messages.take(2)).map((m) => m.data.toString())).toEqual(['one', 'two']);
  });

  it('pause() holds messages back until resume(), then they come in order', async () => {
    const sockets = new Queue<WebSocket>();
    const received = new Queue<string>();
    const server = await startServer(defer, {
      open: (ws) => sockets.push(ws),
      message: (ws, data) => {
        received.push(data.toString());
        ws.send(data);
      },
    });
    const a = await wsConnect(defer, `ws://${HOST}:${server.port}/`);
    const wsA = await sockets.next();
    wsA.pause();
    expect(wsA.isPaused).toBe(true);
    a.client.send('held 1');
    a.client.send('held 2');
    // A full round trip on another connection: the server's loop has read whatever it was going to read.
    const b = await wsConnect(defer, `ws://${HOST}:${server.port}/`);
    b.client.send('other');
    expect((await b.messages.next()).data.toString()).toBe('other');
    expect(received.items).toEqual(['other']);
    wsA.resume();
    expect(wsA.isPaused).toBe(false);
    expect((await a.messages.take(2)).map((m) => m.data.toString())).toEqual(['held 1', 'held 2']);
    expect(received.items).toEqual(['other', 'held 1', 'held 2']);
  });
});
