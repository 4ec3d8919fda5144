/**
 * Helpers for the ws-compatibility tests: the two implementations under the
 * same interface (the `ws` package and wsbolt/ws), servers on 127.0.0.1 port
 * 0, clients, raw sockets that speak the handshake and the framing by hand
 * (frames from test/helpers.ts, written independently of src/), a recorder
 * that turns a WebSocket's events into comparable data, and cleanup.
 *
 * Nothing sleeps: every wait is for an event, bounded by a timeout that only
 * fails the test when the event never comes.
 */
import { createHash } from 'node:crypto';
import type { EventEmitter } from 'node:events';
import * as net from 'node:net';
import { WebSocket as WsWebSocket, WebSocketServer as WsWebSocketServer, createWebSocketStream as wsCreateWebSocketStream } from 'ws';
import Bolt from '../../src/ws/index.js';
import { frame, type FrameSpec } from '../helpers.js';

export const HOST = '127.0.0.1';
export const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
export const acceptFor = (key: string) => createHash('sha1').update(key + GUID).digest('base64');

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

// ---- cleanup ----------------------------------------------------------------------

const cleanups: (() => unknown)[] = [];

export function defer(fn: () => unknown): void {
  cleanups.push(fn);
}

/** afterEach(cleanup): terminates every client and server the test made. */
export async function cleanup(): Promise<void> {
  const errors: unknown[] = [];
  while (cleanups.length > 0) {
    const fn = cleanups.pop()!;
    try {
      await withTimeout(Promise.resolve().then(fn), 5000, 'cleanup');
    } catch (error) {
      errors.push(error);
    }
  }
  if (errors.length > 0) throw errors[0];
}

// ---- waiting ----------------------------------------------------------------------

import { withTimeout } from '../support.js';
export { withTimeout };

/** The arguments of the next emission of event. */
export function once<A extends any[] = any[]>(emitter: EventEmitter, event: string, ms = 5000): Promise<A> {
  return withTimeout(new Promise<A>((resolve) => emitter.once(event, (...args: any[]) => resolve(args as A))), ms, `event '${event}'`);
}

export interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
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
  socket.on('error', (error: any) => events.push({ event: 'error', name: error.constructor.name, code: error.code, message: error.message, readyState: socket.readyState }));
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

// ---- raw sockets ------------------------------------------------------------------------

export interface RawResponse {
  statusLine: string;
  headers: Record<string, string>;
  body: string;
}

function parseResponse(text: string): RawResponse {
  const end = text.indexOf('\r\n\r\n');
  const head = end === -1 ? text : text.slice(0, end);
  const body = end === -1 ? '' : text.slice(end + 4);
  const [statusLine, ...lines] = head.split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const i = line.indexOf(':');
    if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  return { statusLine: statusLine ?? '', headers, body };
}

/** Sends a raw HTTP request and reads the whole response until the server closes the connection. */
export function rawRequest(port: number, request: string, ms = 5000): Promise<RawResponse> {
  return withTimeout(
    new Promise<RawResponse>((resolve, reject) => {
      const socket = net.connect(port, HOST, () => socket.write(request));
      defer(() => socket.destroy());
      const chunks: Buffer[] = [];
      socket.on('data', (chunk) => chunks.push(chunk));
      socket.on('error', reject);
      socket.on('close', () => resolve(parseResponse(Buffer.concat(chunks).toString('latin1'))));
    }),
    ms,
    'raw response',
  );
}

export const KEY = 'dGhlIHNhbXBsZSBub25jZQ==';

export function upgradeRequest(path = '/', extra: Record<string, string> = {}, method = 'GET'): string {
  const headers: Record<string, string> = {
    Host: `${HOST}`,
    Upgrade: 'websocket',
    Connection: 'Upgrade',
    'Sec-WebSocket-Key': KEY,
    'Sec-WebSocket-Version': '13',
    ...extra,
  };
  let out = `${method} ${path} HTTP/1.1\r\n`;
  for (const [name, value] of Object.entries(headers)) if (value !== '') out += `${name}: ${value}\r\n`;
  return out + '\r\n';
}

