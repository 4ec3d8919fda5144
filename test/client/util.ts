/**
 * Shared helpers for the client tests: servers on an ephemeral port (ours,
 * `ws`, and raw `net` servers that speak the handshake and the framing by
 * hand, written independently of src/), a recorder for the client's handler
 * callbacks, and waiting with upper bounds. Nothing here sleeps: every wait is
 * for an event, and its timer only fails the test when the event never comes.
 *
 * Every server and client made through these helpers is registered for
 * cleanup; each test file calls `afterEach(cleanup)`.
 */
import { createHash } from 'node:crypto';
import * as net from 'node:net';
import { WebSocketServer } from 'ws';
import { type CloseCause, type ConnectOptions, type ServeOptions, type Server, type WebSocket, connect, serve } from '../../src/index.js';
import { frame } from '../helpers.js';

export const HOST = '127.0.0.1';
export const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** Sec-WebSocket-Accept computed here, not by src/. */
export const acceptFor = (key: string) => createHash('sha1').update(key + GUID).digest('base64');

// ---- cleanup ----------------------------------------------------------------

const cleanups: (() => unknown)[] = [];

/** Registers something to undo after the current test (run in reverse order). */
export function defer(fn: () => unknown): void {
  cleanups.push(fn);
}

/** afterEach(cleanup) in every file: closes every server and client the test made. */
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

// ---- waiting ----------------------------------------------------------------

import { withTimeout } from '../support.js';
export { withTimeout };

export interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
  settled: boolean;
}

export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const d = {
    promise: new Promise<T>((res, rej) => {
      resolve = res;
      reject = rej;
    }),
    settled: false,
  } as Deferred<T>;
  d.resolve = (value) => {
    d.settled = true;
    resolve(value);
  };
  d.reject = (error) => {
    d.settled = true;
    reject(error);
  };
  return d;
}

/** Events in arrival order; next() waits (with an upper bound) for the next one. */
export class Queue<T> {
  readonly seen: T[] = [];
  private readonly items: T[] = [];
  private readonly waiters: ((item: T) => void)[] = [];

  constructor(readonly label = 'event') {}

  push = (item: T): void => {
    this.seen.push(item);
    const waiter = this.waiters.shift();
    if (waiter) waiter(item);
    else this.items.push(item);
  };

  /** Drops (and returns) the items not yet taken. */
  clear(): T[] {
    return this.items.splice(0);
  }

  get length(): number {
    return this.items.length;
  }

  next(ms = 5000): Promise<T> {
    if (this.items.length > 0) return Promise.resolve(this.items.shift()!);
    let waiter!: (item: T) => void;
    const p = new Promise<T>((resolve) => {
      waiter = resolve;
      this.waiters.push(waiter);
    });
    return withTimeout(p, ms, `waiting for ${this.label}`).catch((error) => {
      const i = this.waiters.indexOf(waiter);
      if (i !== -1) this.waiters.splice(i, 1);
      throw error;
    });
  }

  /** The next n items. */
  async take(n: number, ms = 5000): Promise<T[]> {
    const out: T[] = [];
    const deadline = Date.now() + ms;
    while (out.length < n) out.push(await this.next(Math.max(1, deadline - Date.now())));
    return out;
  }
}

/** Resolves with the error a promise (or a function that may throw synchronously) fails with. */
export async function failure(fn: () => Promise<unknown>): Promise<any> {
  try {
    const value = await fn();
    throw new Error(`expected a failure, got ${String(value)}`);
  } catch (error) {
    return error;
  }
}

// ---- the client -------------------------------------------------------------

export interface Closed {
  code: number;
  reason: string;
  cause: CloseCause;
}

