/**
 * The usage examples from ws's README, each written once as a function of
 * the library module and run twice, changing nothing but the import: once on
 * `require('ws')` and once on wsbolt's `ws`-compatible module (its default
 * export, used the way ws's CommonJS export is used). Each example returns a
 * trace of what it observed (messages, order, close codes, events); both
 * traces must be equal, and the ws trace must be what the README promises.
 *
 * 127.0.0.1 only, port 0. No sleeps: every wait is for an event, bounded by
 * a timeout; the heartbeat example's 100 ms interval is the only timer.
 */
import * as http from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { HOST, withTimeout } from '../kit/index.js';

const require = createRequire(__filename);

type Lib = any;

const loadWs = async (): Promise<Lib> => require('ws');
const loadBolt = async (): Promise<Lib> => (await import('../../src/ws/index.js')).default;

// ---------------------------------------------------------------- helpers

/** Everything an example opened, closed after each test whatever happened. */
let open: (() => void)[] = [];

function track<T>(thing: T, close: (t: T) => void): T {
  open.push(() => close(thing));
  return thing;
}

function closeAll(): void {
  const list = open.reverse();
  open = [];
  for (const close of list) {
    try {
      close();
    } catch {
      // already closed
    }
  }
}

afterEach(closeAll);

/** withTimeout with the label first, as the examples read. */
function timeout<T>(promise: Promise<T>, label: string, ms = 5000): Promise<T> {
  return withTimeout(promise, ms, `waiting for ${label}`);
}

function once(emitter: any, event: string, label = event): Promise<any[]> {
  return timeout(new Promise((resolve) => emitter.once(event, (...args: any[]) => resolve(args))), label);
}

function wss(lib: Lib, options: Record<string, unknown>): any {
  const server = new lib.WebSocketServer(options);
  return track(server, (s) => {
    for (const client of s.clients ?? []) client.terminate();
    s.close();
  });
}

async function listeningWss(lib: Lib, options: Record<string, unknown> = {}): Promise<{ wss: any; url: string }> {
  const server = wss(lib, { port: 0, host: HOST, ...options });
  await once(server, 'listening');
  return { wss: server, url: `ws://${HOST}:${server.address().port}` };
}

async function httpServer(): Promise<{ server: http.Server; port: number }> {
  const server = track(http.createServer(), (s) => {
    s.closeAllConnections();
    s.close();
  });
  await timeout(new Promise<void>((resolve) => server.listen(0, HOST, resolve)), 'http listen');
  return { server, port: (server.address() as AddressInfo).port };
}

function client(lib: Lib, url: string, ...args: any[]): any {
  return track(new lib(url, ...args), (c) => c.terminate());
}

/** Resolves with the next n 'message' events as [text, isBinary]. */
function nextMessages(socket: any, n: number, label = 'messages'): Promise<[string, boolean][]> {
  const got: [string, boolean][] = [];
  return timeout(
    new Promise((resolve) => {
      const onMessage = (data: any, isBinary: boolean) => {
        got.push([Buffer.from(data).toString(), isBinary]);
        if (got.length === n) {
          socket.off('message', onMessage);
          resolve(got);
        }
      };
      socket.on('message', onMessage);
    }),
    label,
  );
}

const closed = (socket: any, label = 'close') => once(socket, 'close', label).then(([code, reason]) => [code, String(reason)]);

/** Runs the example on ws, then on wsbolt; expects equal traces and returns ws's. */
async function sameOnBoth<T>(example: (lib: Lib) => Promise<T>): Promise<T> {
  const reference = await example(await loadWs());
  closeAll();
  const ours = await example(await loadBolt());
  closeAll();
  expect(JSON.parse(JSON.stringify(ours)), 'wsbolt vs ws').toEqual(JSON.parse(JSON.stringify(reference)));
  return reference;
}

// ---------------------------------------------------------------- examples

