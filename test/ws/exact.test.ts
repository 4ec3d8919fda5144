/**
 * Issue 18: what a ws user could still tell apart from ws (other than speed),
 * each scenario run on ws and on wsbolt/ws with identical traces required.
 */
import { promises as fsp, openAsBlob } from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { HOST, RFC_KEY as KEY, cleanup, defer, deferred, duplexPair, frame, once, withTimeout } from '../kit/index.js';
import { type Impl, connectedPair, record, sameForAllPairs, sameForBoth, startServer, upgradeRequest } from './util.js';

afterEach(cleanup);

/** A port nothing listens on. */
async function refusedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, HOST, resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const describeError = (error: any) =>
  error == null ? null : { ctor: error.constructor.name, name: error.name, message: error.message, code: error.code, errno: error.errno };

/** Sends a raw upgrade request and returns the response head (the socket stays with the test). */
async function rawHandshake(port: number, extra: Record<string, string>): Promise<{ head: string; socket: net.Socket; rest: Buffer }> {
  const socket = net.connect(port, HOST);
  defer(() => socket.destroy());
  socket.on('error', () => {});
  await once(socket, 'connect');
  socket.write(upgradeRequest('/', extra));
  let buffer = Buffer.alloc(0);
  return withTimeout(
    new Promise((resolve) => {
      const onData = (chunk: Buffer) => {
        buffer = Buffer.concat([buffer, chunk]);
        const end = buffer.indexOf('\r\n\r\n');
        if (end === -1) return;
        socket.removeListener('data', onData);
        socket.pause();
        resolve({ head: buffer.subarray(0, end).toString('latin1'), socket, rest: buffer.subarray(end + 4) });
      };
      socket.on('data', onData);
    }),
    5000,
    'response head',
  );
}

/** Reads server frames from a raw socket until it closes. */
function readFrames(socket: net.Socket, first: Buffer): Promise<{ opcode: number; payload: Buffer }[]> {
  let buffer = first;
  const frames: { opcode: number; payload: Buffer }[] = [];
  const parse = () => {
    for (;;) {
      if (buffer.length < 2) return;
      let len = buffer[1]! & 0x7f;
      let offset = 2;
      if (len === 126) {
        if (buffer.length < 4) return;
        len = buffer.readUInt16BE(2);
        offset = 4;
      } else if (len === 127) {
        if (buffer.length < 10) return;
        len = Number(buffer.readBigUInt64BE(2));
        offset = 10;
      }
      if (buffer.length < offset + len) return;
      frames.push({ opcode: buffer[0]! & 0x0f, payload: Buffer.from(buffer.subarray(offset, offset + len)) });
      buffer = buffer.subarray(offset + len);
    }
  };
  parse();
  return withTimeout(
    new Promise((resolve) => {
      socket.on('data', (chunk: Buffer) => {
        buffer = Buffer.concat([buffer, chunk]);
        parse();
      });
      socket.on('close', () => resolve(frames));
      socket.resume();
    }),
    5000,
    'raw socket close',
  );
}

const closeFrames = (frames: { opcode: number; payload: Buffer }[]) =>
  frames
    .filter((f) => f.opcode === 8)
    .map((f) => (f.payload.length >= 2 ? { code: f.payload.readUInt16BE(0), reason: f.payload.subarray(2).toString() } : { code: 1005 }));

describe('1. close() or terminate() in the error listener of a failed connect', () => {
  for (const method of ['close', 'terminate'] as const) {
    it(`${method}() on ECONNREFUSED: no crash, 'error' then 'close' 1006`, async () => {
      const port = await refusedPort();
      const trace = await sameForBoth(async (impl: Impl) => {
        const socket = new impl.WebSocket(`ws://${HOST}:${port}`);
        const rec = record(socket);
        socket.on('error', () => socket[method]());
        await rec.closed;
        return rec.events;
      });
      expect(trace.map((e) => e.event)).toEqual(['error', 'close']);
    });
  }
});

