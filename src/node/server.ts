/**
 * The server: HTTP upgrade → connection. Three ways to mount it: serve()
 * (standalone), attach() (share an http/https server), and handleUpgrade()
 * from any 'upgrade' listener. Routes map paths to handlers.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { HandlerError } from '../core/errors.js';
import { buildAcceptResponse, buildRejectResponse, isRejection, validateRequest } from '../core/handshake.js';
import { type DeflateOptions, acceptOffer } from '../extensions/negotiation.js';
import { PerMessageDeflate, validateDeflateOptions } from '../extensions/permessage-deflate.js';
import { HandshakeDeadlines } from './handshake-deadline.js';
import { type ResolvedOptions, WebSocket, resolveOptions, type SendData } from './connection.js';
import { reportHandlerError } from './handler-errors.js';
import { type PubSubAdapter, TopicHub } from './pubsub.js';
import { StreamTransport } from './stream-transport.js';
import { trace, traceEnabled } from './trace.js';
import type { AcceptOptions, Handler, Rejection, UpgradeRequest, UpgradeResult } from './types.js';

export interface RouteOptions<T = unknown> extends Handler<T> {
  /** Allowed Origin values (compared case-insensitively); others get 403. Requests without Origin (non-browser clients) pass. */
  origins?: string[];
  /** Subprotocols this route speaks (the first one the client offered wins), or a function choosing one. */
  protocols?: string[] | ((offered: string[], req: UpgradeRequest) => string | false | null | undefined);
  /**
   * Milliseconds from accept to the 101. With serve() the clock starts at the TCP accept: the TLS handshake and the
   * request count (a connection still without its request is closed), and an async upgrade hook gets what is left
   * (503 when it runs out). Elsewhere (attach, handleUpgrade) it bounds the async upgrade hook. Default 10,000.
   */
  handshakeTimeout?: number;
  /** permessage-deflate (RFC 7692): off by default; true or options to accept clients' offers. */
  perMessageDeflate?: boolean | DeflateOptions;
}

export interface ServerOptions<T = unknown> extends RouteOptions<T> {
  /** Only this path is served (others get 404); ignored when routes are given. */
  path?: string;
  /** Handlers by exact path; server-level options apply unless a route overrides them. */
  routes?: Record<string, RouteOptions<any>>;
  /** Most connections (open plus in handshake) at once; beyond it upgrades get 503 with Retry-After. Default unlimited. */
  maxConnections?: number;
  /** Most connections from one IP address at once; beyond it 503 with Retry-After. Default unlimited. */
  maxConnectionsPerIp?: number;
  /** Seconds suggested in Retry-After when refusing for capacity. Default 5. */
  retryAfter?: number;
  /** Pub/sub fan-out to other processes or machines (workers, Redis). */
  adapter?: PubSubAdapter;
}

export interface ServeOptions<T = unknown> extends ServerOptions<T> {
  port?: number;
  host?: string;
  backlog?: number;
  /** Answers plain HTTP requests; without it they get 426 Upgrade Required. */
  http?: http.RequestListener;
  /** Serve wss:// with these TLS options (key, cert, ...). */
  tls?: https.ServerOptions;
}

export interface CloseOptions {
  /** Close code sent to every connection. Default 1001 (going away). */
  code?: number;
  reason?: string;
  /** Milliseconds to wait for closing handshakes before destroying what remains. Default 5,000. */
  timeout?: number;
}

const DEFAULT_HANDSHAKE_TIMEOUT = 10_000;

export class Server<T = unknown> {
  /** Open connections. */
  readonly connections = new Set<WebSocket<any>>();
  /** The HTTP(S) server, when serve() created it or attach() was given it. */
  readonly httpServer: http.Server | https.Server | null;
  private readonly hub = new TopicHub();
  private readonly owned: boolean;
  private closing = false;
  private readonly pendingSockets = new Set<Duplex>();
  /** Admission control: connections counted from the start of the handshake, overall and per IP. */
  private admitted = 0;
  private readonly perIp = new Map<string, number>();
  /** Each route merged with the server-level options, and its resolved connection options: built once, shared by its connections. */
  private readonly mergedRoutes = new Map<string, RouteOptions<any>>();
  private readonly resolvedOptions = new WeakMap<RouteOptions<any>, ResolvedOptions>();
  /** @internal serve() only: accept times of connections still without their request. */
  deadlines: HandshakeDeadlines | null = null;