/** "Simple server" + "Sending and receiving text data", the server echoing. */
async function echoServer(lib: Lib) {
  const WebSocket = lib;
  const { wss, url } = await listeningWss(lib);
  const serverClose = new Promise<any[]>((resolve) => {
    wss.on('connection', function connection(ws: any) {
      ws.on('error', console.error);
      ws.on('message', function message(data: any, isBinary: boolean) {
        ws.send(data, { binary: isBinary });
      });
      ws.on('close', (code: number, reason: Buffer) => resolve([code, reason.toString()]));
      ws.send('something');
    });
  });

  const ws = client(lib, url);
  ws.on('error', console.error);
  const events: string[] = [];
  ws.on('open', function open() {
    events.push(`open readyState=${ws.readyState === WebSocket.OPEN}`);
    ws.send('hello');
    ws.send(Buffer.from('binary'));
  });
  const received = await nextMessages(ws, 3);
  ws.close(1000, 'done');
  const clientClose = await closed(ws);
  return { events, received, clientClose, serverClose: await timeout(serverClose, 'server close') };
}

/** "Sending binary data": a Float32Array. */
async function sendingBinary(lib: Lib) {
  const { wss, url } = await listeningWss(lib);
  const atServer = new Promise<any>((resolve) => {
    wss.on('connection', (ws: any) => {
      ws.on('message', (data: Buffer, isBinary: boolean) => {
        const copy = Uint8Array.from(data);
        const floats = Array.from(new Float32Array(copy.buffer));
        resolve({ isBuffer: Buffer.isBuffer(data), isBinary, length: data.length, floats });
        ws.send(data);
      });
    });
  });
  const ws = client(lib, url);
  ws.on('open', function open() {
    const array = new Float32Array(5);
    for (let i = 0; i < array.length; ++i) array[i] = i / 2;
    ws.send(array);
  });
  const echoed = timeout(
    new Promise<any>((resolve) => ws.on('message', (data: Buffer, isBinary: boolean) => resolve({ isBinary, hex: data.toString('hex') }))),
    'echo',
  );
  return { server: await timeout(atServer, 'server message'), echoed: await echoed };
}

/** "Server broadcast": to all connected clients, including itself, or to everyone else. */
async function broadcast(lib: Lib, includeSelf: boolean) {
  const WebSocket = lib;
  const { wss, url } = await listeningWss(lib);
  wss.on('connection', function connection(ws: any) {
    ws.on('error', console.error);
    ws.on('message', function message(data: any, isBinary: boolean) {
      wss.clients.forEach(function each(client: any) {
        if (includeSelf ? client.readyState === WebSocket.OPEN : client !== ws && client.readyState === WebSocket.OPEN) {
          client.send(data, { binary: isBinary });
        }
      });
    });
  });
  const clients = [client(lib, url), client(lib, url), client(lib, url)];
  await Promise.all(clients.map((c, i) => once(c, 'open', `open ${i}`)));
  const [a, b, c] = clients;
  const count = async () =>
    await timeout(
      new Promise<number>((resolve) => {
        const check = () => (wss.clients.size === 3 ? resolve(wss.clients.size) : setImmediate(check));
        check();
      }),
      'three clients',
    );
  const size = await count();
  const received: Record<string, [string, boolean][]> = {};
  if (includeSelf) {
    const waits = clients.map((x, i) => nextMessages(x, 1, `message at ${i}`));
    a.send('hello all');
    [received.a, received.b, received.c] = await Promise.all(waits);
  } else {
    // A's message reaches B and C; then B's reaches A and C. A's first message is B's: it never got its own.
    const aWait = nextMessages(a, 1, 'message at a');
    const bWait = nextMessages(b, 1, 'message at b');
    const cWait = nextMessages(c, 2, 'messages at c');
    a.send('from a');
    received.b = await bWait;
    b.send(Buffer.from('from b'));
    [received.a, received.c] = await Promise.all([aWait, cWait]);
  }
  return { size, received };
}

