/**
 * The handler API, shared by the server and the client: a behaviour object
 * (options plus callbacks) in the spirit of Cowboy handlers and uWebSockets'
 * WebSocketBehavior.
 */
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { Http2ServerRequest } from 'node:http2';
import type { WsboltError } from '../core/errors.js';
import type { WebSocket } from './connection.js';
import type { RateLimit } from './rate-limit.js';

/**
 * What ws.send() and friends report. Truthy means the message was accepted (it will be sent), so
 * `if (!ws.send(data))` catches exactly a dropped send; DROPPED is the only falsy status. A truthy BACKPRESSURE
 * still went out, but asks the caller to wait for drain() before sending more.
 * (uWebSockets.js numbers these differently: there 0 is backpressure and 2 dropped.)
 */
export const SendStatus = {
  /** 0, falsy. Not sent: the connection is closing or closed, or bufferedAmount was over maxBackpressure. */
  DROPPED: 0,
  /** 1. Queued while the socket keeps up; it leaves in this tick's write. */
  SENT: 1,
  /** 2, truthy: queued, but the socket is backed up; wait for drain() before sending more. */
  BACKPRESSURE: 2,
  /** 3, truthy: only from ReconnectingClient.send: kept in its queue (queueWhileDisconnected) until the next connection's open() has finished. */
  QUEUED: 3,
} as const;
export type SendStatus = (typeof SendStatus)[keyof typeof SendStatus];

export const ReadyState = { CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3 } as const;
export type ReadyState = (typeof ReadyState)[keyof typeof ReadyState];

/**
 * Why a connection ended, passed to close():
 * - 'remote': the peer started the closing handshake and it completed
 * - 'local': this side started it (ws.close(), server.close()) and it completed, or ws.terminate()
 * - 'protocol_error': the peer broke the protocol; `error` says how (error.closeCode was sent)
 * - 'timeout': the peer did not answer a close frame, stayed idle past idleTimeout, or took longer than messageTimeout to send a message
 * - 'abrupt': the TCP connection ended without a closing handshake; `error` if the socket reported one
 * - 'handler_error': one of this connection's callbacks threw or rejected, so this side closed with 1011;
 *   `error` is that HandlerError (code 'ERR_HANDLER_FAILED', `cause` the value thrown)
 */
export interface CloseCause {
  kind: 'remote' | 'local' | 'protocol_error' | 'timeout' | 'abrupt' | 'handler_error';
  error?: Error | WsboltError;
}

export interface UpgradeRequest {
  /** 'GET' over HTTP/1.1; 'CONNECT' for a WebSocket over HTTP/2 (RFC 8441). */
  method: string;
  /** '1.1', or '2.0' when the WebSocket arrived as an HTTP/2 extended CONNECT stream (RFC 8441). */
  httpVersion: string;
  /** The request target as sent: path and query. */
  url: string;
  path: string;
  query: string;
  /** Lower-case header names, as Node parses them. */
  headers: IncomingHttpHeaders;
  /** A header by name, case-insensitively; repeated headers joined with ", ". */
  header(name: string): string | undefined;
  origin: string | undefined;
  /** Subprotocols the client offered, in its order. */
  protocols: string[];
  remoteAddress: string;
  remotePort: number;
  secure: boolean;
  /** TLS details when secure. */
  tls?: { authorized: boolean; authorizationError?: string; servername?: string; alpnProtocol?: string | false; protocol?: string | null };
  /** The request object itself, for anything not above: Node's IncomingMessage, or an Http2ServerRequest over HTTP/2. */
  raw: IncomingMessage | Http2ServerRequest;
}

/** What an upgrade hook returns to accept a connection (see accept()). */
export interface AcceptOptions<T = unknown> {
  /** Per-connection user data, available as ws.data. */
  data?: T;
  /** The subprotocol to answer with (must be one the client offered). */
  protocol?: string;
  /** Extra response headers for the 101. */
  headers?: Record<string, string | number | readonly string[]>;
}

export interface Rejection {
  reject: { status: number; body?: string | Buffer; headers?: Record<string, string | number | readonly string[]> };
}

export type UpgradeResult<T> = void | undefined | true | AcceptOptions<T> | Rejection;

/** Accept the upgrade, with user data, a subprotocol and extra headers. */
export function accept<T>(options: AcceptOptions<T> = {}): AcceptOptions<T> {
  return options;
}

/**
 * Refuse the upgrade with an HTTP status from 300 to 599 (and optional body and headers). A status outside that
 * range, or headers that cannot be sent (CR or LF), count as a failure of the hook: 500, reported to error().
 */
export function reject(status: number, body?: string | Buffer, headers?: Record<string, string | number | readonly string[]>): Rejection {
  return { reject: { status, ...(body !== undefined ? { body } : {}), ...(headers ? { headers } : {}) } };
}

/**
 * Limits and timers of one connection, on the server (server, route) and the client alike. Sizes are in bytes,
 * durations in milliseconds.
 */
