/**
 * Helpers for the ws-compatibility tests: the two implementations under the
 * same interface (the `ws` package and wsbolt/ws), servers on 127.0.0.1 port
 * 0, clients, a recorder that turns a WebSocket's events into comparable
 * data, and the raw peers of test/kit/ adapted to traces (a fixed key, the
 * response as text). Cleanup is the kit's (afterEach(cleanup)).
 *
 * Nothing sleeps: every wait is for an event, bounded by a timeout that only
 * fails the test when the event never comes.
 */
import type * as net from 'node:net';
import { WebSocket as WsWebSocket, WebSocketServer as WsWebSocketServer, createWebSocketStream as wsCreateWebSocketStream } from 'ws';
import Bolt from '../../src/ws/index.js';
import {
  HOST,
  RFC_KEY,
  cleanup,
  defer,
  deferred,
  once,
  rawHttp,
  rawServer as kitRawServer,
  handshakeRequest,
  switchingProtocols,
  withTimeout,
} from '../kit/index.js';

export interface Impl {
  name: 'ws' | 'wsbolt';
  WebSocket: any;
  WebSocketServer: any;
  createWebSocketStream: any;
}

// (ws's ESM entry exports these by name; its default export lacks the static WebSocketServer.)
export const ws: Impl = { name: 'ws', WebSocket: WsWebSocket, WebSocketServer: WsWebSocketServer, createWebSocketStream: wsCreateWebSocketStream };
export const bolt: Impl = { name: 'wsbolt', WebSocket: Bolt, WebSocketServer: Bolt.WebSocketServer, createWebSocketStream: Bolt.createWebSocketStream };
export const IMPLS = [ws, bolt] as const;

/** [server, client] pairings; the first (ws with ws) is the reference. */
export const PAIRS: readonly (readonly [Impl, Impl])[] = [
  [ws, ws],
  [bolt, bolt],
  [bolt, ws],
  [ws, bolt],
];

export const pairName = ([s, c]: readonly [Impl, Impl]) => `${s.name} server, ${c.name} client`;

/**
 * Runs scenario for every pairing and expects each trace to equal the
 * reference (ws with ws); returns the reference trace for further checks.
 */
export async function sameForAllPairs<T>(scenario: (server: Impl, client: Impl) => Promise<T>, pairs = PAIRS): Promise<T> {
  const traces: { name: string; trace: T }[] = [];
  for (const pair of pairs) {
    traces.push({ name: pairName(pair), trace: snapshot(await labelled(pairName(pair), () => scenario(pair[0], pair[1]))) });
    await cleanup();
  }
  const reference = traces[0]!;
  for (const { name, trace } of traces.slice(1)) {
    expectEqualTrace(trace, reference.trace, `${name} vs ${reference.name}`);
  }
  return reference.trace;
}

/** Runs scenario on ws and on wsbolt (one implementation at a time) and expects the same trace. */
export async function sameForBoth<T>(scenario: (impl: Impl) => Promise<T>): Promise<T> {
  const reference = snapshot(await labelled('ws', () => scenario(ws)));
  await cleanup();
  const ours = snapshot(await labelled('wsbolt', () => scenario(bolt)));
  await cleanup();
  expectEqualTrace(ours, reference, 'wsbolt vs ws');
  return reference;
}

/** Runs one implementation's scenario; a failure says which implementation it came from. */
async function labelled<T>(name: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof Error) error.message = `${name}: ${error.message}`;
    throw error;
  }
}

/** A copy of the trace as it is now (later events must not change it), ports replaced by PORT. */
function snapshot<T>(trace: T): T {
  const json = JSON.stringify(trace);
  return json === undefined ? trace : JSON.parse(json.replace(/127\.0\.0\.1:\d+/g, '127.0.0.1:PORT'));
}

function expectEqualTrace(actual: unknown, expected: unknown, label: string): void {
  const a = JSON.stringify(actual, null, 1);
  const e = JSON.stringify(expected, null, 1);
  if (process.env.WS_TRACE) console.log(label, e);
  if (a !== e) throw new Error(`${label}: traces differ\n--- expected (ws)\n${e}\n--- actual\n${a}`);
}

// ---- servers and clients ------------------------------------------------------------

export interface Started {
  wss: any;
  port: number;
  url: string;
  /** Server-side WebSockets, in connection order. */
  connections: any[];
  /** The next server-side connection. */
  nextConnection(ms?: number): Promise<[any, any]>;
}

/**
 * A WebSocketServer listening on 127.0.0.1, port 0. Cleanup terminates its
 * connections (ws 8's close() leaves them open) and closes it.
 */
export async function startServer(impl: Impl, options: Record<string, unknown> = {}): Promise<Started> {
  const wss = new impl.WebSocketServer({ port: 0, host: HOST, ...options });
  const connections: any[] = [];
  const waiting: ((value: [any, any]) => void)[] = [];
  const queued: [any, any][] = [];
  wss.on('connection', (socket: any, req: any) => {
    connections.push(socket);
    const waiter = waiting.shift();
    if (waiter) waiter([socket, req]);
    else queued.push([socket, req]);
  });
  defer(async () => {
    for (const c of connections) c.terminate();
    await new Promise<void>((resolve) => wss.close(() => resolve()));
  });
  await once(wss, 'listening');
  const port = wss.address().port;
  return {
    wss,
    port,
    url: `ws://${HOST}:${port}`,
    connections,
    nextConnection(ms = 5000) {
      const ready = queued.shift();
      if (ready) return Promise.resolve(ready);
      return withTimeout(new Promise<[any, any]>((resolve) => waiting.push(resolve)), ms, 'connection');
    },
  };
}