/** "Client authentication": noServer + the HTTP server's 'upgrade' event, 401 for a bad token. */
async function upgradeAuthentication(lib: Lib) {
  const { server, port } = await httpServer();
  const wss_ = wss(lib, { noServer: true });
  function onSocketError(err: Error) {
    console.error(err);
  }
  function authenticate(request: http.IncomingMessage, next: (err: Error | null, client?: { user: string }) => void) {
    const token = request.headers.authorization;
    if (token === 'Bearer good') next(null, { user: 'alice' });
    else next(new Error('bad token'));
  }
  wss_.on('connection', function connection(ws: any, request: http.IncomingMessage, client: { user: string }) {
    ws.on('error', console.error);
    ws.on('message', function message(data: any) {
      ws.send(`${client.user} (${request.url}) said ${data}`);
    });
  });
  server.on('upgrade', function upgrade(request, socket, head) {
    socket.on('error', onSocketError);
    authenticate(request, function next(err, client) {
      if (err || !client) {
        socket.write('HTTP/1.1 401 Unauthorized\r\n\r\n');
        socket.destroy();
        return;
      }
      socket.removeListener('error', onSocketError);
      wss_.handleUpgrade(request, socket, head, function done(ws: any) {
        wss_.emit('connection', ws, request, client);
      });
    });
  });

  const good = client(lib, `ws://${HOST}:${port}/room`, { headers: { authorization: 'Bearer good' } });
  good.on('open', () => good.send('hi'));
  const [reply] = await nextMessages(good, 1, 'reply');
  good.close();
  const goodClose = await closed(good);

  // Without an 'unexpected-response' listener: an 'error' then 'close' 1006.
  const bad = client(lib, `ws://${HOST}:${port}/room`, { headers: { authorization: 'Bearer bad' } });
  const badEvents: string[] = [];
  bad.on('open', () => badEvents.push('open'));
  bad.on('error', (e: Error) => badEvents.push(`error: ${e.message}`));
  const badClose = await closed(bad);
  badEvents.push(`close ${badClose[0]}`);

  // With one: the response is handed over, no 'error'.
  const bad2 = client(lib, `ws://${HOST}:${port}/room`, { headers: { authorization: 'Bearer bad' } });
  const bad2Events: string[] = [];
  bad2.on('error', (e: Error) => bad2Events.push(`error: ${e.message}`));
  bad2.on('unexpected-response', (req: http.ClientRequest, res: http.IncomingMessage) => {
    bad2Events.push(`unexpected-response ${res.statusCode} readyState=${bad2.readyState} req=${req instanceof http.ClientRequest}`);
    // ws leaves the socket CONNECTING when someone handles the response: end it.
    res.resume();
    bad2.terminate();
  });
  const bad2Close = await closed(bad2);
  bad2Events.push(`close ${bad2Close[0]}`);
  return { reply, goodClose, badEvents, bad2Events };
}

/** verifyClient (async form) on a WebSocketServer attached to an http.Server. */
async function verifyClient(lib: Lib) {
  const { server, port } = await httpServer();
  const seen: string[] = [];
  const wss_ = wss(lib, {
    server,
    verifyClient(info: { origin: string; secure: boolean; req: http.IncomingMessage }, cb: (ok: boolean, code?: number, message?: string) => void) {
      seen.push(`${info.req.url} secure=${info.secure} origin=${info.origin}`);
      if (info.req.headers['x-token'] === 'good') cb(true);
      else cb(false, 401, 'Unauthorized');
    },
  });
  wss_.on('connection', (ws: any) => ws.send('welcome'));
  const good = client(lib, `ws://${HOST}:${port}/a`, { headers: { 'x-token': 'good' }, origin: 'http://example.com' });
  const [welcome] = await nextMessages(good, 1, 'welcome');
  good.close(4000);
  const goodClose = await closed(good);
  const bad = client(lib, `ws://${HOST}:${port}/b`);
  const events: string[] = [];
  bad.on('unexpected-response', (req: http.ClientRequest, res: http.IncomingMessage) => {
    events.push(`unexpected-response ${res.statusCode} ${res.statusMessage} ${req.method}`);
    res.resume();
    bad.terminate();
  });
  bad.on('error', (e: Error) => events.push(`error: ${e.message}`));
  events.push(`close ${(await closed(bad))[0]}`);
  return { seen, welcome, goodClose, events };
}

