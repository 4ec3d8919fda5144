/**
 * The servers a client test talks to: ours or `ws`, each echoing by default,
 * with every server-side connection queued as a Peer; and connect() with a
 * handler recorder. The raw server, the frame reader and the waiting helpers
 * are in test/kit/. Everything made here is registered with the kit's defer;
 * each test file calls `afterEach(cleanup)`.
 */
import type * as net from 'node:net';
import { WebSocketServer } from 'ws';
import { type ConnectOptions, type ServeOptions, type Server, type WebSocket, connect, serve } from '../../src/index.js';
import { type Deferred, HOST, Queue, defer, deferred, handlerRecorder, startServer as startOursWith } from '../kit/index.js';

/** connect() with a recorder, the connection terminated after the test. */
export async function client<T = unknown>(url: string, options: ConnectOptions<T> = {}) {
  const rec = handlerRecorder<T>();
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

/** serve() on 127.0.0.1:0, closed after the test. */
export function startOurs<T = unknown>(options: ServeOptions<T> = {}): Promise<Server<T>> {
  return startOursWith<T>(defer, options);
}