describe('2. handleUpgrade over any Duplex', () => {
  it('an http.Server fed an in-memory duplex pair: open, echo, close 1000 on both sides', async () => {
    const trace = await sameForAllPairs(async (serverImpl, clientImpl) => {
      const [serverSide, clientSide] = duplexPair();
      const httpServer = http.createServer();
      const wss = new serverImpl.WebSocketServer({ noServer: true });
      const serverEvents = deferred<unknown[]>();
      httpServer.on('upgrade', (req, socket, head) => {
        wss.handleUpgrade(req, socket, head, (s: any) => {
          const rec = record(s);
          s.on('message', (data: Buffer, isBinary: boolean) => s.send(data, { binary: isBinary }));
          rec.closed.then(() => serverEvents.resolve(rec.events), serverEvents.reject);
        });
      });
      httpServer.emit('connection', serverSide);
      const c = new clientImpl.WebSocket('ws://in-memory/chat', { createConnection: () => clientSide, perMessageDeflate: false });
      const rec = record(c);
      await once(c, 'open');
      const echoed = once(c, 'message'); // an in-memory pair answers during send()
      c.send('over a pair');
      await echoed;
      c.close(1000, 'done');
      await rec.closed;
      return { client: rec.events, server: await withTimeout(serverEvents.promise, 5000, 'server close') };
    });
    expect(trace.client.map((e: any) => e.event)).toEqual(['open', 'message', 'close']);
  });
});

async function unreadableBlob(): Promise<Blob> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'wsbolt-blob-'));
  defer(() => fsp.rm(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'data');
  await fsp.writeFile(file, 'before');
  const blob = await openAsBlob(file);
  await fsp.writeFile(file, 'after the change');
  return blob;
}

describe('3. a Blob that cannot be read', () => {
  it("'error' (NotReadableError) once, the queued sends fail, the connection closes", async () => {
    const blob = await unreadableBlob();
    await sameForBoth(async (impl: Impl) => {
      const server = await startServer(impl);
      const { c, s } = await connectedPair(server, impl, undefined, { perMessageDeflate: false });
      const rec = record(c);
      const sRec = record(s);
      const callbacks: unknown[] = [];
      c.send(blob, (err: unknown) => callbacks.push(['blob', describeError(err)]));
      c.send('after', (err: unknown) => callbacks.push(['after', describeError(err)]));
      await Promise.all([rec.closed, sRec.closed]);
      return { callbacks, client: rec.events, server: sRec.events };
    });
  });
});

describe('4. an invalid Sec-WebSocket-Extensions offer', () => {
  const offers = [
    'permessage-deflate; server_max_window_bits=foo',
    'permessage-deflate; server_max_window_bits=7',
    'permessage-deflate; client_max_window_bits=16',
    'permessage-deflate; server_no_context_takeover=1',
    'permessage-deflate; foo=1',
    'permessage-deflate; server_max_window_bits=10; server_max_window_bits=10',
    'permessage-deflate, permessage-deflate; server_max_window_bits=foo',
    'permessage-deflate; server_max_window_bits=10, x-unknown',
    'permessage-deflate; client_max_window_bits',
    'x-unknown; foo=bar',
  ];
  it('the same HTTP answer as ws for each offer', async () => {
    await sameForBoth(async (impl: Impl) => {
      const server = await startServer(impl, { perMessageDeflate: true });
      const out: unknown[] = [];
      for (const offer of offers) {
        const { head, socket } = await rawHandshake(server.port, { 'Sec-WebSocket-Extensions': offer });
        socket.destroy();
        const lines = head.split('\r\n');
        out.push({ offer, status: lines[0], extensions: lines.find((l) => /^sec-websocket-extensions:/i.test(l)) ?? null });
      }
      return out;
    });
  });
});

describe('5. errors while tearing down', () => {
  it("terminate() while a Blob is being read: its callback and the queued ones get ws's error", async () => {
    await sameForBoth(async (impl: Impl) => {
      const server = await startServer(impl);
      const { c } = await connectedPair(server, impl, undefined, { perMessageDeflate: false });
      const rec = record(c);
      const callbacks: unknown[] = [];
      c.send(new Blob(['blob']), (err: unknown) => callbacks.push(['blob', describeError(err)]));
      c.send('queued', (err: unknown) => callbacks.push(['queued', describeError(err)]));
      c.terminate();
      await rec.closed;
      await withTimeout(
        new Promise<void>((resolve) => {
          const check = () => (callbacks.length === 2 ? resolve() : setImmediate(check));
          check();
        }),
        5000,
        'callbacks',
      );
      return { callbacks, client: rec.events };
    });
  });

  it("terminate() while a message is being compressed: the callback gets ws's error", async () => {
    await sameForBoth(async (impl: Impl) => {
      const server = await startServer(impl, { perMessageDeflate: true });
      const { c } = await connectedPair(server, impl);
      const rec = record(c);
      const result = deferred<unknown>();
      c.send('x'.repeat(256 * 1024), (err: unknown) => result.resolve(describeError(err)));
      c.terminate();
      await rec.closed;
      return { callback: await withTimeout(result.promise, 5000, 'callback'), client: rec.events };
    });
  });

  it("a corrupt compressed message: 'error' is zlib's (Z_DATA_ERROR with its errno), close 1007", async () => {
    await sameForBoth(async (impl: Impl) => {
      const server = await startServer(impl, { perMessageDeflate: true });
      const next = server.nextConnection();
      const { head, socket, rest } = await rawHandshake(server.port, { 'Sec-WebSocket-Extensions': 'permessage-deflate' });
      const [s] = await next;
      const sRec = record(s);
      const errors: unknown[] = [];
      s.on('error', (error: unknown) => errors.push(describeError(error)));
      const frames = readFrames(socket, rest);
      socket.write(frame({ opcode: 2, rsv: 0x40, payload: Buffer.from([0xff, 0xff, 0xff, 0xff]), mask: true }));
      await sRec.closed;
      return { head: head.split('\r\n')[0], errors, server: sRec.events, frames: closeFrames(await frames) };
    });
  });
});