/** "Multiple servers sharing a single HTTP/S server", routed by pathname. */
async function multipleServers(lib: Lib) {
  const { server, port } = await httpServer();
  const wss1 = wss(lib, { noServer: true });
  const wss2 = wss(lib, { noServer: true });
  wss1.on('connection', function connection(ws: any) {
    ws.on('error', console.error);
    ws.send('wss1');
  });
  wss2.on('connection', function connection(ws: any) {
    ws.on('error', console.error);
    ws.send('wss2');
  });
  server.on('upgrade', function upgrade(request, socket, head) {
    const { pathname } = new URL(request.url!, 'wss://base.url');
    if (pathname === '/foo') {
      wss1.handleUpgrade(request, socket, head, function done(ws: any) {
        wss1.emit('connection', ws, request);
      });
    } else if (pathname === '/bar') {
      wss2.handleUpgrade(request, socket, head, function done(ws: any) {
        wss2.emit('connection', ws, request);
      });
    } else {
      socket.destroy();
    }
  });
  const result: Record<string, unknown> = {};
  for (const path of ['/foo', '/bar', '/bar?x=1']) {
    const c = client(lib, `ws://${HOST}:${port}${path}`);
    result[path] = (await nextMessages(c, 1, path))[0];
    c.close();
    await closed(c);
  }
  const stray = client(lib, `ws://${HOST}:${port}/baz`);
  const events: string[] = [];
  stray.on('open', () => events.push('open'));
  stray.on('error', (e: Error) => events.push(`error: ${e.message}`));
  events.push(`close ${(await closed(stray))[0]}`);
  result['/baz'] = events;
  result.clients = [wss1.clients.size, wss2.clients.size];
  return result;
}

/** A client sending custom headers; the server sees them on the upgrade request. */
async function customHeaders(lib: Lib) {
  const { wss, url } = await listeningWss(lib);
  const seen = new Promise<any>((resolve) => {
    wss.on('connection', (ws: any, req: http.IncomingMessage) => {
      resolve({ custom: req.headers['x-custom'], auth: req.headers.authorization, multi: req.headers['x-multi'] });
      ws.send(String(req.headers['x-custom']));
    });
  });
  const ws = client(lib, url, { headers: { 'X-Custom': 'hello there', Authorization: 'Basic dXNlcjpwYXNz', 'x-multi': 'a' } });
  const [echoed] = await nextMessages(ws, 1);
  ws.close();
  await closed(ws);
  return { seen: await timeout(seen, 'connection'), echoed };
}

/** "How to detect and close broken connections?": server ping + isAlive + terminate, and the client-side recipe. */
async function heartbeat(lib: Lib) {
  const INTERVAL = 100;
  const { wss, url } = await listeningWss(lib);
  function heartbeat(this: any) {
    this.isAlive = true;
  }
  const serverCloses: Record<string, unknown> = {};
  const deadAtServer = new Promise<void>((resolve) => {
    wss.on('connection', function connection(ws: any, req: http.IncomingMessage) {
      const name = req.url!.slice(1);
      ws.isAlive = true;
      ws.on('error', console.error);
      ws.on('pong', heartbeat);
      ws.on('close', (code: number) => {
        serverCloses[name] = code;
        if (name === 'dead') resolve();
      });
    });
  });
  const interval = setInterval(function ping() {
    wss.clients.forEach(function each(ws: any) {
      if (ws.isAlive === false) return ws.terminate();
      ws.isAlive = false;
      ws.ping();
    });
  }, INTERVAL);
  track(interval, clearInterval);
  wss.on('close', function close() {
    clearInterval(interval);
  });

  // The client-side recipe on the live client (it pongs automatically).
  const alive = client(lib, `${url}/alive`);
  let alivePings = 0;
  let aliveTerminatedByTimer = false;
  function clientHeartbeat(this: any) {
    clearTimeout(this.pingTimeout);
    this.pingTimeout = setTimeout(() => {
      aliveTerminatedByTimer = true;
      this.terminate();
    }, INTERVAL * 5);
  }
  alive.on('open', clientHeartbeat);
  alive.on('ping', () => alivePings++);
  alive.on('ping', clientHeartbeat);
  alive.on('close', function clear(this: any) {
    clearTimeout(this.pingTimeout);
  });

  // A client that never answers pings.
  const dead = client(lib, `${url}/dead`, { autoPong: false });
  let deadPings = 0;
  dead.on('ping', () => deadPings++);
  const deadClose = closed(dead, 'dead client close');
  await Promise.all([once(alive, 'open', 'alive open'), once(dead, 'open', 'dead open')]);

  await timeout(deadAtServer, 'dead client terminated', 5000);
  const serverClosesWhenDeadTerminated = { ...serverCloses };
  const deadClientClose = await deadClose;
  const aliveState = alive.readyState;
  const aliveAtServer = timeout(new Promise<void>((resolve) => [...wss.clients][0].once('close', () => resolve())), 'alive closed at the server');
  alive.close(1000, 'bye');
  const aliveClose = await closed(alive, 'alive close');
  await aliveAtServer;
  return {
    serverClosesWhenDeadTerminated,
    deadClientClose,
    deadGotPings: deadPings >= 1,
    aliveGotPings: alivePings >= 1,
    aliveStillOpen: aliveState === lib.OPEN,
    aliveTerminatedByTimer,
    aliveClose,
    serverClosesAtEnd: { ...serverCloses },
  };
}