/** A client, terminated at cleanup. */
export function client(impl: Impl, url: string, protocols?: unknown, options?: unknown): any {
  const socket = protocols === undefined && options === undefined ? new impl.WebSocket(url) : new impl.WebSocket(url, protocols, options);
  defer(() => {
    if (socket.readyState !== 3) {
      socket.on('error', () => {}); // terminate() while connecting emits 'error'
      const closed = once(socket, 'close');
      socket.terminate();
      return closed;
    }
  });
  return socket;
}

/** A client that is open. */
export async function openClient(impl: Impl, url: string, protocols?: unknown, options?: unknown): Promise<any> {
  const socket = client(impl, url, protocols, options);
  await new Promise<void>((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });
  return socket;
}

/** An open client and the matching server-side WebSocket. */
export async function connectedPair(server: Started, impl: Impl, protocols?: unknown, options?: unknown): Promise<{ c: any; s: any; req: any }> {
  const next = server.nextConnection();
  const c = await openClient(impl, server.url, protocols, options);
  const [s, req] = await next;
  return { c, s, req };
}

// ---- recording ------------------------------------------------------------------------

/** A message's data described by its type and bytes. */
export function describeData(data: any): { type: string; value: string | string[] } {
  if (typeof data === 'string') return { type: 'string', value: data };
  if (Buffer.isBuffer(data)) return { type: 'Buffer', value: data.toString('hex') };
  if (data instanceof ArrayBuffer) return { type: 'ArrayBuffer', value: Buffer.from(data).toString('hex') };
  if (Array.isArray(data)) return { type: 'Buffer[]', value: Buffer.concat(data).toString('hex') };
  if (typeof Blob !== 'undefined' && data instanceof Blob) return { type: 'Blob', value: `${data.size} bytes` };
  return { type: typeof data, value: String(data) };
}

export type Recorded =
  | { event: 'open'; readyState: number }
  | { event: 'message'; data: ReturnType<typeof describeData>; isBinary: boolean; readyState: number }
  | { event: 'ping' | 'pong'; data: string }
  | { event: 'error'; name: string; code: string | undefined; message: string; readyState: number }
  | { event: 'close'; code: number; reason: string; reasonIsBuffer: boolean; readyState: number };

/** Records a WebSocket's events; `closed` resolves after its 'close' event. */
export function record(socket: any): { events: Recorded[]; closed: Promise<void> } {
  const events: Recorded[] = [];
  const closed = deferred();
  socket.on('open', () => events.push({ event: 'open', readyState: socket.readyState }));
  socket.on('message', (data: any, isBinary: boolean) => events.push({ event: 'message', data: describeData(data), isBinary, readyState: socket.readyState }));
  socket.on('ping', (data: Buffer) => events.push({ event: 'ping', data: data.toString('hex') }));
  socket.on('pong', (data: Buffer) => events.push({ event: 'pong', data: data.toString('hex') }));
  socket.on('error', (error: any) =>
    events.push({ event: 'error', name: error.constructor.name, code: error.code, message: error.message, readyState: socket.readyState }),
  );
  socket.on('close', (code: number, reason: Buffer) => {
    events.push({ event: 'close', code, reason: reason.toString(), reasonIsBuffer: Buffer.isBuffer(reason), readyState: socket.readyState });
    closed.resolve();
  });
  return { events, closed: withTimeout(closed.promise, 5000, "'close' event") };
}

/** Resolves once the recorded events include n messages. */
export async function messages(socket: any, n: number, ms = 5000): Promise<any[]> {
  const got: any[] = [];
  return withTimeout(
    new Promise<any[]>((resolve) => {
      socket.on('message', function onMessage(data: any, isBinary: boolean) {
        got.push({ data, isBinary });
        if (got.length === n) {
          socket.removeListener('message', onMessage);
          resolve(got);
        }
      });
    }),
    ms,
    `${n} messages`,
  );
}

// ---- raw sockets, as traces ----------------------------------------------------------

export interface RawResponse {
  statusLine: string;
  headers: Record<string, string>;
  body: string;
}

/** Sends a raw HTTP request and reads the whole response until the server closes the connection. */
export async function rawRequest(port: number, request: string, ms = 5000): Promise<RawResponse> {
  const answer = await rawHttp(port, request, ms);
  return { statusLine: answer.statusLine, headers: answer.headers, body: answer.body.toString('latin1') };
}

/** A handshake request with the key of RFC 6455 §1.3 (so traces compare); a header with value '' is left out. */
export function upgradeRequest(path = '/', extra: Record<string, string> = {}, method = 'GET'): string {
  const headers: Record<string, string | null> = { 'Sec-WebSocket-Key': RFC_KEY };
  for (const [name, value] of Object.entries(extra)) headers[name] = value === '' ? null : value;
  return handshakeRequest(path, headers, `${method} ${path} HTTP/1.1`);
}

/**
 * A raw server: answers the opening handshake by hand (101 with the right
 * accept key, plus extra header lines) and hands the socket, flowing, and
 * the request head as text to onSocket.
 */
export async function rawServer(onSocket: (socket: net.Socket, request: string) => void, extraLines: string[] = []): Promise<{ url: string; port: number }> {
  return kitRawServer(({ socket, request }) => {
    socket.write(switchingProtocols(request, extraLines));
    onSocket(socket, request.head);
    socket.resume();
  });
}