  constructor(
    private readonly options: ServerOptions<T>,
    httpServer: http.Server | https.Server | null = null,
    owned = false,
  ) {
    this.httpServer = httpServer;
    this.owned = owned;
    for (const route of [options, ...Object.values(options.routes ?? {})]) {
      if (route.perMessageDeflate && route.perMessageDeflate !== true) validateDeflateOptions(route.perMessageDeflate);
    }
    if (options.adapter) {
      this.hub.adapter = options.adapter;
      // Publishes from elsewhere are delivered here only.
      void options.adapter.start((topic, data, binary) => this.hub.publish(topic, data, binary, undefined, undefined, true));
    }
  }

  /** The port the HTTP server listens on (0 if none). */
  get port(): number {
    const address = this.httpServer?.address();
    return address && typeof address === 'object' ? address.port : 0;
  }

  address(): AddressInfo | string | null {
    return this.httpServer?.address() ?? null;
  }

  /** Sends data to every subscriber of topic, framed once; returns how many accepted it. */
  publish(topic: string, data: SendData, options?: { binary?: boolean; compress?: boolean }): number {
    return this.hub.publish(topic, data, options?.binary, undefined, options?.compress);
  }

  subscribers(topic: string): number {
    return this.hub.subscribers(topic);
  }

  /** @internal The handler serving path, or null (404). */
  route(path: string): RouteOptions<any> | null {
    const { routes } = this.options;
    if (routes) {
      const route = Object.prototype.hasOwnProperty.call(routes, path) ? routes[path] : undefined;
      if (!route) return null;
      let merged = this.mergedRoutes.get(path);
      if (merged === undefined) this.mergedRoutes.set(path, (merged = { ...this.options, ...route }));
      return merged;
    }
    if (this.options.path !== undefined && this.options.path !== path) return null;
    return this.options;
  }

  private optionsFor(route: RouteOptions<any>): ResolvedOptions {
    let options = this.resolvedOptions.get(route);
    if (options === undefined) this.resolvedOptions.set(route, (options = resolveOptions(route)));
    return options;
  }