/** "Use the Node.js streams API": createWebSocketStream on both ends, the server piping its duplex into itself. */
async function streams(lib: Lib) {
  const { WebSocket, createWebSocketStream } = lib;
  const { wss, url } = await listeningWss(lib);
  const serverClose = new Promise<any[]>((resolve) => {
    wss.on('connection', (ws: any) => {
      const duplex = createWebSocketStream(ws);
      duplex.on('error', console.error);
      duplex.pipe(duplex);
      ws.on('close', (code: number, reason: Buffer) => resolve([code, reason.toString()]));
    });
  });
  const ws = track(new WebSocket(url), (c: any) => c.terminate());
  const duplex = createWebSocketStream(ws, { encoding: 'utf8' });
  duplex.on('error', console.error);
  const expected = 'hello, streams! ' + 'x'.repeat(2000) + ' ünïcödé';
  let text = '';
  const allEchoed = timeout(
    new Promise<void>((resolve) => {
      duplex.on('data', (chunk: string) => {
        text += chunk;
        if (text.length >= expected.length) resolve();
      });
    }),
    'echo through the streams',
  );
  duplex.write('hello, ');
  duplex.write(Buffer.from('streams! '));
  duplex.write('x'.repeat(2000));
  duplex.write(' ünïcödé');
  await allEchoed;
  const duplexEnd = once(duplex, 'end', 'duplex end');
  const duplexClose = once(duplex, 'close', 'duplex close');
  const clientClose = closed(ws);
  duplex.end();
  await duplexEnd;
  await duplexClose;
  return {
    equal: text === expected,
    length: text.length,
    clientClose: await clientClose,
    serverClose: await timeout(serverClose, 'server close'),
    destroyed: duplex.destroyed,
  };
}

/** binaryType = 'arraybuffer' on the client (and nodebuffer, the default, for contrast). */
async function binaryTypeArrayBuffer(lib: Lib) {
  const { wss, url } = await listeningWss(lib);
  wss.on('connection', (ws: any) => {
    ws.send(Buffer.from([1, 2, 3, 250]));
    ws.send('text');
    ws.send(new Uint8Array([9, 8, 7]));
  });
  const ws = client(lib, url);
  const initial = ws.binaryType;
  ws.binaryType = 'arraybuffer';
  const got: unknown[] = [];
  const done = timeout(
    new Promise<void>((resolve) => {
      ws.on('message', (data: any, isBinary: boolean) => {
        got.push({ isArrayBuffer: data instanceof ArrayBuffer, isBuffer: Buffer.isBuffer(data), isBinary, bytes: Array.from(new Uint8Array(data)) });
        if (got.length === 3) resolve();
      });
    }),
    'three messages',
  );
  const viaEvent: unknown[] = [];
  ws.addEventListener('message', (event: any) => viaEvent.push(event.data instanceof ArrayBuffer ? 'ArrayBuffer' : typeof event.data));
  await done;
  ws.close();
  await closed(ws);
  return { initial, after: ws.binaryType, got, viaEvent };
}

// ---------------------------------------------------------------- tests

