/**
 * A WebSocketServer with the API and the observable behaviour of `ws` 8:
 * the same options, events (connection, headers, listening, error, close,
 * wsClientError), handshake checks and HTTP refusals (abortHandshake), and
 * close() semantics. The opening handshake is answered here, exactly as ws
 * answers it (the `headers` event may edit the 101's lines); the upgraded
 * socket is then driven by the wsbolt engine.
 */
import { EventEmitter } from 'node:events';
import * as http from 'node:http';
import type * as https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { acceptKey, buildRejectResponse, isKeyShaped, parseProtocolList } from '../core/handshake.js';
import { type DeflateOptions, acceptOffer, parseExtensions, validParams } from '../extensions/negotiation.js';
import { PerMessageDeflate } from '../extensions/permessage-deflate.js';
import type { ResolvedOptions } from '../node/connection-options.js';
import { CLOSE_TIMEOUT, DEFAULT_MAX_BUFFERED_CHUNKS, DEFAULT_MAX_FRAGMENTS, DEFAULT_MAX_PAYLOAD, DEFAULT_MAX_PENDING_AUTO_PONGS } from './constants.js';
import { type WsPolicy, deflateOptionsFrom, engineOptions, wsPolicy } from './options.js';
import { WebSocket } from './websocket.js';

const RUNNING = 0;
const CLOSING = 1;
const CLOSED = 2;

export interface ServerOptions<U extends WebSocketClass = typeof WebSocket, V extends typeof http.IncomingMessage = typeof http.IncomingMessage> {
  host?: string | undefined;
  port?: number | undefined;
  backlog?: number | undefined;
  server?: http.Server<V> | https.Server<V> | undefined;
  verifyClient?: WebSocket.VerifyClientCallbackAsync<InstanceType<V>> | WebSocket.VerifyClientCallbackSync<InstanceType<V>> | undefined;
  handleProtocols?: ((protocols: Set<string>, request: InstanceType<V>) => string | false) | undefined;
  path?: string | undefined;
  noServer?: boolean | undefined;
  clientTracking?: boolean | undefined;
  /** permessage-deflate: off by default (as in ws); true or options to accept clients' offers. */
  perMessageDeflate?: boolean | WebSocket.PerMessageDeflateOptions | undefined;
  /** Largest message accepted, in bytes; 0 for no limit. Default 100 MiB (ws's). */
  maxPayload?: number | undefined;
  skipUTF8Validation?: boolean | undefined;
  WebSocket?: U | undefined;
  autoPong?: boolean | undefined;
  allowSynchronousEvents?: boolean | undefined;
  /** Milliseconds to wait for the closing handshake. Default 30,000. */
  closeTimeout?: number | undefined;
  /** Most frames one message may span; 0 for no limit. Default 16,384 (ws's); over it closes with 1008. */
  maxFragments?: number | undefined;
  /** Most chunks held for one unfinished frame; 0 for no limit. Default 262,144 (ws's); over it closes with 1008. */
  maxBufferedChunks?: number | undefined;
  /** Automatic pongs not yet written after which the peer is terminated; 0 for no limit. Default 60 (ws's). */
  maxPendingAutoPongs?: number | undefined;
}

/**
 * The `WebSocket` option: wsbolt/ws's class or a subclass. Typed by its instances only (not by its statics, as
 * @types/ws does) so that a server is assignable to @types/ws's: comparing the two classes' statics, each of which
 * holds the other's generic Server class, cannot succeed in both directions.
 */
export type WebSocketClass = abstract new (...args: any[]) => WebSocket;

/** Extensions accepted for a connection (ws passes the same kind of map to completeUpgrade). */
type Extensions = { 'permessage-deflate'?: NonNullable<ReturnType<typeof acceptOffer>> };

/** Sockets already upgraded (ws marks them the same way to catch a second handleUpgrade). */
const upgraded = new WeakSet<object>();

export class WebSocketServer<
  T extends WebSocketClass = typeof WebSocket,
  U extends typeof http.IncomingMessage = typeof http.IncomingMessage,