/** A handler that records every client callback. */
export function recorder<T = unknown>() {
  const opens = new Queue<WebSocket<T>>('open');
  const messages = new Queue<{ data: Buffer; isBinary: boolean }>('message');
  const pings = new Queue<Buffer>('ping');
  const pongs = new Queue<Buffer>('pong');
  const drains = new Queue<WebSocket<T>>('drain');
  const closes = new Queue<Closed>('close');
  const handler = {
    open: (ws: WebSocket<T>) => opens.push(ws),
    message: (_ws: WebSocket<T>, data: Buffer, isBinary: boolean) => messages.push({ data, isBinary }),
    ping: (_ws: WebSocket<T>, data: Buffer) => pings.push(Buffer.from(data)),
    pong: (_ws: WebSocket<T>, data: Buffer) => pongs.push(Buffer.from(data)),
    drain: (ws: WebSocket<T>) => drains.push(ws),
    close: (_ws: WebSocket<T>, code: number, reason: string, cause: CloseCause) => closes.push({ code, reason, cause }),
  };
  return { handler, opens, messages, pings, pongs, drains, closes };
}

/** connect() with a recorder, the connection terminated after the test. */
export async function client<T = unknown>(url: string, options: ConnectOptions<T> = {}) {
  const rec = recorder<T>();
  const ws = await connect<T>(url, { ...rec.handler, ...options });
  defer(() => ws.terminate());
  return { ws, ...rec };
}

// ---- servers under test -----------------------------------------------------

export type Kind = 'wsbolt' | 'ws';
export const KINDS: Kind[] = ['wsbolt', 'ws'];

/** One server-side connection, whichever library runs it. */
export interface Peer {
  /** The request target the client asked for. */
  url: string;
  headers: Record<string, string | string[] | undefined>;
  protocol: string;
  messages: Queue<{ data: Buffer; isBinary: boolean }>;
  pings: Queue<Buffer>;
  pongs: Queue<Buffer>;
  /** The closing handshake (or its absence) as the server saw it. */
  closed: Promise<{ code: number; reason: string }>;
  send(data: string | Buffer, options?: { binary?: boolean; fin?: boolean }): void;
  ping(data: string | Buffer): void;
  pong(data: string | Buffer): void;
  close(code?: number, reason?: string): void;
  terminate(): void;
}

export interface TestServer {
  kind: Kind;
  port: number;
  url: string;
  /** Server-side connections as they open. */
  peers: Queue<Peer>;
}

