/**
 * The Server: what one mounted WebSocket endpoint holds. Its routes (each merged with the server-level options
 * once), its pub/sub hub, its open connections and their admission count, and close(). How it is mounted is in
 * mount.ts; how an upgrade request becomes a connection is in upgrade.ts, which this class hosts.
 */
import type * as http from 'node:http';
import type { Http2Session } from 'node:http2';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { WebSocket } from '../connection.js';
import { type ResolvedOptions, resolveOptions, type SendData } from '../connection-options.js';
import { TopicHub } from '../pubsub.js';
import { ServerCounters, type ServerStats } from '../stats.js';
import { Admission } from './admission.js';
import { answersNotFoundAmongAttached, type HttpServer } from './attached.js';
import type { HandshakeDeadlines } from './handshake-deadline.js';
import type { CloseOptions, RouteOptions, ServerOptions } from './options.js';
import { HTTP2 } from './http2.js';
import { checkUpgradeArguments } from './options-schema.js';
import { upgrade } from './upgrade.js';
import type { RequestHead } from './upgrade-request.js';

/** An HTTP/2 stream has no bytes read ahead of the handshake: its DATA frames arrive as the stream's own reads. */
const NO_HEAD = Buffer.alloc(0);

// An UpgradeHost for upgrade() (checked where it is passed; no `implements` clause, which the published types would
// keep while stripInternal drops the internal members it names).
export class Server<T = unknown> {
  /** Open connections. */
  readonly connections = new Set<WebSocket<any>>();
  /** The HTTP(S) server, when serve() created it or attach() was given it. */
  readonly httpServer: HttpServer | null;
  /** @internal */
  readonly hub = new TopicHub();
  private readonly owned: boolean;
  /** @internal Set by close(): new upgrades are refused. */
  closing = false;
  /** @internal Sockets whose upgrade hook is running. */
  readonly pendingSockets = new Set<Duplex>();
  /** @internal Connections counted from the start of the handshake, overall and per IP. */
  readonly admission: Admission;
  /** Each route merged with the server-level options, and its resolved connection options: built once, shared by its connections. */
  private readonly mergedRoutes = new Map<string, RouteOptions<any>>();
  private readonly resolvedOptions = new WeakMap<RouteOptions<any>, ResolvedOptions>();
  /** @internal Settles once options.adapter has started; rejects when it can never work (serve() fails with that error). */
  adapterStarted: Promise<void> = Promise.resolve();
  /** @internal serve() only: accept times of connections still without their request. */
  deadlines: HandshakeDeadlines | null = null;
  /** @internal What stats() reads: its connections add to them as they go. */
  readonly counters = new ServerCounters();

  /** @internal HTTP/2 sessions of the server (RFC 8441): close() ends them when it owns the server. */
  readonly sessions = new Set<Http2Session>();

  constructor(
    private readonly options: ServerOptions<T>,
    httpServer: HttpServer | null = null,
    owned = false,
  ) {
    this.httpServer = httpServer;
    this.owned = owned;
    this.admission = new Admission(options);
    if (options.adapter) {
      const adapter = options.adapter;
      this.hub.adapter = adapter;
      // Publishes from elsewhere are delivered here only.
      this.adapterStarted = Promise.resolve().then(() =>
        adapter.start((topic, data, binary) => this.hub.publish(topic, data, binary, undefined, undefined, true)),
      );
      // serve() awaits it and rejects with its error; attached to someone else's server there is no call to fail, so it is printed.
      if (!owned) this.adapterStarted.catch((error: unknown) => console.error('wsbolt: the pub/sub adapter cannot work:', error));
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

  /**
   * Counters since the server was made: connections, messages and bytes in and out, compressed messages, close
   * codes, backpressure and dropped sends, refused upgrades by reason. A snapshot: plain numbers, cheap to take, for
   * Prometheus or OpenTelemetry (docs/observability.md).
   */
  stats(): ServerStats {
    return this.counters.snapshot();
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

  /** @internal Whether this server answers 404 for path: always, unless it shares an HTTP server it was attached to. */
  answersNotFound(path: string): boolean {
    return this.owned || !this.httpServer || answersNotFoundAmongAttached(this.httpServer, this, path);
  }

  /** @internal */
  optionsFor(route: RouteOptions<any>): ResolvedOptions {
    let options = this.resolvedOptions.get(route);
    if (options === undefined) this.resolvedOptions.set(route, (options = resolveOptions(route)));
    return options;
  }

  /**
   * Runs the opening handshake on an upgrade request. Resolves with the open
   * connection, or null when it was refused (the HTTP answer already sent).
   */
  handleUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): Promise<WebSocket<T> | null> {
    try {
      checkUpgradeArguments('handleUpgrade()', req, socket);
    } catch (error) {
      return Promise.reject(error);
    }
    return upgrade<T>(this, req, socket, head);
  }

  /** @internal Runs the opening handshake on an HTTP/2 extended CONNECT stream (RFC 8441); the stream is its socket. */
  handleStream(req: RequestHead, stream: Duplex): Promise<WebSocket<T> | null> {
    return upgrade<T>(this, req, stream, NO_HEAD, HTTP2);
  }

  /**
   * @internal Shared by every connection of this server: a closure per connection would
   * keep the whole upgrade (request, headers) alive as long as the connection.
   */
  readonly onConnectionFinished = (ws: WebSocket<any>): void => {
    this.connections.delete(ws);
    this.admission.release(ws.admissionKey);
    if (this.connections.size === 0) this.allFinished?.();
  };

  /** Set by close(): called once the last connection has finished. */
  private allFinished: (() => void) | null = null;

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
            (this.httpServer as Partial<http.Server>).closeIdleConnections?.(); // owned: serve() made an http, https or http2 server
            // GOAWAY: no new streams; each session closes once its streams (WebSockets closing below) have.
            for (const session of this.sessions) session.close();
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