> extends EventEmitter {
  /** The options, ws's defaults filled in. */
  options: ServerOptions<T, U>;
  /** Open connections (absent with clientTracking: false). */
  clients: Set<InstanceType<T>>;
  declare path: string;
  /** @internal */ _server: http.Server | https.Server | null = null;
  /** @internal */ _removeListeners: (() => void) | null = null;
  /** @internal */ _state = RUNNING;
  /** @internal */ _shouldEmitClose = false;
  /** @internal */ _engineOptions: ResolvedOptions;
  /** @internal */ _policy: WsPolicy;
  /** @internal */ _deflateOptions: DeflateOptions | null;

  constructor(options?: ServerOptions<T, U>, callback?: () => void) {
    super();
    const opts: any = {
      allowSynchronousEvents: true,
      autoPong: true,
      maxBufferedChunks: DEFAULT_MAX_BUFFERED_CHUNKS,
      maxFragments: DEFAULT_MAX_FRAGMENTS,
      maxPayload: DEFAULT_MAX_PAYLOAD,
      maxPendingAutoPongs: DEFAULT_MAX_PENDING_AUTO_PONGS,
      skipUTF8Validation: false,
      perMessageDeflate: false,
      handleProtocols: null,
      clientTracking: true,
      closeTimeout: CLOSE_TIMEOUT,
      verifyClient: null,
      noServer: false,
      backlog: null, // Node's default (511)
      server: null,
      host: null,
      path: null,
      port: null,
      WebSocket,
      ...options,
    };

    if ((opts.port == null && !opts.server && !opts.noServer) || (opts.port != null && (opts.server || opts.noServer)) || (opts.server && opts.noServer)) {
      throw new TypeError('One and only one of the "port", "server", or "noServer" options must be specified');
    }

    if (opts.port != null) {
      this._server = http.createServer((_req, res) => {
        const body = http.STATUS_CODES[426]!;
        res.writeHead(426, { 'Content-Length': body.length, 'Content-Type': 'text/plain' });
        res.end(body);
      });
      this._server.listen(opts.port, opts.host, opts.backlog, callback);
    } else if (opts.server) {
      this._server = opts.server;
    }

    if (this._server) {
      const emitConnection = this.emit.bind(this, 'connection');
      this._removeListeners = addListeners(this._server, {
        listening: this.emit.bind(this, 'listening'),
        error: this.emit.bind(this, 'error'),
        upgrade: (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
          this.handleUpgrade(req as InstanceType<U>, socket, head, emitConnection);
        },
      });
    }

    if (opts.perMessageDeflate === true) opts.perMessageDeflate = {};
    if (opts.clientTracking) {
      this.clients = new Set();
      this._shouldEmitClose = false;
    } else {
      this.clients = undefined as unknown as Set<InstanceType<T>>;
    }
    this.options = opts;
    this._engineOptions = engineOptions(opts);
    this._policy = wsPolicy(opts);
    this._deflateOptions = deflateOptionsFrom(opts.perMessageDeflate);
  }

  /** The bound address of the internal or given HTTP server; throws in noServer mode. */
  address(): AddressInfo | string | null {
    if (this.options.noServer) throw new Error('The server is operating in "noServer" mode');
    if (!this._server) return null;
    return this._server.address();
  }

  /**
   * Stops accepting connections. Closes the HTTP server if this created it;
   * open connections are left alone (as in ws 8). 'close' is emitted once the
   * HTTP server has closed, or (with `server`/`noServer` and clientTracking)
   * once every client is gone.
   */
  close(cb?: (err?: Error) => void): void {
    if (this._state === CLOSED) {
      if (cb) this.once('close', () => cb(new Error('The server is not running')));
      process.nextTick(emitClose, this);
      return;
    }
    if (cb) this.once('close', cb);
    if (this._state === CLOSING) return;
    this._state = CLOSING;

    if (this.options.noServer || this.options.server) {
      if (this._server) {
        this._removeListeners!();
        this._removeListeners = this._server = null;
      }
      if (this.clients) {
        if (!this.clients.size) process.nextTick(emitClose, this);
        else this._shouldEmitClose = true;
      } else {
        process.nextTick(emitClose, this);
      }
    } else {
      const server = this._server!;
      this._removeListeners!();
      this._removeListeners = this._server = null;
      // The HTTP server was created here: close it and rely on its 'close' event.
      server.close(() => emitClose(this));
    }
  }

  /** Whether this server handles the request (only its path, when `path` is set). */
  shouldHandle(req: InstanceType<U>): boolean | Promise<boolean> {
    if (this.options.path) {
      const url = req.url ?? '';
      const index = url.indexOf('?');
      const pathname = index !== -1 ? url.slice(0, index) : url;
      if (pathname !== this.options.path) return false;
    }
    return true;
  }

  /** Runs the opening handshake on an upgrade request; cb(ws, req) once it is open. */
  handleUpgrade(req: InstanceType<U>, socket: Duplex, head: Buffer, cb: (client: InstanceType<T>, request: InstanceType<U>) => void): void {
    socket.on('error', socketOnError);

    const key = req.headers['sec-websocket-key'];
    const upgrade = req.headers.upgrade;
    const version = +req.headers['sec-websocket-version']!;

    if (req.method !== 'GET') {
      abortHandshakeOrEmitwsClientError(this, req, socket, 405, 'Invalid HTTP method');
      return;
    }
    if (upgrade === undefined || upgrade.toLowerCase() !== 'websocket') {
      abortHandshakeOrEmitwsClientError(this, req, socket, 400, 'Invalid Upgrade header');
      return;
    }
    if (key === undefined || !isKeyShaped(key)) {
      abortHandshakeOrEmitwsClientError(this, req, socket, 400, 'Missing or invalid Sec-WebSocket-Key header');
      return;
    }
    if (version !== 13 && version !== 8) {
      abortHandshakeOrEmitwsClientError(this, req, socket, 400, 'Missing or invalid Sec-WebSocket-Version header', { 'Sec-WebSocket-Version': '13, 8' });
      return;
    }
    if (!this.shouldHandle(req)) {
      abortHandshake(socket, 400);
      return;
    }

    const secWebSocketProtocol = req.headers['sec-websocket-protocol'];
    let protocols = new Set<string>();
    if (secWebSocketProtocol !== undefined) {
      // ws's grammar is the strict one: no empty item, no whitespace around the value.
      const list = parseProtocolList(secWebSocketProtocol, { strict: true });
      if (typeof list === 'string') {
        abortHandshakeOrEmitwsClientError(this, req, socket, 400, 'Invalid Sec-WebSocket-Protocol header');
        return;
      }
      protocols = new Set(list);
    }

    const secWebSocketExtensions = req.headers['sec-websocket-extensions'];
    const extensions: Extensions = {};
    if (this._deflateOptions && secWebSocketExtensions !== undefined) {
      // As ws: a malformed header, any permessage-deflate offer with an unknown, repeated or invalid
      // parameter, or offers none of which can be accepted, are refused with 400 (not declined).
      const offers = parseExtensions(secWebSocketExtensions);
      const deflateOffers = offers?.filter((offer) => offer.name === 'permessage-deflate') ?? [];
      const accepted =
        deflateOffers.length > 0 && deflateOffers.every((offer) => validParams(offer.params))
          ? acceptOffer(secWebSocketExtensions, this._deflateOptions)
          : null;
      if (offers === null || (deflateOffers.length > 0 && accepted === null)) {
        abortHandshakeOrEmitwsClientError(this, req, socket, 400, 'Invalid or unacceptable Sec-WebSocket-Extensions header');
        return;
      }
      if (accepted) extensions['permessage-deflate'] = accepted;
    }

    const verifyClient = this.options.verifyClient;
    if (verifyClient) {
      const info = {
        origin: req.headers[version === 8 ? 'sec-websocket-origin' : 'origin'] as string,
        secure: !!((req.socket as any).authorized || (req.socket as any).encrypted),
        req,
      };
      if (verifyClient.length === 2) {
        (verifyClient as WebSocket.VerifyClientCallbackAsync<InstanceType<U>>)(info, (verified, code, message, headers) => {
          if (!verified) return abortHandshake(socket, code || 401, message, headers);
          this.completeUpgrade(extensions, key, protocols, req, socket, head, cb);
        });
        return;
      }
      if (!(verifyClient as WebSocket.VerifyClientCallbackSync<InstanceType<U>>)(info)) return abortHandshake(socket, 401);
    }

    this.completeUpgrade(extensions, key, protocols, req, socket, head, cb);
  }

  /** @internal (public in ws) Writes the 101 and hands the socket to a new WebSocket. */
  completeUpgrade(
    extensions: Extensions,
    key: string,
    protocols: Set<string>,
    req: InstanceType<U>,
    socket: Duplex,
    head: Buffer,
    cb: (client: InstanceType<T>, request: InstanceType<U>) => void,
  ): void {
    // The client may have sent FIN already.
    if (!socket.readable || !socket.writable) {
      socket.destroy();
      return;
    }
    if (upgraded.has(socket)) {
      throw new Error('server.handleUpgrade() was called more than once with the same socket, possibly due to a misconfiguration');
    }
    if (this._state > RUNNING) return abortHandshake(socket, 503);

    const headers = ['HTTP/1.1 101 Switching Protocols', 'Upgrade: websocket', 'Connection: Upgrade', `Sec-WebSocket-Accept: ${acceptKey(key)}`];

    const Ctor = this.options.WebSocket as unknown as new (address: null, protocols: undefined, options: object) => InstanceType<T>;
    const ws = new Ctor(null, undefined, this.options);

    if (protocols.size) {
      const protocol = this.options.handleProtocols ? this.options.handleProtocols(protocols, req) : protocols.values().next().value;
      if (protocol) {
        headers.push(`Sec-WebSocket-Protocol: ${protocol}`);
        ws._protocol = protocol;
      }
    }

    const deflate = extensions['permessage-deflate'];
    if (deflate) {
      headers.push(`Sec-WebSocket-Extensions: ${deflate.response}`);
      ws._extensions = 'permessage-deflate';
    }

    // Let listeners inspect or edit the response lines.
    this.emit('headers', headers, req);

    socket.write(headers.concat('\r\n').join('\r\n'));
    socket.removeListener('error', socketOnError);
    upgraded.add(socket);

    ws._setSocket(
      socket as Socket,
      head,
      this._engineOptions,
      this._policy,
      deflate ? new PerMessageDeflate(deflate.params, 'server', this._deflateOptions!) : null,
      deflate ? deflate.response : '',
    );

    if (this.clients) {
      this.clients.add(ws);
      ws.on('close', () => {
        this.clients.delete(ws);
        if (this._shouldEmitClose && !this.clients.size) process.nextTick(emitClose, this);
      });
    }

    cb(ws, req);
  }
}