/** A server of the given kind on 127.0.0.1:0 that echoes every message (unless echo is false). */
export async function startServer(kind: Kind, options: { echo?: boolean; host?: string; protocols?: string[] } = {}): Promise<TestServer> {
  const echo = options.echo !== false;
  const host = options.host ?? HOST;
  const peers = new Queue<Peer>('server connection');
  const urlHost = host.includes(':') ? `[${host}]` : host;

  if (kind === 'wsbolt') {
    const state = new WeakMap<WebSocket<any>, { peer: Peer; closed: Deferred<{ code: number; reason: string }> }>();
    const server = await serve<{ url: string; headers: Record<string, string | string[] | undefined> }>({
      port: 0,
      host,
      ...(options.protocols ? { protocols: options.protocols } : {}),
      upgrade: (req) => ({ data: { url: req.url, headers: req.headers } }),
      open(ws) {
        const closed = deferred<{ code: number; reason: string }>();
        const peer: Peer = {
          url: ws.data.url,
          headers: ws.data.headers,
          protocol: ws.protocol,
          messages: new Queue('server message'),
          pings: new Queue('server ping'),
          pongs: new Queue('server pong'),
          closed: closed.promise,
          send: (data, o) => void ws.send(data, o),
          ping: (data) => void ws.ping(data),
          pong: (data) => void ws.pong(data),
          close: (code, reason) => ws.close(code, reason),
          terminate: () => ws.terminate(),
        };
        state.set(ws, { peer, closed });
        peers.push(peer);
      },
      message(ws, data, isBinary) {
        state.get(ws)!.peer.messages.push({ data: Buffer.from(data), isBinary });
        if (echo) ws.send(data, { binary: isBinary });
      },
      ping: (ws, data) => state.get(ws)!.peer.pings.push(Buffer.from(data)),
      pong: (ws, data) => state.get(ws)!.peer.pongs.push(Buffer.from(data)),
      close: (ws, code, reason) => state.get(ws)?.closed.resolve({ code, reason }),
    });
    defer(() => server.close({ timeout: 200 }));
    return { kind, port: server.port, url: `ws://${urlHost}:${server.port}`, peers };
  }

  const wss = new WebSocketServer({
    port: 0,
    host,
    ...(options.protocols ? { handleProtocols: (offered: Set<string>) => options.protocols!.find((p) => offered.has(p)) ?? false } : {}),
  });
  await new Promise<void>((resolve, reject) => {
    wss.once('listening', resolve);
    wss.once('error', reject);
  });
  defer(
    () =>
      new Promise<void>((resolve) => {
        for (const c of wss.clients) c.terminate();
        wss.close(() => resolve());
      }),
  );
  wss.on('connection', (ws: any, req: any) => {
    const closed = deferred<{ code: number; reason: string }>();
    const peer: Peer = {
      url: req.url,
      headers: req.headers,
      protocol: ws.protocol,
      messages: new Queue('server message'),
      pings: new Queue('server ping'),
      pongs: new Queue('server pong'),
      closed: closed.promise,
      send: (data, o) => ws.send(data, o ?? {}),
      ping: (data) => ws.ping(data),
      pong: (data) => ws.pong(data),
      close: (code, reason) => ws.close(code, reason),
      terminate: () => ws.terminate(),
    };
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      peer.messages.push({ data: Buffer.from(data), isBinary });
      if (echo) ws.send(data, { binary: isBinary });
    });
    ws.on('ping', (data: Buffer) => peer.pings.push(Buffer.from(data)));
    ws.on('pong', (data: Buffer) => peer.pongs.push(Buffer.from(data)));
    ws.on('close', (code: number, reason: Buffer) => closed.resolve({ code, reason: reason.toString() }));
    ws.on('error', () => {});
    peers.push(peer);
  });
  const port = (wss.address() as net.AddressInfo).port;
  return { kind, port, url: `ws://${urlHost}:${port}`, peers };
}

/** serve() on 127.0.0.1:0 (or the given port), closed after the test. */
export async function startOurs<T = unknown>(options: ServeOptions<T> = {}): Promise<Server<T>> {
  const server = await serve<T>({ port: 0, host: HOST, ...options });
  defer(() => server.close({ timeout: 200 }));
  return server;
}

// ---- raw servers ------------------------------------------------------------

export interface RawRequest {
  requestLine: string;
  method: string;
  target: string;
  /** Lower-case names; repeated headers joined with ", ". */
  headers: Record<string, string>;
  /** Bytes after the request head. */
  rest: Buffer;
}

/** Reads one HTTP request head from the socket. */
export function readRequest(socket: net.Socket): Promise<RawRequest> {
  return new Promise((resolve, reject) => {
    let buffered = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      const end = buffered.indexOf('\r\n\r\n');
      if (end === -1) return;
      socket.removeListener('data', onData);
      socket.removeListener('close', onClose);
      const lines = buffered.subarray(0, end).toString('latin1').split('\r\n');
      const requestLine = lines.shift()!;
      const headers: Record<string, string> = {};
      for (const line of lines) {
        const colon = line.indexOf(':');
        const name = line.slice(0, colon).trim().toLowerCase();
        const value = line.slice(colon + 1).trim();
        headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
      }
      const [method = '', target = ''] = requestLine.split(' ');
      socket.pause();
      resolve({ requestLine, method, target, headers, rest: buffered.subarray(end + 4) });
    };
    const onClose = () => reject(new Error('the client went away before its request head was complete'));
    socket.on('data', onData);
    socket.on('close', onClose);
  });
}

export interface RawConnection {
  socket: net.Socket;
  request: RawRequest;
}

export interface RawServer {
  port: number;
  url: string;
  /** Connections, each after its request head arrived. */
  connections: Queue<RawConnection>;
  /** Every TCP connection accepted (also those that never send a head). */
  sockets: Set<net.Socket>;
}