  /**
   * Runs the opening handshake on an upgrade request. Resolves with the open
   * connection, or null when it was refused (the HTTP answer already sent).
   */
  async handleUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): Promise<WebSocket<T> | null> {
    socket.on('error', ignore); // until the connection owns the socket
    const spent = this.deadlines?.take(socket) ?? 0;
    if (this.closing) return refuse(socket, 503, 'the server is shutting down');
    const valid = validateRequest(req.method, req.httpVersion, req.headers);
    if (isRejection(valid)) return refuse(socket, valid.status, valid.reason, valid.headers);
    // The peer's address costs a getpeername() call: only asked for when a per-IP limit needs it.
    const ip = this.options.maxConnectionsPerIp !== undefined ? ((socket as Partial<Socket>).remoteAddress ?? '') : '';
    if (!this.admit(ip)) {
      return refuse(socket, 503, 'too many connections', { 'Retry-After': String(this.options.retryAfter ?? 5) });
    }
    let ws: WebSocket<T> | null = null;
    try {
      ws = await this.upgradeAdmitted(req, socket, head, valid, ip, spent);
      return ws;
    } finally {
      // An open connection gives its place back when it finishes (onConnectionFinished).
      if (!ws) this.release(ip);
    }
  }

  /**
   * Shared by every connection of this server: a closure per connection would
   * keep the whole upgrade (request, headers) alive as long as the connection.
   */
  private readonly onConnectionFinished = (ws: WebSocket<any>): void => {
    this.connections.delete(ws);
    this.release(ws.admissionKey);
    if (this.connections.size === 0) this.allFinished?.();
  };

  /** Set by close(): called once the last connection has finished. */
  private allFinished: (() => void) | null = null;

  private admit(ip: string): boolean {
    const { maxConnections, maxConnectionsPerIp } = this.options;
    if (maxConnections !== undefined && this.admitted >= maxConnections) return false;
    if (maxConnectionsPerIp !== undefined) {
      const fromIp = this.perIp.get(ip) ?? 0;
      if (fromIp >= maxConnectionsPerIp) return false;
      this.perIp.set(ip, fromIp + 1);
    }
    this.admitted++;
    return true;
  }

  private release(ip: string): void {
    this.admitted--;
    if (this.options.maxConnectionsPerIp === undefined) return;
    const left = (this.perIp.get(ip) ?? 1) - 1;
    if (left > 0) this.perIp.set(ip, left);
    else this.perIp.delete(ip);
  }

  private async upgradeAdmitted(
    req: http.IncomingMessage,
    socket: Duplex,
    head: Buffer,
    valid: Exclude<ReturnType<typeof validateRequest>, { status: number }>,
    ip: string,
    /** Ms since accept (serve()), taken from the hook's time. */
    spent: number,
  ): Promise<WebSocket<T> | null> {

    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    const route = this.route(path);
    if (!route) {
      if (!this.owned && this.httpServer) {
        // Several servers may be attached to one HTTP server, beside listeners of the user's own.
        const peers = attached.get(this.httpServer) ?? [this];
        if (this.httpServer.listenerCount('upgrade') > peers.length) return null; // a foreign listener may serve it
        if (peers.some((peer) => peer.route(path) !== null)) return null; // another wsbolt server serves it
        if (peers[0] !== this) return null; // exactly one of us answers
      }
      return refuse(socket, 404, `no WebSocket endpoint at ${path}`);
    }

    const origin = headerValue(req, 'origin');
    if (route.origins && origin !== undefined && !route.origins.some((o) => o.toLowerCase() === origin.toLowerCase())) {
      return refuse(socket, 403, 'origin not allowed');
    }

    const request = upgradeRequest(req, socket, path, q === -1 ? '' : url.slice(q + 1), origin, valid.protocols);
    let protocol: string;
    try {
      protocol = selectProtocol(route, valid.protocols, request);
    } catch (error) {
      reportHandlerError(route, null, new HandlerError('protocols', error));
      return refuse(socket, 500, 'the upgrade failed');
    }

    let result: UpgradeResult<unknown> = undefined;
    if (route.upgrade) {
      const early = new EarlyData(socket);
      this.pendingSockets.add(socket);
      let pending = true; // the hook has not returned yet: a throw now is synchronous
      try {
        const returned = route.upgrade(request);
        pending = false;
        result = await withTimeout(returned, Math.max(0, (route.handshakeTimeout ?? DEFAULT_HANDSHAKE_TIMEOUT) - spent));
      } catch (error) {
        if (error === TIMED_OUT) return refuse(socket, 503, 'the upgrade took too long');
        reportHandlerError(route, null, new HandlerError('upgrade', error, !pending));
        return refuse(socket, 500, 'the upgrade failed');
      } finally {
        this.pendingSockets.delete(socket);
        early.stop();
      }
      if (early.gone) {
        socket.destroy();
        return null;
      }
      if (early.kept.length > 0 && !isRejectionResult(result)) head = Buffer.concat([head, ...early.kept]);
    }
    if (socket.destroyed || !socket.writable) return null; // the client went away during the upgrade
    if (this.closing) return refuse(socket, 503, 'the server is shutting down');
    if (isRejectionResult(result)) {
      const { status, body, headers } = result.reject;
      return refuse(socket, status, body ?? '', headers);
    }
    const accepted: AcceptOptions<unknown> = result && result !== true ? result : {};
    if (accepted.protocol !== undefined) {
      if (!valid.protocols.includes(accepted.protocol)) return refuse(socket, 500, 'the server chose a subprotocol the client did not offer');
      protocol = accepted.protocol;
    }

    const deflateOptions = route.perMessageDeflate === true ? {} : route.perMessageDeflate || null;
    const negotiated = deflateOptions ? acceptOffer(valid.extensions, deflateOptions) : null;
    socket.write(buildAcceptResponse(valid.key, protocol || undefined, negotiated?.response, accepted.headers));
    if (traceEnabled) trace('server accepted %s from %s:%d protocol=%s', url, request.remoteAddress, request.remotePort, protocol || '-');
    socket.removeListener('error', ignore);
    const ws = new WebSocket<T>({
      transport: new StreamTransport(socket),
      role: 'server',
      handler: route as RouteOptions<T>,
      options: this.optionsFor(route),
      data: accepted.data as T,
      protocol: protocol || '',
      extensions: negotiated?.response ?? '',
      hub: this.hub,
      deflate: negotiated ? new PerMessageDeflate(negotiated.params, 'server', deflateOptions!) : null,
      onFinished: this.onConnectionFinished,
    });
    ws.admissionKey = ip;
    this.connections.add(ws);
    ws.invoke('open');
    if (ws.readyState === 1) ws.receiveHead(head);
    return ws;
  }

  /**
   * Graceful shutdown: stop accepting, send a close frame to every
   * connection, wait for the closing handshakes, destroy what remains at the
   * timeout. Resolves when every socket is gone.
   */
  async close(options: CloseOptions = {}): Promise<void> {
    const { code = 1001, reason = 'server shutting down', timeout = 5000 } = options;
    this.closing = true;
    const httpClosed =
      this.owned && this.httpServer
        ? new Promise<void>((resolve) => {
            this.httpServer!.close(() => resolve());
            this.httpServer!.closeIdleConnections?.();
          })
        : Promise.resolve();
    for (const socket of this.pendingSockets) socket.destroy();
    this.deadlines?.destroyAll();
    const gone = this.connections.size === 0 ? Promise.resolve() : new Promise<void>((resolve) => (this.allFinished = resolve));
    for (const ws of this.connections) {
      if (ws.readyState === 1) ws.close(code, reason);
    }
    const timer = setTimeout(() => {
      for (const ws of this.connections) ws.destroyForTimeout();
    }, timeout);
    await gone;
    clearTimeout(timer);
    await httpClosed;
    await this.options.adapter?.close();
  }
}