export interface WebSocketServer<T extends WebSocketClass = typeof WebSocket, U extends typeof http.IncomingMessage = typeof http.IncomingMessage> {
  on(event: 'connection', cb: (this: WebSocketServer<T>, socket: InstanceType<T>, request: InstanceType<U>) => void): this;
  on(event: 'error', cb: (this: WebSocketServer<T>, error: Error) => void): this;
  on(event: 'headers', cb: (this: WebSocketServer<T>, headers: string[], request: InstanceType<U>) => void): this;
  on(event: 'wsClientError', cb: (this: WebSocketServer<T>, error: Error, socket: Duplex, request: InstanceType<U>) => void): this;
  on(event: 'close' | 'listening', cb: (this: WebSocketServer<T, U>) => void): this;
  on(event: string | symbol, listener: (this: WebSocketServer<T>, ...args: any[]) => void): this;

  once(event: 'connection', cb: (this: WebSocketServer<T>, socket: InstanceType<T>, request: InstanceType<U>) => void): this;
  once(event: 'error', cb: (this: WebSocketServer<T>, error: Error) => void): this;
  once(event: 'headers', cb: (this: WebSocketServer<T>, headers: string[], request: InstanceType<U>) => void): this;
  once(event: 'wsClientError', cb: (this: WebSocketServer<T>, error: Error, socket: Duplex, request: InstanceType<U>) => void): this;
  once(event: 'close' | 'listening', cb: (this: WebSocketServer<T, U>) => void): this;
  once(event: string | symbol, listener: (this: WebSocketServer<T>, ...args: any[]) => void): this;

