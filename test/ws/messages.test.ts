/**
 * Messages through wsbolt/ws compared with ws: every scenario runs for the
 * four pairings (ws↔ws as the reference, wsbolt↔wsbolt, and each mixed) and
 * the recorded events (order, data types, bytes, isBinary, readyState) must
 * be identical.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, frame, once } from '../kit/index.js';
import { bolt, connectedPair, describeData, type Impl, messages, openClient, PAIRS, record, sameForAllPairs, sameForBoth, startServer, ws } from './util.js';

afterEach(cleanup);

describe('echo', () => {
  it('delivers text and binary messages with the same types, bytes and isBinary flags, open first and close last', async () => {
    const trace = await sameForAllPairs(async (serverImpl: Impl, clientImpl: Impl) => {
      const server = await startServer(serverImpl);
      const serverEvents: unknown[] = [];
      server.wss.on('connection', (s: any, req: any) => {
        serverEvents.push({ connection: true, reqUrl: req.url, isIncomingMessage: req.constructor.name, readyState: s.readyState });
        s.on('message', (data: any, isBinary: boolean) => {
          serverEvents.push({ message: describeData(data), isBinary });
          s.send(data, { binary: isBinary });
        });
      });
      const c = clientImpl.WebSocket === undefined ? null : new clientImpl.WebSocket(`${server.url}/echo?x=1`);
      const rec = record(c);
      const states = [c.readyState];
      await once(c, 'open');
      const payloads: any[] = [
        'hello',
        Buffer.from([1, 2, 3]),
        new Uint8Array([4, 5]),
        new Uint16Array([0x0102]).buffer,
        '',
        42,
        'ünïcödé ✓',
        Buffer.alloc(70_000, 7),
      ];
      for (const p of payloads) c.send(p);
      await messages(c, payloads.length);
      states.push(c.readyState);
      c.close(1000, 'done');
      states.push(c.readyState);
      await rec.closed;
      states.push(c.readyState);
      return { client: rec.events, server: serverEvents, states };
    });
    expect(trace.client[0]).toEqual({ event: 'open', readyState: 1 });
    expect(trace.client.at(-1)).toMatchObject({ event: 'close', code: 1000, reason: 'done', reasonIsBuffer: true, readyState: 3 });
    expect(trace.client[1]).toEqual({
      event: 'message',
      data: { type: 'Buffer', value: Buffer.from('hello').toString('hex') },
      isBinary: false,
      readyState: 1,
    });
    expect(trace.states).toEqual([0, 1, 2, 3]);
  });

  for (const binaryType of ['nodebuffer', 'arraybuffer', 'fragments', 'blob'] as const) {
    it(`binaryType '${binaryType}' on the client and on the server`, async () => {
      const trace = await sameForAllPairs(async (serverImpl, clientImpl) => {
        const server = await startServer(serverImpl);
        const serverGot: unknown[] = [];
        server.wss.on('connection', (s: any) => {
          s.binaryType = binaryType;
          s.on('message', (data: any, isBinary: boolean) => {
            serverGot.push({ data: describeData(data), isBinary, binaryType: s.binaryType });
            s.send(Buffer.from([9, 8, 7]));
            s.send('text stays a Buffer');
          });
        });
        const c = await openClient(clientImpl, server.url);
        c.binaryType = binaryType;
        c.binaryType = 'not a binary type'; // ignored, as in ws
        c.send(Buffer.from([1, 2]));
        const got = await messages(c, 2);
        return { serverGot, clientGot: got.map((m) => ({ data: describeData(m.data), isBinary: m.isBinary })), binaryType: c.binaryType };
      });
      expect(trace.binaryType).toBe(binaryType);
    });
  }

  it('a fragmented send (fin: false) arrives as one message', async () => {
    const trace = await sameForAllPairs(async (serverImpl, clientImpl) => {
      const server = await startServer(serverImpl);
      const { c, s } = await connectedPair(server, clientImpl);
      c.binaryType = 'fragments';
      s.send(Buffer.from('ab'), { fin: false });
      s.send(Buffer.from('cd'), { fin: false });
      s.send(Buffer.from('ef'), { fin: true });
      s.send('te', { fin: false });
      s.send('xt', { fin: true });
      const got = await messages(c, 2);
      const back = messages(s, 1);
      c.send('hel', { fin: false });
      c.send('lo');
      const [echo] = await back;
      return {
        client: got.map((m) => ({ data: describeData(m.data), isBinary: m.isBinary })),
        server: { data: describeData(echo.data), isBinary: echo.isBinary },
      };
    });
    expect(trace.client[0]).toEqual({ data: { type: 'Buffer[]', value: Buffer.from('abcdef').toString('hex') }, isBinary: true });
  });

  it('send(data, cb) calls back after the write; send(data, {binary}) overrides the type', async () => {
    await sameForAllPairs(async (serverImpl, clientImpl) => {
      const server = await startServer(serverImpl);
      const { c, s } = await connectedPair(server, clientImpl);
      const order: string[] = [];
      const done = new Promise<void>((resolve) => {
        c.send('one', (err: unknown) => order.push(`cb one ${err == null}`));
        c.send(Buffer.from('two'), { binary: false }, (err: unknown) => order.push(`cb two ${err == null}`));
        c.send('three', { binary: true }, (err: unknown) => {
          order.push(`cb three ${err == null}`);
          resolve();
        });
        order.push('sync');
      });
      const got = await messages(s, 3);
      await done;
      return { order, got: got.map((m) => ({ data: describeData(m.data), isBinary: m.isBinary })) };
    });
  });

  it('ping and pong: events with the payload, automatic pongs, autoPong: false', async () => {
    const trace = await sameForAllPairs(async (serverImpl, clientImpl) => {
      const server = await startServer(serverImpl, { autoPong: false });
      const { c, s } = await connectedPair(server, clientImpl);
      const cRec = record(c);
      const sRec = record(s);
      // The server does not answer pings (autoPong: false); the client does.
      s.on('message', (data: any) => s.send(data));
      c.ping('from client');
      c.send('sync');
      await messages(c, 1);
      s.ping(Buffer.from('from server'));
      s.send('sync2');
      await messages(c, 1);
      await once(s, 'pong');
      s.pong('unsolicited');
      await once(c, 'pong');
      return { client: cRec.events, server: sRec.events };
    });
    expect(trace.client.map((e) => e.event)).toEqual(['message', 'ping', 'message', 'pong']);
    expect(trace.server.map((e) => e.event)).toEqual(['ping', 'message', 'pong']);
  });

  it('ping/pong with callbacks and numbers; a control payload over 125 bytes throws as in ws', async () => {
    await sameForAllPairs(async (serverImpl, clientImpl) => {
      const server = await startServer(serverImpl);
      const { c, s } = await connectedPair(server, clientImpl);
      const pings: string[] = [];
      s.on('ping', (d: Buffer) => pings.push(d.toString()));
      const cbs: string[] = [];
      await new Promise<void>((resolve) => {
        c.ping(123, undefined, (err: unknown) => cbs.push(`ping ${err == null}`));
        c.ping((err: unknown) => cbs.push(`ping2 ${err == null}`));
        c.pong('x', true, (err: unknown) => {
          cbs.push(`pong ${err == null}`);
          resolve();
        });
      });
      let thrown: any;
      try {
        c.ping(Buffer.alloc(126));
      } catch (error) {
        thrown = error;
      }
      c.send('sync');
      await messages(s, 1);
      return { pings, cbs, thrown: { name: thrown?.constructor.name, message: thrown?.message } };
    });
  });

  it('properties: readyState constants, protocol, extensions, url, bufferedAmount, isPaused', async () => {
    await sameForAllPairs(async (serverImpl, clientImpl) => {
      const server = await startServer(serverImpl);
      const next = server.nextConnection();
      const c = new clientImpl.WebSocket(`${server.url}/path?q=1`);
      const before = {
        readyState: c.readyState,
        url: c.url,
        protocol: c.protocol,
        extensions: c.extensions,
        bufferedAmount: c.bufferedAmount,
        binaryType: c.binaryType,
        isPaused: c.isPaused,
      };
      c.on('error', () => {});
      await once(c, 'open');
      const [s] = await next;
      const constants = [
        c.CONNECTING,
        c.OPEN,
        c.CLOSING,
        c.CLOSED,
        clientImpl.WebSocket.CONNECTING,
        clientImpl.WebSocket.OPEN,
        clientImpl.WebSocket.CLOSING,
        clientImpl.WebSocket.CLOSED,
      ];
      const after = { readyState: c.readyState, protocol: c.protocol, extensions: c.extensions, bufferedAmount: c.bufferedAmount };
      const serverSide = { url: s.url ?? null, readyState: s.readyState, protocol: s.protocol, extensions: s.extensions };
      s.pause();
      const paused = s.isPaused;
      s.resume();
      const enumerable = Object.keys(Object.getPrototypeOf(c))
        .filter((k) => ['binaryType', 'bufferedAmount', 'extensions', 'isPaused', 'protocol', 'readyState', 'url', 'CONNECTING', 'onopen'].includes(k))
        .sort();
      c.terminate();
      return { before, after, constants, serverSide, paused, resumed: s.isPaused, enumerable };
    });
  });

  it('send before open throws; send after close calls back with an error and counts bufferedAmount', async () => {
    await sameForAllPairs(async (serverImpl, clientImpl) => {
      const server = await startServer(serverImpl);
      const c = new clientImpl.WebSocket(server.url);
      let thrown: any;
      try {
        c.send('too early');
      } catch (error) {
        thrown = error;
      }
      let pingThrown: any;
      try {
        c.ping();
      } catch (error) {
        pingThrown = error;
      }
      await once(c, 'open');
      c.close();
      const errors: string[] = [];
      await new Promise<void>((resolve) => {
        c.send('late', (err: Error) => errors.push(err.message));
        c.send(Buffer.alloc(10));
        c.ping('p', undefined, (err: Error) => {
          errors.push(err.message);
          resolve();
        });
      });
      const buffered = c.bufferedAmount;
      await once(c, 'close');
      const errorsClosed: string[] = [];
      await new Promise<void>((resolve) =>
        c.send('after close', (err: Error) => {
          errorsClosed.push(err.message);
          resolve();
        }),
      );
      return { thrown: thrown?.message, pingThrown: pingThrown?.message, errors, buffered, errorsClosed };
    });
  });

  it('pause() holds messages back until resume()', async () => {
    await sameForAllPairs(async (serverImpl, clientImpl) => {
      const server = await startServer(serverImpl);
      const { c, s } = await connectedPair(server, clientImpl);
      const got: string[] = [];
      c.on('message', (d: Buffer) => got.push(d.toString()));
      c.pause();
      const paused = c.isPaused;
      s.send('while paused');
      // The server learns when the message has been written; the client must not deliver it while paused.
      await new Promise<void>((resolve) => s.send('second', () => resolve()));
      const during = [...got];
      const both = messages(c, 2);
      c.resume();
      await both;
      return { paused, during, after: got, isPaused: c.isPaused };
    });
  });

  it('allowSynchronousEvents: false emits one event per macrotask, in order', async () => {
    await sameForBoth(async (impl) => {
      const server = await startServer(impl, { allowSynchronousEvents: false });
      const { c, s } = await connectedPair(server, impl);
      const seen: string[] = [];
      s.on('message', (d: Buffer) => {
        seen.push(`message ${d}`);
        queueMicrotask(() => seen.push('microtask'));
      });
      s.on('ping', () => seen.push('ping'));
      const done = messages(s, 3);
      c.send('a');
      c.ping();
      c.send('b');
      c.send('c');
      await done;
      return seen;
    });
  });
});

describe('permessage-deflate', () => {
  it('off by default on the server: nothing negotiated even though clients offer it', async () => {
    const trace = await sameForAllPairs(async (serverImpl, clientImpl) => {
      const server = await startServer(serverImpl);
      const { c, s, req } = await connectedPair(server, clientImpl);
      return { client: c.extensions, server: s.extensions, offered: typeof req.headers['sec-websocket-extensions'] };
    });
    expect(trace).toEqual({ client: '', server: '', offered: 'string' });
  });

  it('perMessageDeflate: true on the server: negotiated, large messages compressed on the wire, data intact', async () => {
    const text = 'compress me '.repeat(1000);
    const trace = await sameForAllPairs(async (serverImpl, clientImpl) => {
      const server = await startServer(serverImpl, { perMessageDeflate: true });
      const { c, s } = await connectedPair(server, clientImpl);
      s.on('message', (data: Buffer, isBinary: boolean) => s.send(data, { binary: isBinary }));
      const before = c._socket.bytesRead;
      c.send(text);
      c.send(Buffer.from(text));
      c.send('small');
      c.send(text, { compress: false });
      const got = await messages(c, 4);
      const wire = c._socket.bytesRead - before;
      return {
        extensions: [c.extensions, s.extensions],
        got: got.map((m) => ({ length: m.data.length, same: m.data.toString() === text || m.data.toString() === 'small', isBinary: m.isBinary })),
        // three of the four messages are 12 kB of repetitive text; one goes uncompressed
        compressed: wire < 2 * text.length,
      };
    });
    expect(trace.extensions).toEqual(['permessage-deflate', 'permessage-deflate']);
    expect(trace.compressed).toBe(true);
  });

  it('perMessageDeflate with *NoContextTakeover: false: context kept both ways, repeated messages shrink on the wire', async () => {
    // Not repetitive within itself, so only a kept window (the previous messages) makes it small.
    const text = Array.from({ length: 120 }, (_, i) => `${i}:${((i * 2654435761) % 1e9).toString(36)}`).join(',');
    const options = { perMessageDeflate: { threshold: 0, serverNoContextTakeover: false, clientNoContextTakeover: false } };
    const trace = await sameForAllPairs(async (serverImpl, clientImpl) => {
      const server = await startServer(serverImpl, options);
      const next = server.nextConnection();
      const c = await openClient(clientImpl, server.url, [], options);
      const [s] = await next;
      s.on('message', (data: Buffer, isBinary: boolean) => s.send(data, { binary: isBinary }));
      const sizes: number[] = [];
      for (let i = 0; i < 4; i++) {
        const before = c._socket.bytesRead;
        c.send(text);
        const [echo] = await messages(c, 1);
        if (echo!.data.toString() !== text) throw new Error('echo differs');
        sizes.push(c._socket.bytesRead - before);
      }
      return {
        contextKept: !/no_context_takeover/.test(c.extensions) && !/no_context_takeover/.test(s.extensions),
        // the second and later echoes refer back to the first one
        shrinks: sizes.slice(1).every((n) => n < sizes[0]! / 2),
      };
    });
    expect(trace).toEqual({ contextKept: true, shrinks: true });
  });

  it('perMessageDeflate: false on the client: no offer', async () => {
    await sameForAllPairs(async (serverImpl, clientImpl) => {
      const server = await startServer(serverImpl, { perMessageDeflate: true });
      const next = server.nextConnection();
      const c = await openClient(clientImpl, server.url, [], { perMessageDeflate: false });
      const [s, req] = await next;
      return { client: c.extensions, server: s.extensions, offered: req.headers['sec-websocket-extensions'] ?? null };
    });
  });
});

describe('limits', () => {
  it('maxPayload: the receiver fails with 1009 and WS_ERR_UNSUPPORTED_MESSAGE_LENGTH', async () => {
    const trace = await sameForAllPairs(async (serverImpl, clientImpl) => {
      const server = await startServer(serverImpl, { maxPayload: 1000 });
      const { c, s } = await connectedPair(server, clientImpl);
      const sRec = record(s);
      const cRec = record(c);
      c.send(Buffer.alloc(1000)); // at the limit: accepted
      await once(s, 'message');
      c.send(Buffer.alloc(1001));
      await Promise.all([sRec.closed, cRec.closed]);
      return { server: sRec.events, client: cRec.events };
    });
    expect(trace.server.find((e) => e.event === 'error')).toMatchObject({
      code: 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH',
      name: 'RangeError',
      message: 'Max payload size exceeded',
    });
    expect(trace.server.at(-1)).toMatchObject({ event: 'close', code: 1006 });
    expect(trace.client.at(-1)).toMatchObject({ event: 'close', code: 1009 });
  });

  it('maxPayload on the client', async () => {
    await sameForAllPairs(async (serverImpl, clientImpl) => {
      const server = await startServer(serverImpl);
      const next = server.nextConnection();
      const c = await openClient(clientImpl, server.url, undefined, { maxPayload: 10 });
      const [s] = await next;
      const cRec = record(c);
      const sRec = record(s);
      s.send('0123456789');
      s.send('0123456789x');
      await Promise.all([sRec.closed, cRec.closed]);
      return { server: sRec.events, client: cRec.events };
    });
  });

  it('a large message (3 MiB) crosses intact in both directions', async () => {
    const big = Buffer.alloc(3 * 1024 * 1024);
    for (let i = 0; i < big.length; i++) big[i] = (i * 7) & 0xff;
    for (const [serverImpl, clientImpl] of PAIRS) {
      const server = await startServer(serverImpl);
      const { c, s } = await connectedPair(server, clientImpl);
      s.on('message', (d: Buffer) => s.send(d));
      c.send(big);
      const [m] = await messages(c, 1, 15_000);
      expect(Buffer.compare(m.data, big)).toBe(0);
      await cleanup();
    }
  });
});

describe('the server-side WebSocket', () => {
  it('is an instance of the WebSocket class, or of options.WebSocket', async () => {
    class Custom extends bolt.WebSocket {
      custom = true;
    }
    const server = await startServer(bolt, { WebSocket: Custom });
    const { s } = await connectedPair(server, ws);
    expect(s).toBeInstanceOf(Custom);
    expect(s).toBeInstanceOf(bolt.WebSocket);
    expect(s.custom).toBe(true);
  });
});

describe('a listener that throws', () => {
  it('throws out of the socket read as in ws (left uncaught): no 1011, no error event', async () => {
    const trace = await sameForBoth(async (impl: Impl) => {
      const server = await startServer(impl);
      const { s } = await connectedPair(server, impl);
      const events: string[] = [];
      s.on('error', () => events.push('error'));
      s.on('message', () => {
        throw new Error('boom in a listener');
      });
      // The read is driven by hand so the exception surfaces here rather than as an uncaught exception.
      let thrown: unknown = null;
      try {
        s._socket.emit('data', frame({ opcode: 1, payload: 'hello', mask: true }));
      } catch (error) {
        thrown = error;
      }
      events.push(`readyState ${s.readyState}`);
      return { thrown: (thrown as Error | null)?.message ?? null, events };
    });
    expect(trace).toEqual({ thrown: 'boom in a listener', events: ['readyState 1'] });
  });
});