function ignore(): void {}

/**
 * What a client may pipeline after its upgrade request: a few first messages. RFC 6455 §4.1 has it wait for the
 * 101, so more is not a client that needs serving quickly but one that costs memory while the hook runs.
 */
const EARLY_DATA_LIMIT = 64 * 1024;

/**
 * Watches a socket while an async upgrade hook runs: a client that leaves must never open, and frames it sends
 * early are kept for the connection, up to EARLY_DATA_LIMIT (plus the read that crossed it). Past that the socket
 * is paused, so TCP holds the client back until the hook settles. A paused socket cannot see a FIN or a reset:
 * such a client is noticed only once the connection reads again, after open.
 */
class EarlyData {
  gone = false;
  readonly kept: Buffer[] = [];
  private bytes = 0;
  private paused = false;

  constructor(private readonly socket: Duplex) {
    socket.on('end', this.onGone);
    socket.on('close', this.onGone);
    socket.on('data', this.onData);
  }

  private readonly onGone = (): void => {
    this.gone = true;
  };

  private readonly onData = (chunk: Buffer): void => {
    this.kept.push(chunk);
    this.bytes += chunk.length;
    if (this.bytes >= EARLY_DATA_LIMIT && !this.paused) {
      this.paused = true;
      this.socket.pause();
    }
  };

  /**
   * Stops watching. A paused socket reads again: an accepted connection attaches its own 'data' listener in the same
   * tick (resume() only flows on the next one), and a refused one must read to see the client's FIN, dropping the rest.
   */
  stop(): void {
    this.socket.removeListener('end', this.onGone);
    this.socket.removeListener('close', this.onGone);
    this.socket.removeListener('data', this.onData);
    if (this.paused) this.socket.resume();
  }
}

/** From our own 'upgrade' listeners: a failure there (a bug of ours) costs this socket, not the process. */
function upgradeSafely(server: Server<any>, req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
  server.handleUpgrade(req, socket, head).catch((error: unknown) => {
    console.error(error);
    socket.destroy();
  });
}

const TIMED_OUT = Symbol('timed out');