  off(event: 'connection', cb: (this: WebSocketServer<T>, socket: InstanceType<T>, request: InstanceType<U>) => void): this;
  off(event: 'error', cb: (this: WebSocketServer<T>, error: Error) => void): this;
  off(event: 'headers', cb: (this: WebSocketServer<T>, headers: string[], request: InstanceType<U>) => void): this;
  off(event: 'wsClientError', cb: (this: WebSocketServer<T>, error: Error, socket: Duplex, request: InstanceType<U>) => void): this;
  off(event: 'close' | 'listening', cb: (this: WebSocketServer<T, U>) => void): this;
  off(event: string | symbol, listener: (this: WebSocketServer<T>, ...args: any[]) => void): this;

  addListener(event: 'connection', cb: (client: InstanceType<T>, request: InstanceType<U>) => void): this;
  addListener(event: 'error', cb: (err: Error) => void): this;
  addListener(event: 'headers', cb: (headers: string[], request: InstanceType<U>) => void): this;
  addListener(event: 'wsClientError', cb: (error: Error, socket: Duplex, request: InstanceType<U>) => void): this;
  addListener(event: 'close' | 'listening', cb: () => void): this;
  addListener(event: string | symbol, listener: (...args: any[]) => void): this;

  removeListener(event: 'connection', cb: (client: InstanceType<T>, request: InstanceType<U>) => void): this;
  removeListener(event: 'error', cb: (err: Error) => void): this;
  removeListener(event: 'headers', cb: (headers: string[], request: InstanceType<U>) => void): this;
  removeListener(event: 'wsClientError', cb: (error: Error, socket: Duplex, request: InstanceType<U>) => void): this;
  removeListener(event: 'close' | 'listening', cb: () => void): this;
  removeListener(event: string | symbol, listener: (...args: any[]) => void): this;
}