/**
 * A net server that reads each request head and then calls respond (which
 * may write anything to the socket). Every socket is destroyed after the test.
 */
export async function rawServer(respond: (conn: RawConnection) => void = () => {}, { host = HOST, port = 0 }: { host?: string; port?: number } = {}): Promise<RawServer> {
  const connections = new Queue<RawConnection>('raw connection');
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
    readRequest(socket).then(
      (request) => {
        const conn = { socket, request };
        respond(conn);
        connections.push(conn);
      },
      () => {},
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  defer(
    () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  );
  const bound = (server.address() as net.AddressInfo).port;
  return { port: bound, url: `ws://${host.includes(':') ? `[${host}]` : host}:${bound}`, connections, sockets };
}

/** A correct 101 for a raw request, with optional extra header lines. */
export function switchingProtocols(request: RawRequest, extra: string[] = []): string {
  return ['HTTP/1.1 101 Switching Protocols', 'Upgrade: websocket', 'Connection: Upgrade', `Sec-WebSocket-Accept: ${acceptFor(request.headers['sec-websocket-key']!)}`, ...extra, '', ''].join('\r\n');
}

/** A raw server that completes the handshake and then leaves the socket (paused: see frameReader) to the test. */
export function rawWebSocketServer(): Promise<RawServer> {
  return rawServer(({ socket, request }) => {
    socket.write(switchingProtocols(request));
  });
}

/** An unmasked server frame (from test/helpers.ts, not src/). */
export function serverFrame(opcode: number, payload: Buffer | string = Buffer.alloc(0), fin = true): Buffer {
  return frame({ opcode, payload, fin });
}

export function closePayload(code: number, reason = ''): Buffer {
  const b = Buffer.alloc(2 + Buffer.byteLength(reason));
  b.writeUInt16BE(code, 0);
  b.write(reason, 2);
  return b;
}

export interface ParsedFrame {
  fin: boolean;
  rsv: number;
  opcode: number;
  masked: boolean;
  key: Buffer | null;
  /** Unmasked. */
  payload: Buffer;
}

/** Parses the frames a client sends, as they arrive on a raw socket. */
export function frameReader(socket: net.Socket): Queue<ParsedFrame> {
  const frames = new Queue<ParsedFrame>('client frame');
  let buffered = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    buffered = Buffer.concat([buffered, chunk]);
    for (;;) {
      if (buffered.length < 2) return;
      const b0 = buffered[0]!;
      const b1 = buffered[1]!;
      let length = b1 & 0x7f;
      let at = 2;
      if (length === 126) {
        if (buffered.length < 4) return;
        length = buffered.readUInt16BE(2);
        at = 4;
      } else if (length === 127) {
        if (buffered.length < 10) return;
        length = Number(buffered.readBigUInt64BE(2));
        at = 10;
      }
      const masked = (b1 & 0x80) !== 0;
      const key = masked ? buffered.subarray(at, at + 4) : null;
      if (masked) at += 4;
      if (buffered.length < at + length) return;
      const payload = Buffer.from(buffered.subarray(at, at + length));
      if (key) for (let i = 0; i < payload.length; i++) payload[i] = payload[i]! ^ key[i & 3]!;
      frames.push({ fin: (b0 & 0x80) !== 0, rsv: (b0 >> 4) & 7, opcode: b0 & 0x0f, masked, key: key ? Buffer.from(key) : null, payload });
      buffered = buffered.subarray(at + length);
    }
  });
  socket.resume();
  return frames;
}

// ---- addresses --------------------------------------------------------------

let ipv6: Promise<boolean> | null = null;

/** Whether this host can listen on the IPv6 loopback (::1). */
export function ipv6Loopback(): Promise<boolean> {
  ipv6 ??= new Promise((resolve) => {
    const probe = net.createServer();
    probe.once('error', () => resolve(false));
    probe.listen(0, '::1', () => probe.close(() => resolve(true)));
  });
  return ipv6;
}

/** A port nothing listens on (bound, then released). */
export async function freePort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, HOST, () => resolve()));
  const { port } = probe.address() as net.AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}