export interface ConnectionOptions {
  /** Largest message accepted, in bytes; 1009 above it. Default 16 MiB. */
  maxPayload?: number;
  /** Most frames one message may span. Default 131,072. */
  maxFragments?: number;
  /**
   * Milliseconds without any input before the connection is closed (1001); 0 disables. Default 120,000 (two
   * minutes). A value from 1 to 999 is refused: it is the seconds this option once took, or too short for the idle
   * sweep (a 250 ms tick).
   */
  idleTimeout?: number;
  /**
   * Milliseconds a message may take to arrive, from its first byte to its
   * last (all fragments; a control frame on its own counts as a message).
   * Any byte resets idleTimeout, so without this a peer trickling a frame a
   * byte at a time would hold its connection, and the buffer its frame
   * announced, for ever. Past it the connection is closed with 1008
   * "message timeout" (cause 'timeout') and dropped without waiting for the
   * peer's close frame. Time while reading is paused on our side (pause(),
   * backpressure, inflating) does not count. 0 disables. Default 120,000.
   */
  messageTimeout?: number;
  /** Ping an idle peer halfway through idleTimeout, so live peers never time out. Default true. */
  sendPings?: boolean;
  /** Answer pings automatically. Default true. */
  autoPong?: boolean;
  /**
   * Bytes that may wait to be written (bufferedAmount) before sends are
   * refused with SendStatus.DROPPED — or, with closeOnBackpressureLimit, the
   * connection is closed with 1008. Reading from the peer also pauses above
   * this until the buffer drains, so a peer that sends but does not read
   * cannot grow our memory. Default 16 MiB.
   */
  maxBackpressure?: number;
  /** Close (1008) instead of dropping when maxBackpressure is exceeded. Default false. */
  closeOnBackpressureLimit?: boolean;
  /** Milliseconds to wait for the peer's close frame (or, for a client, the server's TCP close) before destroying the socket. Default 30,000. */
  closeTimeout?: number;
  /** Deliver text without checking UTF-8 (trusted peers only). Default false. */
  skipUtf8Validation?: boolean;
  /** Inbound message, frame (control frames and fragments included) and byte rate limits (token buckets); exceeding them closes with 1008. Off by default. */
  rateLimit?: RateLimit | null;
}

/**
 * Callbacks may be async. Whatever one throws, or the thenable it returns
 * rejects with, costs only its own connection: it is closed with 1011 (an
 * upgrade hook or a protocols function: answered 500), gets no more open,
 * message, drain, ping or pong calls, and its close() reports cause
 * 'handler_error'. The failure goes to error() as a HandlerError, or is
 * printed with console.error when there is no error callback.
 */
export interface Handler<T = unknown> extends ConnectionCallbacks<T> {
  /** Decide on an upgrade before the connection exists: accept (with ws.data), or reject with an HTTP status. */
  upgrade?(req: UpgradeRequest): UpgradeResult<T> | Promise<UpgradeResult<T>>;
}

/** A connection's limits, timers and callbacks: what a server's Handler and a client's ConnectOptions share. */
export interface ConnectionCallbacks<T = unknown> extends ConnectionOptions {
  /** The connection is open (after the 101): sending is allowed from here. */
  open?(ws: WebSocket<T>): void;
  /** A complete message; isBinary tells a binary message from text. data is the caller's to keep: the library never reuses its memory. */
  message?(ws: WebSocket<T>, data: Buffer, isBinary: boolean): void;
  /** bufferedAmount fell back after a send reported BACKPRESSURE (or the socket drained). */
  drain?(ws: WebSocket<T>): void;
  /** The peer pinged (up to 125 bytes of data); the pong has already been queued when autoPong is on. */
  ping?(ws: WebSocket<T>, data: Buffer): void;
  /** The peer sent a pong (an answer to ws.ping(), to sendPings' keep-alive, or unsolicited). */
  pong?(ws: WebSocket<T>, data: Buffer): void;
  /**
   * The connection is gone, once per connection: code and reason from the peer's close frame (1005 without a code,
   * 1006 without a closing handshake), cause says why (see CloseCause).
   */
  close?(ws: WebSocket<T>, code: number, reason: string, cause: CloseCause): void;
  /**
   * Something went wrong on this connection:
   * - the peer broke the protocol (error.closeCode is set, a WS_ERR_* code): called at once, a close
   *   frame with error.closeCode is on its way; close() follows when the socket is gone;
   * - one of this handler's own callbacks threw or rejected: a HandlerError (code 'ERR_HANDLER_FAILED',
   *   `cause` the value thrown, `callback` its name); the connection is closing with 1011. ws is null when
   *   no connection exists: a failed upgrade hook or protocols function (answered 500), or a reconnecting
   *   client's reconnecting/giveUp.
   * Without this callback, a HandlerError is printed (console.error); one that error() itself throws is
   * always printed.
   */
  error?(ws: WebSocket<T> | null, error: WsboltError): void;
}