/** Frames received by a raw socket, parsed (server frames are unmasked). */
export interface RawFrame {
  fin: boolean;
  opcode: number;
  payload: Buffer;
}

/**
 * A raw client that completes the opening handshake by hand, then lets the
 * test write frames and read the server's frames.
 */
export async function rawClient(port: number, path = '/'): Promise<{ socket: net.Socket; send(spec: FrameSpec): void; frames: RawFrame[]; nextFrame(ms?: number): Promise<RawFrame>; ended: Promise<void> }> {
  const socket = net.connect(port, HOST);
  defer(() => socket.destroy());
  await once(socket, 'connect');
  socket.write(upgradeRequest(path));
  let buffer = Buffer.alloc(0);
  let handshakeDone = false;
  const frames: RawFrame[] = [];
  const waiters: ((f: RawFrame) => void)[] = [];
  let taken = 0;
  const handshake = deferred();
  const ended = deferred();
  socket.on('close', () => ended.resolve());
  socket.on('error', () => {});
  socket.on('data', (chunk: Buffer) => {
    buffer = Buffer.concat([buffer, chunk]);
    if (!handshakeDone) {
      const end = buffer.indexOf('\r\n\r\n');
      if (end === -1) return;
      const head = buffer.subarray(0, end).toString('latin1');
      if (!head.startsWith('HTTP/1.1 101')) {
        handshake.reject(new Error(`handshake refused: ${head}`));
        return;
      }
      handshakeDone = true;
      buffer = buffer.subarray(end + 4);
      handshake.resolve();
    }
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
      const f = { fin: (buffer[0]! & 0x80) !== 0, opcode: buffer[0]! & 0x0f, payload: Buffer.from(buffer.subarray(offset, offset + len)) };
      buffer = buffer.subarray(offset + len);
      frames.push(f);
      const waiter = waiters.shift();
      if (waiter) {
        taken++;
        waiter(f);
      }
    }
  });
  await withTimeout(handshake.promise, 5000, 'raw handshake');
  return {
    socket,
    send: (spec) => socket.write(frame(spec)),
    frames,
    nextFrame(ms = 5000) {
      if (taken < frames.length) return Promise.resolve(frames[taken++]!);
      return withTimeout(new Promise<RawFrame>((resolve) => waiters.push(resolve)), ms, 'frame');
    },
    ended: withTimeout(ended.promise, 5000, 'raw socket close'),
  };
}

/**
 * A raw server: answers the opening handshake by hand (101 with the right
 * accept key, plus extra header lines) and hands the socket to onSocket.
 */
export async function rawServer(onSocket: (socket: net.Socket, request: string) => void, extraLines: string[] = []): Promise<{ url: string; port: number }> {
  const server = net.createServer((socket) => {
    socket.on('error', () => {});
    let buffer = '';
    const onData = (chunk: Buffer) => {
      buffer += chunk.toString('latin1');
      const end = buffer.indexOf('\r\n\r\n');
      if (end === -1) return;
      socket.removeListener('data', onData);
      const request = buffer.slice(0, end);
      const key = /sec-websocket-key:\s*(\S+)/i.exec(request)?.[1] ?? '';
      socket.write(['HTTP/1.1 101 Switching Protocols', 'Upgrade: websocket', 'Connection: Upgrade', `Sec-WebSocket-Accept: ${acceptFor(key)}`, ...extraLines, '', ''].join('\r\n'));
      onSocket(socket, request);
    };
    socket.on('data', onData);
    defer(() => socket.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, HOST, resolve));
  defer(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const port = (server.address() as net.AddressInfo).port;
  return { url: `ws://${HOST}:${port}`, port };
}

/** Parses a close frame's payload. */
export function closePayload(payload: Buffer): { code: number; reason: string } {
  return payload.length >= 2 ? { code: payload.readUInt16BE(0), reason: payload.subarray(2).toString() } : { code: 1005, reason: '' };
}
