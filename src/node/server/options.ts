/**
 * The server's options, by scope: a route's (RouteOptions), the server's (ServerOptions: routes, limits, pub/sub),
 * serve()'s (ServeOptions: listening, TLS, plain HTTP), and close()'s. Kept apart from the code that reads them so
 * that mounting, the upgrade pipeline and admission control each import only the options, not one another.
 */
import type * as http from 'node:http';
import type * as https from 'node:https';
import type { DeflateOptions } from '../../extensions/negotiation.js';
import type { TransportChoice } from '../open-transport.js';
import type { PubSubAdapter } from '../pubsub.js';
import type { Handler, UpgradeRequest } from '../types.js';

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
  /**
   * What carries the connection after the handshake. 'native' (the default, unless the environment sets
   * WSBOLT_TRANSPORT=stream): the addon reads and writes the TCP socket itself; where it cannot (TLS, a Duplex that
   * is not a TCP socket, WSBOLT_NO_NATIVE=1, Windows) the connection falls back to 'stream', as `ws.transport` shows.
   * 'stream': Node's socket streams, always.
   */
  transport?: TransportChoice;
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
  /** Seconds (the Retry-After header's unit, unlike every other duration here) suggested when refusing for capacity, 0 … 3,600. Default 5. */
  retryAfter?: number;
  /** Pub/sub fan-out to other processes or machines (workers, Redis). */
  adapter?: PubSubAdapter;
}

/** serve()'s options: where to listen, plus everything a server takes (ServerOptions). */
export interface ServeOptions<T = unknown> extends ServerOptions<T> {
  /** The TCP port, 0 … 65,535. Default 0: a free port (server.port tells which). */
  port?: number;
  /**
   * The address to listen on. Default '127.0.0.1': this machine only, so that a server started without thinking is
   * not reachable from the network. '0.0.0.0' (every IPv4 interface) or '::' (every interface) to serve others.
   */
  host?: string;
  /** The listen backlog (pending TCP connections), as in net.Server.listen. */
  backlog?: number;
  /** Answers plain HTTP requests; without it they get 426 Upgrade Required. */
  http?: http.RequestListener;
  /** Serve wss:// with these TLS options (key, cert, ...). */
  tls?: https.ServerOptions;
  /**
   * Serve HTTP/2 too (needs tls): node:http2's secure server with HTTP/1.1 allowed, advertising
   * SETTINGS_ENABLE_CONNECT_PROTOCOL, so that browsers open WebSockets as extended CONNECT streams (RFC 8441) of the
   * page's own HTTP/2 connection, while HTTP/1.1 clients upgrade as before. Default false.
   */
  http2?: boolean;
}

/** server.close()'s options. */
export interface CloseOptions {
  /** Close code sent to every connection. Default 1001 (going away). */
  code?: number;
  /** Close reason sent with it (at most 123 bytes of UTF-8). Default ''. */
  reason?: string;
  /** Milliseconds to wait for closing handshakes before destroying what remains. Default 5,000. */
  timeout?: number;
}

export const DEFAULT_HANDSHAKE_TIMEOUT = 10_000;
