/**
 * Mounting a server, four ways: serve() (standalone: its own HTTP(S) server, 426 for plain HTTP, the handshake
 * deadline from the TCP accept), attach() (beside the routes of an existing http/https server), handleUpgrade()
 * (from any 'upgrade' listener) and createServer() (a server object to call handleUpgrade on).
 */
import * as http from 'node:http';
import * as http2 from 'node:http2';
import * as https from 'node:https';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { WebSocket } from '../connection.js';
import { checkArgument, checkOptions, WsboltOptionError } from '../options/check.js';
import { addAttached, type HttpServer } from './attached.js';
import { isHttp2Server, mountHttp2 } from './http2.js';
import { HandshakeDeadlines } from './handshake-deadline.js';
import { DEFAULT_HANDSHAKE_TIMEOUT, type ServeOptions, type ServerOptions } from './options.js';
import { HTTP_SERVER_RULE, SERVE_SCHEMA, SERVER_SCHEMA } from './options-schema.js';
import { Server } from './server.js';

/**
 * Where serve() listens without a host: the loopback interface only, as a development server should. A server meant
 * for other machines says so with host ('0.0.0.0', '::' or an address of its own).
 */
export const DEFAULT_HOST = '127.0.0.1';

/** From our own 'upgrade' listeners: a failure there (a bug of ours) costs this socket, not the process. */
function upgradeSafely(server: Server<any>, req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
  server.handleUpgrade(req, socket, head).catch((error: unknown) => {
    console.error(error);
    socket.destroy();
  });
}

/**
 * A standalone server: listens, answers plain HTTP with 426 (or options.http), upgrades WebSocket requests. Without
 * options it listens on 127.0.0.1 (DEFAULT_HOST) on a free port (server.port).
 */
export function serve<T = unknown>(options: ServeOptions<T> = {}): Promise<Server<T>> {
  try {
    checkOptions('serve()', options, SERVE_SCHEMA);
  } catch (error) {
    return Promise.reject(error);
  }
  if (options.http2) return serveHttp2(options);
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
  // An adapter that can never work (redisAdapter() without ioredis) fails serve() before it listens.
  return listen(server, httpServer, options);
}

/** Listens with httpServer once server's adapter has started (an adapter that can never work fails serve() first). */
function listen<T>(server: Server<T>, httpServer: HttpServer, options: ServeOptions<T>): Promise<Server<T>> {
  return server.adapterStarted.then(
    () =>
      new Promise((resolve, fail) => {
        httpServer.once('error', fail);
        httpServer.listen({ port: options.port ?? 0, host: options.host ?? DEFAULT_HOST, backlog: options.backlog }, () => {
          httpServer.removeListener('error', fail);
          resolve(server);
        });
      }),
  );
}

/**
 * serve({ tls, http2: true }): node:http2's secure server, HTTP/1.1 allowed, WebSockets both ways (attach()). Node's
 * HTTP/1.1 header deadline does not apply to HTTP/2 sessions, which stay open between streams: the handshake deadline
 * here bounds the upgrade hook only, as with attach().
 */
function serveHttp2<T>(options: ServeOptions<T>): Promise<Server<T>> {
  if (!options.tls) {
    const detail = { code: 'WSBOLT_INVALID_OPTION', option: 'tls', expected: 'key and cert (with http2: true)', received: 'undefined' } as const;
    return Promise.reject(new WsboltOptionError("serve(): option 'tls' is required with http2: true — browsers speak HTTP/2 over TLS only", detail));
  }
  const onRequest =
    options.http ??
    ((_req: http.IncomingMessage, res: http.ServerResponse) => {
      res.writeHead(426, { 'Sec-WebSocket-Version': '13', 'Content-Type': 'text/plain; charset=utf-8' });
      res.end('426 Upgrade Required: this endpoint speaks WebSocket\n');
    });
  const httpServer = http2.createSecureServer(
    { ...options.tls, allowHTTP1: true },
    onRequest as unknown as (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => void,
  );
  const server = new Server<T>(options, httpServer, true);
  httpServer.on('upgrade', (req: http.IncomingMessage, socket: Socket, head: Buffer) => upgradeSafely(server, req, socket, head));
  mountHttp2(httpServer, server);
  return listen(server, httpServer, options);
}

/**
 * Serves WebSocket upgrades on an existing http/https server (and so on its port, beside its other routes); on an
 * HTTP/2 server (node:http2), extended CONNECT streams too (RFC 8441), and HTTP/1.1 upgrades with allowHTTP1.
 */
export function attach<T = unknown>(httpServer: HttpServer, options: ServerOptions<T> = {}): Server<T> {
  checkArgument('attach()', 'server', httpServer, HTTP_SERVER_RULE);
  checkOptions('attach()', options, SERVER_SCHEMA);
  const server = new Server<T>(options, httpServer, false);
  addAttached(httpServer, server);
  // node:http2's server with allowHTTP1 emits 'upgrade' for HTTP/1.1 clients too.
  httpServer.on('upgrade', (req: http.IncomingMessage, socket: Socket, head: Buffer) => upgradeSafely(server, req, socket, head));
  if (isHttp2Server(httpServer)) mountHttp2(httpServer, server);
  return server;
}

const implicitServers = new WeakMap<object, Server<any>>();
/** handleUpgrade() without options: one shared object, so that such connections share one server (and its topics). */
const NO_OPTIONS: ServerOptions<any> = Object.freeze({});

/**
 * From any 'upgrade' listener: runs the handshake with these options.
 * Connections upgraded with the same options object share pub/sub topics.
 */
export function handleUpgrade<T = unknown>(
  req: http.IncomingMessage,
  socket: Duplex,
  head: Buffer,
  options: ServerOptions<T> = NO_OPTIONS,
): Promise<WebSocket<T> | null> {
  let server = implicitServers.get(options) as Server<T> | undefined;
  if (!server) {
    // Checked once per options object, as its server is made once.
    try {
      checkOptions('handleUpgrade()', options, SERVER_SCHEMA);
    } catch (error) {
      return Promise.reject(error);
    }
    implicitServers.set(options, (server = new Server<T>(options)));
  }
  return server.handleUpgrade(req, socket, head);
}

/** A server object without an HTTP server of its own: call server.handleUpgrade(req, socket, head) yourself. */
export function createServer<T = unknown>(options: ServerOptions<T> = {}): Server<T> {
  checkOptions('createServer()', options, SERVER_SCHEMA);
  return new Server<T>(options);
}