async function withTimeout<R>(value: R | Promise<R>, ms: number): Promise<R> {
  if (!(value instanceof Promise) && !(value && typeof (value as { then?: unknown }).then === 'function')) return value;
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([value, new Promise<never>((_, fail) => (timer = setTimeout(() => fail(TIMED_OUT), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

function isRejectionResult(result: UpgradeResult<unknown>): result is Rejection {
  return typeof result === 'object' && result !== null && 'reject' in result;
}

/** Answers with an HTTP error and closes the socket; always resolves to null. */
function refuse(socket: Duplex, status: number, body: string | Buffer, headers?: Record<string, string | number | readonly string[]>): null {
  trace('server refused upgrade: %d %s', status, typeof body === 'string' ? body : '');
  if (!socket.destroyed && socket.writable) {
    const text = typeof body === 'string' && body.length > 0 && !body.endsWith('\n') ? `${body}\n` : body;
    socket.end(buildRejectResponse(status, text, headers));
  } else {
    socket.destroy();
  }
  return null;
}

function headerValue(req: http.IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v.join(', ') : v;
}

function selectProtocol(route: RouteOptions<any>, offered: string[], request: UpgradeRequest): string {
  const { protocols } = route;
  if (!protocols || offered.length === 0) return '';
  if (typeof protocols === 'function') {
    const chosen = protocols(offered, request);
    return chosen && offered.includes(chosen) ? chosen : '';
  }
  return offered.find((p) => protocols.includes(p)) ?? '';
}

function upgradeRequest(req: http.IncomingMessage, socket: Duplex, path: string, query: string, origin: string | undefined, protocols: string[]): UpgradeRequest {
  const tlsSocket = (socket as TLSSocket).encrypted ? (socket as TLSSocket) : null;
  return {
    method: req.method ?? 'GET',
    url: req.url ?? '/',
    path,
    query,
    headers: req.headers,
    header: (name: string) => headerValue(req, name.toLowerCase()),
    origin,
    protocols,
    // Getters: the address costs a getpeername() call, and most hooks never look.
    get remoteAddress() {
      return (socket as Partial<Socket>).remoteAddress ?? '';
    },
    get remotePort() {
      return (socket as Partial<Socket>).remotePort ?? 0;
    },
    secure: tlsSocket !== null,
    ...(tlsSocket
      ? {
          tls: {
            authorized: tlsSocket.authorized,
            ...(tlsSocket.authorizationError ? { authorizationError: String(tlsSocket.authorizationError) } : {}),
            ...((tlsSocket as TLSSocket & { servername?: string }).servername ? { servername: (tlsSocket as TLSSocket & { servername?: string }).servername! } : {}),
            alpnProtocol: tlsSocket.alpnProtocol ?? false,
            protocol: tlsSocket.getProtocol(),
          },
        }
      : {}),
    raw: req,
  };
}

/** A standalone server: listens, answers plain HTTP with 426 (or options.http), upgrades WebSocket requests. */
export function serve<T = unknown>(options: ServeOptions<T>): Promise<Server<T>> {
  const onRequest: http.RequestListener =
    options.http ??
    ((_req, res) => {
      // Connection: close — a client that wanted a WebSocket has no use for a kept-alive HTTP connection.
      res.writeHead(426, { Upgrade: 'websocket', Connection: 'close', 'Sec-WebSocket-Version': '13', 'Content-Type': 'text/plain; charset=utf-8' });
      res.end('426 Upgrade Required: this endpoint speaks WebSocket\n');
    });
  // Headers must arrive within the handshake timeout (Node caps their size at 16 KiB: 431). Node checks
  // the deadline every connectionsCheckingInterval (30 s by default), so check often enough to honour it.
  const handshakeTimeout = options.handshakeTimeout ?? DEFAULT_HANDSHAKE_TIMEOUT;
  const timing = {
    headersTimeout: handshakeTimeout,
    requestTimeout: Math.max(handshakeTimeout, 300_000),
    connectionsCheckingInterval: Math.max(100, Math.min(Math.floor(handshakeTimeout / 4), 30_000)),
  };
  const httpServer = options.tls ? https.createServer({ ...timing, ...options.tls }, onRequest) : http.createServer(timing, onRequest);
  const server = new Server<T>(options, httpServer, true);
  // On the raw TCP socket, before TLS: the deadline covers the TLS handshake too.
  const deadlines = (server.deadlines = new HandshakeDeadlines(handshakeTimeout, timing.connectionsCheckingInterval, options.tls !== undefined));
  httpServer.on('connection', deadlines.add);
  // A plain HTTP request: Node's request and keep-alive timeouts take over.
  httpServer.on('request', (req: http.IncomingMessage) => deadlines.take(req.socket));
  httpServer.on('upgrade', (req, socket: Socket, head) => upgradeSafely(server, req, socket, head));
  return new Promise((resolve, fail) => {
    httpServer.once('error', fail);
    httpServer.listen({ port: options.port ?? 0, host: options.host, backlog: options.backlog }, () => {
      httpServer.removeListener('error', fail);
      resolve(server);
    });
  });
}

/** Serves WebSocket upgrades on an existing http/https server (and so on its port, beside its other routes). */
/** Servers attached to each HTTP server, in attach order (to agree on who answers 404). */
const attached = new WeakMap<http.Server | https.Server, Server<any>[]>();

export function attach<T = unknown>(httpServer: http.Server | https.Server, options: ServerOptions<T>): Server<T> {
  const server = new Server<T>(options, httpServer, false);
  const list = attached.get(httpServer) ?? [];
  list.push(server);
  attached.set(httpServer, list);
  httpServer.on('upgrade', (req, socket: Socket, head) => upgradeSafely(server, req, socket, head));
  return server;
}

const implicitServers = new WeakMap<object, Server<any>>();

/**
 * From any 'upgrade' listener: runs the handshake with these options.
 * Connections upgraded with the same options object share pub/sub topics.
 */
export function handleUpgrade<T = unknown>(req: http.IncomingMessage, socket: Duplex, head: Buffer, options: ServerOptions<T>): Promise<WebSocket<T> | null> {
  let server = implicitServers.get(options) as Server<T> | undefined;
  if (!server) implicitServers.set(options, (server = new Server<T>(options)));
  return server.handleUpgrade(req, socket, head);
}

/** A server object without an HTTP server of its own: call server.handleUpgrade(req, socket, head) yourself. */
export function createServer<T = unknown>(options: ServerOptions<T>): Server<T> {
  return new Server<T>(options);
}