describe('6. bufferedAmount', () => {
  for (const perMessageDeflate of [false, true]) {
    it(`after send() and after close(), as ws counts it (perMessageDeflate: ${perMessageDeflate})`, async () => {
      await sameForBoth(async (impl: Impl) => {
        const server = await startServer(impl, { perMessageDeflate });
        const { c } = await connectedPair(server, impl);
        const rec = record(c);
        const seen: number[] = [c.bufferedAmount];
        c.send('hello');
        seen.push(c.bufferedAmount);
        c.close();
        seen.push(c.bufferedAmount);
        c.send('abc');
        seen.push(c.bufferedAmount);
        await rec.closed;
        seen.push(c.bufferedAmount);
        return seen;
      });
    });
  }
});

describe('7. ws 8.23 options and defaults', () => {
  it('maxPendingAutoPongs (default 60): a peer with more automatic pongs pending is terminated', async () => {
    await sameForBoth(async (impl: Impl) => {
      const server = await startServer(impl);
      const next = server.nextConnection();
      const { socket, rest } = await rawHandshake(server.port, {});
      const [s] = await next;
      const sRec = record(s);
      const frames = readFrames(socket, rest);
      const ping = frame({ opcode: 9, payload: 'p', mask: true });
      socket.write(Buffer.concat(Array.from({ length: 61 }, () => ping)));
      await sRec.closed;
      socket.destroy();
      const got = await frames;
      return { pings: sRec.events.filter((e) => e.event === 'ping').length, close: sRec.events.at(-1), pongs: got.filter((f) => f.opcode === 10).length };
    });
  });

  it('maxFragments (default 16,384): one more closes with 1008 and WS_ERR_TOO_MANY_BUFFERED_PARTS', async () => {
    await sameForBoth(async (impl: Impl) => {
      const server = await startServer(impl);
      const next = server.nextConnection();
      const { socket, rest } = await rawHandshake(server.port, {});
      const [s] = await next;
      const sRec = record(s);
      const frames = readFrames(socket, rest);
      const first = frame({ opcode: 1, fin: false, payload: 'a', mask: true });
      const more = frame({ opcode: 0, fin: false, payload: 'a', mask: true });
      socket.write(Buffer.concat([first, ...Array.from({ length: 16 * 1024 }, () => more)]));
      await sRec.closed;
      return { server: sRec.events, frames: closeFrames(await frames) };
    });
  });

  it('maxBufferedChunks: more chunks held for one frame than allowed closes with 1008', async () => {
    await sameForBoth(async (impl: Impl) => {
      const [serverSide, clientSide] = duplexPair();
      const wss = new impl.WebSocketServer({ noServer: true, maxBufferedChunks: 4 });
      const req = {
        method: 'GET',
        url: '/',
        headers: { host: 'x', upgrade: 'websocket', connection: 'Upgrade', 'sec-websocket-key': KEY, 'sec-websocket-version': '13' },
        socket: {},
      };
      const opened = deferred<any>();
      wss.handleUpgrade(req, serverSide, Buffer.alloc(0), (s: any) => opened.resolve(s));
      const s = await withTimeout(opened.promise, 5000, 'connection');
      const sRec = record(s);
      clientSide.resume(); // reads (and so ends after) what the server sends
      const whole = frame({ opcode: 2, payload: Buffer.alloc(64, 7), mask: true });
      for (let i = 0; i < whole.length && !clientSide.destroyed; i += 4) clientSide.write(whole.subarray(i, i + 4));
      await sRec.closed;
      return sRec.events;
    });
  });

  it('permessage-deflate: the same offer and the same agreed parameters as ws (context takeover kept by default)', async () => {
    await sameForAllPairs(async (serverImpl, clientImpl) => {
      const server = await startServer(serverImpl, { perMessageDeflate: true });
      const next = server.nextConnection();
      const c = new clientImpl.WebSocket(server.url);
      defer(() => c.terminate());
      const upgraded = once(c, 'upgrade');
      const opened = once(c, 'open');
      const [res] = await upgraded;
      await opened;
      const [, req] = await next;
      return { offer: req.headers['sec-websocket-extensions'], agreed: res.headers['sec-websocket-extensions'], extensions: c.extensions };
    });
  });

  it('options.protocols, autoPong: false, closeTimeout as ws takes them', async () => {
    await sameForBoth(async (impl: Impl) => {
      const server = await startServer(impl, { autoPong: false, handleProtocols: (set: Set<string>) => [...set].at(-1) });
      const next = server.nextConnection();
      const c = new impl.WebSocket(server.url, { protocols: ['one', 'two'], closeTimeout: 50 });
      defer(() => c.terminate());
      const rec = record(c);
      await once(c, 'open');
      const [s] = await next;
      c.ping('p');
      await once(s, 'ping');
      c.close(1000);
      s.pause(); // no close frame comes back: closeTimeout ends it
      await rec.closed;
      return { protocol: c.protocol, events: rec.events };
    });
  });
});