describe("ws README examples, run unchanged on ws and on wsbolt's ws API", () => {
  it('the default export carries the statics ws code uses', async () => {
    for (const lib of [await loadWs(), await loadBolt()]) {
      expect(typeof lib).toBe('function');
      expect(lib.WebSocket).toBe(lib);
      expect(lib.Server).toBe(lib.WebSocketServer);
      expect(typeof lib.createWebSocketStream).toBe('function');
      expect([lib.CONNECTING, lib.OPEN, lib.CLOSING, lib.CLOSED]).toEqual([0, 1, 2, 3]);
    }
  });

  it('echo server', async () => {
    const trace = await sameOnBoth(echoServer);
    expect(trace).toEqual({
      events: ['open readyState=true'],
      received: [
        ['something', false],
        ['hello', false],
        ['binary', true],
      ],
      clientClose: [1000, 'done'],
      serverClose: [1000, 'done'],
    });
  });

  it('sending binary data (Float32Array)', async () => {
    const trace = await sameOnBoth(sendingBinary);
    expect(trace.server).toEqual({ isBuffer: true, isBinary: true, length: 20, floats: [0, 0.5, 1, 1.5, 2] });
    expect(trace.echoed.isBinary).toBe(true);
  });

  it('broadcast to all connected clients, including itself', async () => {
    const trace = await sameOnBoth((lib) => broadcast(lib, true));
    expect(trace).toEqual({ size: 3, received: { a: [['hello all', false]], b: [['hello all', false]], c: [['hello all', false]] } });
  });

  it('broadcast to every other client (client !== ws && readyState === OPEN)', async () => {
    const trace = await sameOnBoth((lib) => broadcast(lib, false));
    expect(trace).toEqual({
      size: 3,
      received: {
        b: [['from a', false]],
        a: [['from b', true]],
        c: [
          ['from a', false],
          ['from b', true],
        ],
      },
    });
  });

  it("client authentication in the HTTP server's 'upgrade' handler (noServer), 401 for a bad token", async () => {
    const trace = await sameOnBoth(upgradeAuthentication);
    expect(trace).toEqual({
      reply: ['alice (/room) said hi', false],
      goodClose: [1005, ''],
      badEvents: ['error: Unexpected server response: 401', 'close 1006'],
      bad2Events: ['unexpected-response 401 readyState=0 req=true', 'error: WebSocket was closed before the connection was established', 'close 1006'],
    });
  });

  it('verifyClient (async) on a server attached to an http.Server', async () => {
    const trace = await sameOnBoth(verifyClient);
    expect(trace.seen).toEqual(['/a secure=false origin=http://example.com', '/b secure=false origin=undefined']);
    expect(trace.welcome).toEqual(['welcome', false]);
    expect(trace.goodClose).toEqual([4000, '']);
    expect(trace.events).toEqual([
      'unexpected-response 401 Unauthorized GET',
      'error: WebSocket was closed before the connection was established',
      'close 1006',
    ]);
  });

  it('multiple noServer WebSocketServers on one HTTP server, routed by pathname', async () => {
    const trace = await sameOnBoth(multipleServers);
    expect(trace['/foo']).toEqual(['wss1', false]);
    expect(trace['/bar']).toEqual(['wss2', false]);
    expect(trace['/bar?x=1']).toEqual(['wss2', false]);
    expect(trace['/baz']).toEqual(['error: socket hang up', 'close 1006']);
  });

  it('client with custom headers: the server sees them', async () => {
    const trace = await sameOnBoth(customHeaders);
    expect(trace).toEqual({ seen: { custom: 'hello there', auth: 'Basic dXNlcjpwYXNz', multi: 'a' }, echoed: ['hello there', false] });
  });

  it('heartbeat: ping every 100 ms, terminate the client that does not pong (autoPong: false)', async () => {
    const trace = await sameOnBoth(heartbeat);
    expect(trace).toEqual({
      serverClosesWhenDeadTerminated: { dead: 1006 },
      deadClientClose: [1006, ''],
      deadGotPings: true,
      aliveGotPings: true,
      aliveStillOpen: true,
      aliveTerminatedByTimer: false,
      aliveClose: [1000, 'bye'],
      serverClosesAtEnd: { dead: 1006, alive: 1000 },
    });
  });

  it('createWebSocketStream: a duplex echo', async () => {
    const trace = await sameOnBoth(streams);
    expect(trace).toMatchObject({ equal: true, clientClose: [1005, ''], serverClose: [1005, ''] });
  });

  it("binaryType = 'arraybuffer'", async () => {
    const trace = await sameOnBoth(binaryTypeArrayBuffer);
    expect(trace.initial).toBe('nodebuffer');
    expect(trace.after).toBe('arraybuffer');
    expect(trace.viaEvent).toEqual(['ArrayBuffer', 'string', 'ArrayBuffer']);
    expect(trace.got).toEqual([
      { isArrayBuffer: true, isBuffer: false, isBinary: true, bytes: [1, 2, 3, 250] },
      // A text message still arrives as a Buffer on 'message' (isBinary false), as in ws.
      { isArrayBuffer: false, isBuffer: true, isBinary: false, bytes: [116, 101, 120, 116] },
      { isArrayBuffer: true, isBuffer: false, isBinary: true, bytes: [9, 8, 7] },
    ]);
  });
});