function addListeners(server: EventEmitter, map: Record<string, (...args: any[]) => void>): () => void {
  for (const event of Object.keys(map)) server.on(event, map[event]!);
  return function removeListeners() {
    for (const event of Object.keys(map)) server.removeListener(event, map[event]!);
  };
}

function emitClose(server: WebSocketServer<any, any>): void {
  server._state = CLOSED;
  server.emit('close');
}

function socketOnError(this: Duplex): void {
  this.destroy();
}

/**
 * Answers with an HTTP error and closes the socket (ws's abortHandshake), through the core's one refusal writer.
 * ws's bytes: its header order (Connection, Content-Type text/html, Content-Length, then the caller's, which replace
 * same-named ones in place), a list value joined with ',' as a template string joins it, Node's reason phrase.
 */
function abortHandshake(socket: Duplex, code: number, message?: string, headers?: http.OutgoingHttpHeaders): void {
  const body = message || http.STATUS_CODES[code]!;
  const all: http.OutgoingHttpHeaders = { Connection: 'close', 'Content-Type': 'text/html', 'Content-Length': Buffer.byteLength(body), ...headers };
  const lines: Record<string, string> = {};
  for (const name of Object.keys(all)) lines[name] = `${all[name]}`;
  socket.once('finish', socket.destroy);
  socket.end(buildRejectResponse(code, body, lines, { statusText: `${http.STATUS_CODES[code]}`, headers: 'given' }));
}

function abortHandshakeOrEmitwsClientError(
  server: WebSocketServer<any, any>,
  req: http.IncomingMessage,
  socket: Duplex,
  code: number,
  message: string,
  headers?: http.OutgoingHttpHeaders,
): void {
  if (server.listenerCount('wsClientError')) {
    const err = new Error(message);
    Error.captureStackTrace(err, abortHandshakeOrEmitwsClientError);
    server.emit('wsClientError', err, socket, req);
  } else {
    abortHandshake(socket, code, message, headers);
  }
}