describe('HTTP refusals, byte for byte (one refusal writer: the core builds them for wsbolt/ws too)', () => {
  /** The whole answer to a raw request, as the server wrote it, read until it closes the connection. */
  async function answer(port: number, request: string): Promise<string> {
    const socket = net.connect(port, HOST);
    defer(() => socket.destroy());
    socket.on('error', () => {});
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.write(request);
    await once(socket, 'close');
    return Buffer.concat(chunks).toString('latin1');
  }

  it("the same bytes as ws: handshake checks, path, verifyClient's code, message and headers", async () => {
    await sameForBoth(async (impl: Impl) => {
      const server = await startServer(impl, {
        path: '/ws',
        verifyClient: (info: { req: http.IncomingMessage }, done: (...args: unknown[]) => void) => {
          const who = info.req.headers['x-who'];
          if (who === 'teapot') done(false, 418, 'short and stout', { 'X-Tea': ['earl', 'grey'], 'Content-Type': 'text/plain', 'x-lower': 1 });
          else if (who === 'nobody') done(false);
          else done(true);
        },
      });
      const requests = [
        upgradeRequest('/ws', {}, 'POST'),
        upgradeRequest('/ws', { Upgrade: 'h2c' }),
        upgradeRequest('/ws', { 'Sec-WebSocket-Key': 'short' }),
        upgradeRequest('/ws', { 'Sec-WebSocket-Version': '12' }),
        upgradeRequest('/other'),
        upgradeRequest('/ws', { 'Sec-WebSocket-Protocol': 'a,,b' }),
        upgradeRequest('/ws', { 'X-Who': 'nobody' }),
        upgradeRequest('/ws', { 'X-Who': 'teapot' }),
      ];
      const out: string[] = [];
      for (const request of requests) out.push(await answer(server.port, request));
      return out;
    });
  });
});

describe('Sec-WebSocket-Protocol edge cases (the core parses it for both servers and checks the offer and the choice for both clients)', () => {
  /** The response head to a raw request (status line and headers), whatever the status. */
  async function headFor(port: number, request: string): Promise<string> {
    const socket = net.connect(port, HOST);
    defer(() => socket.destroy());
    socket.on('error', () => {});
    let buffer = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => (buffer = Buffer.concat([buffer, chunk])));
    socket.write(request);
    await withTimeout(
      new Promise<void>((resolve) => {
        const check = () => (buffer.includes('\r\n\r\n') ? resolve() : undefined);
        socket.on('data', check);
        socket.on('close', resolve);
      }),
      5000,
      'response head',
    );
    return buffer.subarray(0, buffer.indexOf('\r\n\r\n')).toString('latin1');
  }

  it('the server: duplicates, empty items, whitespace, invalid characters, repeated header lines', async () => {
    const values = ['a', 'a,b', 'a, b', 'a ,b', 'a\t,\tb', 'a, a', 'a,A', 'a,,b', ',a', 'a,', 'a b', 'a;b', 'a/b', '"a"', '', ' '];
    const trace = await sameForBoth(async (impl: Impl) => {
      const offered: string[][] = [];
      const server = await startServer(impl, {
        handleProtocols: (set: Set<string>) => {
          offered.push([...set]);
          return [...set].at(-1);
        },
      });
      const heads: string[] = [];
      for (const value of values)
        heads.push(await headFor(server.port, upgradeRequest('/', { 'Sec-WebSocket-Protocol': value || 'x' }).replace('x\r\n', `${value}\r\n`)));
      const twoLines = upgradeRequest('/', { 'Sec-WebSocket-Protocol': 'a' }).replace('\r\n\r\n', '\r\nSec-WebSocket-Protocol: b\r\n\r\n');
      heads.push(await headFor(server.port, twoLines));
      heads.push(await headFor(server.port, twoLines.replace('Protocol: b', 'Protocol: a')));
      return { heads, offered };
    });
    const statuses = trace.heads.map((head) => head.slice(9, 12));
    expect(statuses).toEqual(['101', '101', '101', '101', '101', '400', '101', ...Array<string>(9).fill('400'), '101', '400']);
    expect(trace.offered).toEqual([['a'], ['a', 'b'], ['a', 'b'], ['a', 'b'], ['a', 'b'], ['a', 'A'], ['a', 'b']]);
  });

  it('the server through handleUpgrade: whitespace at either end of the value (which no HTTP parser leaves) is refused as ws refuses it', async () => {
    const trace = await sameForBoth(async (impl: Impl) => {
      const wss = new impl.WebSocketServer({ noServer: true });
      defer(() => wss.close());
      const out: string[] = [];
      for (const value of [' a', 'a ', '\ta,b', 'a,b\t', 'a']) {
        const [ours, theirs] = duplexPair();
        defer(() => (ours.destroy(), theirs.destroy()));
        const chunks: Buffer[] = [];
        theirs.on('data', (chunk: Buffer) => chunks.push(chunk));
        const headers = {
          host: 'x',
          upgrade: 'websocket',
          connection: 'Upgrade',
          'sec-websocket-key': KEY,
          'sec-websocket-version': '13',
          'sec-websocket-protocol': value,
        };
        const req = Object.assign(Object.create(http.IncomingMessage.prototype), { method: 'GET', url: '/', headers, socket: ours });
        const opened = deferred<string>();
        wss.handleUpgrade(req, ours, Buffer.alloc(0), (ws: any) => {
          opened.resolve(`open ${ws.protocol}`);
          ws.terminate();
        });
        theirs.on('end', () => opened.resolve(Buffer.concat(chunks).toString('latin1').split('\r\n')[0]!));
        out.push(await withTimeout(opened.promise, 5000, 'handleUpgrade outcome'));
      }
      return out;
    });
    expect(trace).toEqual(['HTTP/1.1 400 Bad Request', 'HTTP/1.1 400 Bad Request', 'HTTP/1.1 400 Bad Request', 'HTTP/1.1 400 Bad Request', 'open a']);
  });

  it('the client: invalid or duplicated offers throw; a choice not offered, differing in case, or none fails the handshake', async () => {
    const trace = await sameForBoth(async (impl: Impl) => {
      const thrown: (string | null)[] = [];
      for (const offer of [['a', 'a'], ['a b'], [''], ['a,b'], ['é'], [1], ['a', 'A']]) {
        try {
          const c = new impl.WebSocket(`ws://${HOST}:1`, offer as string[]);
          c.on('error', () => {});
          c.terminate();
          thrown.push(null);
        } catch (error) {
          thrown.push(`${(error as Error).name}: ${(error as Error).message}`);
        }
      }
      const outcomes: unknown[] = [];
      for (const [chosen, offer] of [
        ['A', ['a']],
        ['a, b', ['a', 'b']],
        [null, ['a']],
        ['b', ['a', 'b']],
      ] as [string | null, string[]][]) {
        const server = await startServer(impl, { handleProtocols: () => chosen ?? false });
        const c = new impl.WebSocket(server.url, offer);
        defer(() => c.terminate());
        const rec = record(c);
        c.on('open', () => c.close());
        await rec.closed;
        outcomes.push({ chosen, protocol: c.protocol, events: rec.events });
      }
      return { thrown, outcomes };
    });
    expect(trace.thrown).toEqual([...Array<string>(6).fill('SyntaxError: An invalid or duplicated subprotocol was specified'), null]);
    const errors = trace.outcomes.map((outcome: any) => outcome.events[0].message ?? outcome.events[0].event);
    expect(errors).toEqual(['Server sent an invalid subprotocol', 'Server sent an invalid subprotocol', 'Server sent no subprotocol', 'open']);
  });
});
