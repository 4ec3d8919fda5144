/**
 * A WebSocket with the API and the observable behaviour of `ws` 8 (events,
 * their order and arguments, readyState transitions, errors and their
 * messages), running on the wsbolt connection engine.
 *
 * The client's opening handshake is in client-handshake.ts, the mapping of
 * ws's options in options.ts; this file is the class and, at its end, the
 * overloads and namespace that code typed against `@types/ws` expects.
 */
import { EventEmitter } from 'node:events';
import type * as http from 'node:http';
import type * as net from 'node:net';
import type { Duplex, DuplexOptions } from 'node:stream';
import type { SecureContextOptions } from 'node:tls';
import type { ZlibOptions } from 'node:zlib';
import { isValidSendCloseCode } from '../core/close.js';
import { CloseCode, MAX_CLOSE_REASON, MAX_CONTROL_PAYLOAD } from '../core/constants.js';
import type { WsboltError } from '../core/errors.js';
import type { PerMessageDeflate } from '../extensions/permessage-deflate.js';
import { WebSocket as EngineWebSocket } from '../node/connection.js';
import type { ResolvedOptions } from '../node/connection-options.js';
import { StreamTransport } from '../node/stream-transport.js';
import { type CloseCause, type Handler, SendStatus } from '../node/types.js';
import { abortHandshake, initAsClient } from './client-handshake.js';
import { BINARY_TYPES, type BinaryType, CLOSED, CLOSING, CONNECTING, EMPTY_BUFFER, OPEN, READY_STATES } from './constants.js';
import { toWsError } from './errors.js';
import { type EventListenerOptions as ListenerOptions, addEventListener, getEventAttribute, removeEventListener, setEventAttribute } from './event-target.js';
import type { WsPolicy } from './options.js';
import type { WebSocketServer as _WebSocketServer, ServerOptions as _ServerOptions } from './server.js';

// ---- engine → WebSocket --------------------------------------------------------

/** One handler object for every connection: the engine connection's data is its WebSocket. */
const HANDLER: Handler<WebSocket> = {
  message: (engine, data, isBinary) => engine.data._onMessage(data, isBinary),
  ping: (engine, data) => engine.data._onControl('ping', data),
  pong: (engine, data) => engine.data._onControl('pong', data),
  close: (engine, code, reason, cause) => engine.data._onEngineClose(code, reason, cause),
  // ws emits 'error' as soon as the peer breaks the protocol, not when the socket closes.
  error: (engine, error) => engine!.data._onProtocolError(error),
};

// ---- helpers ------------------------------------------------------------------------

function isBlob(value: unknown): value is Blob {
  if (typeof Blob === 'undefined' || typeof value !== 'object' || value === null) return false;
  const v = value as Record<PropertyKey, unknown>;
  return (
    typeof v.arrayBuffer === 'function' &&
    typeof v.type === 'string' &&
    typeof v.stream === 'function' &&
    (v[Symbol.toStringTag] === 'Blob' || v[Symbol.toStringTag] === 'File')
  );
}

/** ws's toBuffer: buffers and views as they are (no copy), anything else through Buffer.from. */
function toBuffer(data: unknown): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (data instanceof ArrayBuffer) return Buffer.from(data);
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return Buffer.from(data as string);
}

function toArrayBuffer(buf: Buffer): ArrayBuffer {
  if (buf.length === buf.buffer.byteLength) return buf.buffer as ArrayBuffer;
  return buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length) as ArrayBuffer;
}

function notOpenError(readyState: number): Error {
  return new Error(`WebSocket is not open: readyState ${readyState} (${READY_STATES[readyState]})`);
}

type Callback = (err?: Error | null) => void;

interface SendOpts {
  binary: boolean;
  fin: boolean;
  compress?: boolean;
}

const TEXT: SendOpts = { binary: false, fin: true };
const BINARY: SendOpts = { binary: true, fin: true };

/** A send waiting behind a Blob, with its callback (failed if the Blob cannot be sent). */
interface QueuedSend {
  op: () => void;
  cb: Callback | undefined;
}

/** As ws's callCallbacks: the Blob's callback and every queued one get err; the queued sends are dropped. */
function failQueuedSends(ws: WebSocket, err: Error, cb: Callback | undefined): void {
  const queue = ws._sendQueue ?? [];
  ws._sendQueue = [];
  cb?.(err);
  for (const queued of queue) queued.cb?.(err);
}

/** An event waiting for its turn when allowSynchronousEvents is false. */
type Deferred =
  { kind: 'message'; data: Buffer; isBinary: boolean } | { kind: 'ping' | 'pong'; data: Buffer } | { kind: 'error'; error: Error } | { kind: 'close' };

// ---- the class ----------------------------------------------------------------------

export class WebSocket extends EventEmitter {
  declare static readonly CONNECTING: 0;
  declare static readonly OPEN: 1;
  declare static readonly CLOSING: 2;
  declare static readonly CLOSED: 3;
  declare readonly CONNECTING: 0;
  declare readonly OPEN: 1;
  declare readonly CLOSING: 2;
  declare readonly CLOSED: 3;

  /** @internal */ _binaryType: BinaryType = 'nodebuffer';
  /** @internal */ _closeCode: number = CloseCode.ABNORMAL;
  /** @internal */ _closeFrameReceived = false;
  /** @internal */ _closeFrameSent = false;
  /** @internal */ _closeMessage: Buffer = EMPTY_BUFFER;
  /** @internal */ _errorEmitted = false;
  /** @internal */ _paused = false;
  /** @internal */ _protocol = '';
  /** @internal the negotiated extension ('permessage-deflate' or '') */
  _extensions = '';
  /** @internal close(), terminate() or an aborted handshake began the end: CLOSING until 'close' is emitted. */
  _closing = false;
  /** @internal The underlying socket once open: ws has it under the same name at run time; @types/ws does not declare it. */
  _socket: net.Socket | null = null;
  /** @internal */ _engine: EngineWebSocket<WebSocket> | null = null;
  /** @internal */ _isServer: boolean;
  /** @internal */ _url: string | undefined = undefined;
  /** @internal */ _req: http.ClientRequest | null = null;
  /** @internal */ _redirects = 0;
  /** @internal */ _originalIpc = false;
  /** @internal */ _originalSecure = false;
  /** @internal */ _originalHostOrSocketPath: string | undefined = undefined;
  /** @internal bytes of sends made after close (ws counts them), and of Blobs being read */
  _bufferedAmount = 0;
  /** @internal */ _allowSynchronousEvents = true;
  /** @internal */ _autoPong = true;
  /** @internal */ _maxPendingAutoPongs = 0;
  /** @internal */ _closeTimeout = 30_000;
  /** @internal automatic pongs not yet written */
  _pendingAutoPongs = 0;
  /** @internal events waiting for setImmediate (allowSynchronousEvents: false) */
  _deferred: Deferred[] | null = null;
  /** @internal send callbacks waiting for this tick's write */
  _pendingCallbacks: Callback[] | null = null;
  /** @internal operations waiting for a Blob to be read (ws keeps the order) */
  _sendQueue: QueuedSend[] | null = null;
  /** @internal */ _closeEmitted = false;
  /** @internal payload bytes of messages being compressed (ws counts them in bufferedAmount until written) */
  _compressingBytes = 0;
  /** @internal a fragmented message is being sent (its later frames are never compressed, as in ws) */
  _fragmenting = false;

  constructor(address: null);
  constructor(address: string | URL, options?: WebSocket.ClientOptions | http.ClientRequestArgs);
  constructor(address: string | URL, protocols?: string | string[], options?: WebSocket.ClientOptions | http.ClientRequestArgs);
  constructor(address: string | URL | null, protocols?: any, options?: any) {
    super();
    if (address !== null) {
      this._isServer = false;
      if (protocols === undefined) {
        protocols = !options || options.protocols === undefined ? [] : Array.isArray(options.protocols) ? options.protocols : [options.protocols];
      } else if (!Array.isArray(protocols)) {
        if (typeof protocols === 'object' && protocols !== null) {
          options = protocols;
          protocols = options.protocols === undefined ? [] : Array.isArray(options.protocols) ? options.protocols : [options.protocols];
        } else {
          protocols = [protocols];
        }
      }
      initAsClient(this, address, protocols, options);
    } else {
      // Made by WebSocketServer, which passes its options and attaches the socket (_setSocket).
      this._isServer = true;
    }
  }

  // ---- properties -------------------------------------------------------------

  /**
   * 'nodebuffer' (default), 'arraybuffer' or 'fragments': how binary messages are delivered. 'blob' works too at run
   * time, as in ws 8.18+, but is not declared, as in @types/ws: a declared 'blob' would make these objects unacceptable
   * to code typed against @types/ws (docs/ws-compat.md).
   */
  get binaryType(): 'nodebuffer' | 'arraybuffer' | 'fragments' {
    return this._binaryType as 'nodebuffer' | 'arraybuffer' | 'fragments';
  }

  set binaryType(type: 'nodebuffer' | 'arraybuffer' | 'fragments') {
    if (!BINARY_TYPES.includes(type)) return;
    this._binaryType = type as BinaryType;
  }

  /**
   * As ws counts it: ws writes every frame to the socket at once, so what the
   * kernel takes never shows, while a backed-up socket holds framed bytes;
   * messages being compressed count their payload bytes, and so do sends made
   * after close().
   */
  get bufferedAmount(): number {
    const engine = this._engine;
    if (engine === null) return this._bufferedAmount;
    const backedUp = engine.streamPendingBytes > 0;
    return (backedUp ? engine.bufferedAmount : 0) + this._compressingBytes + this._bufferedAmount;
  }

  /** The negotiated extensions: 'permessage-deflate' or ''. */
  get extensions(): string {
    return this._extensions;
  }

  get isPaused(): boolean {
    return this._paused;
  }

  get protocol(): string {
    return this._protocol;
  }

  /** Derived, never stored: from the engine's state once there is one (the peer's close frame or a failure moves it to CLOSING). */
  get readyState(): 0 | 1 | 2 | 3 {
    if (this._closeEmitted) return CLOSED;
    if (this._closing) return CLOSING;
    if (this._engine === null) return CONNECTING;
    return this._engine.readyState === OPEN ? OPEN : CLOSING;
  }

  get url(): string {
    return this._url as string;
  }

  get onopen(): ((event: WebSocket.Event) => void) | null {
    return getEventAttribute(this, 'open');
  }

  set onopen(handler: ((event: WebSocket.Event) => void) | null) {
    setEventAttribute(this, 'open', handler);
  }

  get onerror(): ((event: WebSocket.ErrorEvent) => void) | null {
    return getEventAttribute(this, 'error');
  }

  set onerror(handler: ((event: WebSocket.ErrorEvent) => void) | null) {
    setEventAttribute(this, 'error', handler);
  }

  get onclose(): ((event: WebSocket.CloseEvent) => void) | null {
    return getEventAttribute(this, 'close');
  }

  set onclose(handler: ((event: WebSocket.CloseEvent) => void) | null) {
    setEventAttribute(this, 'close', handler);
  }

  get onmessage(): ((event: WebSocket.MessageEvent) => void) | null {
    return getEventAttribute(this, 'message');
  }

  set onmessage(handler: ((event: WebSocket.MessageEvent) => void) | null) {
    setEventAttribute(this, 'message', handler);
  }

  // ---- EventTarget ----------------------------------------------------------------

  addEventListener<K extends keyof WebSocket.WebSocketEventMap>(
    type: K,
    listener: ((event: WebSocket.WebSocketEventMap[K]) => void) | { handleEvent(event: WebSocket.WebSocketEventMap[K]): void },
    options?: WebSocket.EventListenerOptions,
  ): void {
    addEventListener.call(this, type, listener as any, options);
  }

  removeEventListener<K extends keyof WebSocket.WebSocketEventMap>(
    type: K,
    listener: ((event: WebSocket.WebSocketEventMap[K]) => void) | { handleEvent(event: WebSocket.WebSocketEventMap[K]): void },
  ): void {
    removeEventListener.call(this, type, listener as any);
  }

  // ---- methods -------------------------------------------------------------------

  /**
   * Starts the closing handshake. Before the connection is open, aborts the
   * handshake ('error' then 'close'). Throws on an invalid code or a reason over 123 bytes.
   */
  close(code?: number, data?: string | Buffer): void {
    const state = this.readyState;
    if (state === CLOSED) return;
    if (state === CONNECTING) {
      abortHandshake(this, this._req!, 'WebSocket was closed before the connection was established');
      return;
    }
    if (state === CLOSING) {
      // No engine when the handshake failed (e.g. ECONNREFUSED): nothing to end.
      const closeState = this._engine?.closeState;
      if (closeState && closeState.closeSent && (closeState.closeReceived || closeState.failure !== null)) this._engine!.endTransport();
      return;
    }
    const engine = this._engine!;
    if (code !== undefined) {
      if (typeof code !== 'number' || !isValidSendCloseCode(code)) throw new TypeError('First argument must be a valid error code number');
      if (data !== undefined && data.length) {
        if (typeof data !== 'string' && !(data instanceof Uint8Array)) throw new TypeError('Second argument must be a string or a Uint8Array');
        if (Buffer.byteLength(data) > MAX_CLOSE_REASON) throw new RangeError('The message must not be greater than 123 bytes');
      }
    }
    this._closing = true;
    this._dispatch(() => {
      try {
        if (code === undefined) engine.close();
        else engine.close(code, data !== undefined && data.length ? (data as string) : undefined);
      } catch {
        // the engine was closed meanwhile (the peer's close frame crossed ours)
      }
    });
  }

  /** Stops reading from the peer (no 'message' events) until resume(). */
  pause(): void {
    const state = this.readyState;
    if (state === CONNECTING || state === CLOSED) return;
    this._paused = true;
    this._engine!.pause();
  }

  resume(): void {
    const state = this.readyState;
    if (state === CONNECTING || state === CLOSED) return;
    this._paused = false;
    if (this._deferred === null) this._engine!.resume();
  }

  ping(data?: any, mask?: boolean, cb?: (err: Error) => void): void;
  ping(data?: any, mask?: any, cb?: any): void {
    this._control('ping', data, mask, cb);
  }

  pong(data?: any, mask?: boolean, cb?: (err: Error) => void): void;
  pong(data?: any, mask?: any, cb?: any): void {
    this._control('pong', data, mask, cb);
  }

  send(data: WebSocket.BufferLike, cb?: (err?: Error) => void): void;
  send(
    data: WebSocket.BufferLike,
    options: { mask?: boolean | undefined; binary?: boolean | undefined; compress?: boolean | undefined; fin?: boolean | undefined },
    cb?: (err?: Error) => void,
  ): void;
  send(data: any, options?: any, cb?: any): void {
    if (this.readyState === CONNECTING) throw new Error('WebSocket is not open: readyState 0 (CONNECTING)');
    if (typeof options === 'function') {
      cb = options;
      options = {};
    }
    if (typeof data === 'number') data = data.toString();
    if (this.readyState !== OPEN) {
      sendAfterClose(this, data, cb);
      return;
    }
    const opts: SendOpts =
      options === undefined || options === null
        ? typeof data === 'string'
          ? TEXT
          : BINARY
        : { binary: options.binary ?? typeof data !== 'string', fin: options.fin ?? true, ...(options.compress === false ? { compress: false } : {}) };
    if (!data) data = EMPTY_BUFFER;
    if (isBlob(data)) {
      this._dispatch(() => this._sendBlob(data, (payload) => this._write('send', payload, opts, cb), cb), cb);
      return;
    }
    const payload = typeof data === 'string' ? data : toBuffer(data);
    this._dispatch(() => this._write('send', payload, opts, cb), cb);
  }

  /** Destroys the connection now, without a closing handshake ('close' with 1006). */
  terminate(): void {
    const state = this.readyState;
    if (state === CLOSED) return;
    if (state === CONNECTING) {
      abortHandshake(this, this._req!, 'WebSocket was closed before the connection was established');
      return;
    }
    const engine = this._engine;
    if (engine) {
      this._closing = true;
      engine.terminate(); // flushes first: what was sent before terminate() still leaves, as in ws
    }
  }

  // ---- internals ----------------------------------------------------------------

  /** @internal */
  _control(kind: 'ping' | 'pong', data: any, mask: any, cb: any): void {
    if (this.readyState === CONNECTING) throw new Error('WebSocket is not open: readyState 0 (CONNECTING)');
    if (typeof data === 'function') {
      cb = data;
      data = mask = undefined;
    } else if (typeof mask === 'function') {
      cb = mask;
    }
    if (typeof data === 'number') data = data.toString();
    if (this.readyState !== OPEN) {
      sendAfterClose(this, data, cb);
      return;
    }
    if (!data) data = EMPTY_BUFFER;
    const blob = isBlob(data);
    const payload = blob || typeof data === 'string' ? data : toBuffer(data);
    const length = blob ? (data as Blob).size : typeof payload === 'string' ? Buffer.byteLength(payload) : (payload as Buffer).length;
    if (length > MAX_CONTROL_PAYLOAD) throw new RangeError('The data size must not be greater than 125 bytes');
    if (blob) {
      this._dispatch(() => this._sendBlob(data, (bytes) => this._write(kind, bytes, null, cb), cb), cb);
      return;
    }
    this._dispatch(() => this._write(kind, payload, null, cb), cb);
  }

  /** @internal Runs op now, or after the Blob being read (ws sends in call order); cb is the op's callback, failed with the Blob if it fails. */
  _dispatch(op: () => void, cb?: Callback): void {
    if (this._sendQueue !== null) this._sendQueue.push({ op, cb });
    else op();
  }

  /** @internal As ws's Sender.getBlobData: later sends wait for the Blob; if it cannot be sent, they fail with it. */
  _sendBlob(blob: Blob, write: (payload: Buffer) => void, cb: Callback | undefined): void {
    this._sendQueue = [];
    this._bufferedAmount += blob.size;
    blob.arrayBuffer().then(
      (arrayBuffer) => {
        if (this._engine === null || this._engine.transportGone) {
          // In the next tick, so that what a callback throws is not swallowed by the promise.
          process.nextTick(failQueuedSends, this, new Error('The socket was closed while the blob was being read'), cb);
          return;
        }
        this._bufferedAmount -= blob.size;
        write(Buffer.from(arrayBuffer));
        this._drainSendQueue();
      },
      (err: Error) => {
        process.nextTick(() => {
          failQueuedSends(this, err, cb);
          this._failSending(err);
        });
      },
    );
  }

  /** @internal As ws's senderOnError: a send that cannot be made ends the connection (no close frame) and is reported once. */
  _failSending(err: Error): void {
    if (this.readyState === CLOSED) return;
    const engine = this._engine;
    if (engine && !this._closing) {
      this._closing = true;
      const timer = setTimeout(() => engine.terminate(), this._closeTimeout);
      this.once('close', () => clearTimeout(timer));
    }
    engine?.endTransport();
    if (!this._errorEmitted) {
      this._errorEmitted = true;
      this.emit('error', err);
    }
  }

  /** @internal */
  _drainSendQueue(): void {
    const queue = this._sendQueue ?? [];
    this._sendQueue = null;
    while (queue.length > 0) {
      queue.shift()!.op();
      if (this._sendQueue !== null) {
        // another Blob: the rest waits for it
        (this._sendQueue as QueuedSend[]).push(...queue);
        return;
      }
    }
  }

  /** @internal Hands a frame to the engine; cb runs once the socket has written it. */
  _write(kind: 'send' | 'ping' | 'pong', payload: Buffer | string, opts: SendOpts | null, cb: Callback | undefined): void {
    const engine = this._engine!;
    const compress = kind === 'send' && this._compresses(payload, opts!);
    let status: number;
    try {
      if (kind === 'send') {
        status = engine.send(payload, { binary: opts!.binary, fin: opts!.fin, compress });
        this._fragmenting = !opts!.fin;
      } else {
        status = kind === 'ping' ? engine.ping(payload) : engine.pong(payload);
      }
    } catch (error) {
      if (cb) process.nextTick(cb, error as Error);
      return;
    }
    if (status === SendStatus.DROPPED) {
      // refused: the connection started closing meanwhile
      if (cb) process.nextTick(cb, notOpenError(this.readyState));
      return;
    }
    if (compress) {
      const length = typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length;
      this._compressingBytes += length;
      // As ws: a compression the socket closed under stays counted.
      this._afterWrite((err) => {
        if (!err) this._compressingBytes -= length;
      });
    }
    if (cb) this._afterWrite(cb);
  }

  /** @internal As ws's Sender: a message is compressed when deflate was agreed, unless compress: false; below the threshold only if this side keeps its context. */
  _compresses(payload: Buffer | string, opts: SendOpts): boolean {
    const deflate = this._engine!.deflate;
    if (deflate === null || opts.compress === false || !opts.fin || this._fragmenting) return false;
    return deflate.sendContext || (typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length) >= deflate.threshold;
  }

  /** @internal cb runs once what was sent this tick has been written. */
  _afterWrite(cb: Callback): void {
    if (this._pendingCallbacks !== null) this._pendingCallbacks.push(cb);
    else {
      this._pendingCallbacks = [cb];
      process.nextTick(flushCallbacks, this);
    }
  }

  /** @internal Attaches the upgraded socket: the engine connection takes it over. */
  _setSocket(
    socket: net.Socket,
    head: Buffer,
    options: ResolvedOptions,
    policy: WsPolicy,
    deflate: PerMessageDeflate | null = null,
    extensionsHeader = '',
  ): void {
    // Bytes that came with the upgrade are read first, as ws does.
    if (head.length > 0) socket.unshift(head);
    const engine = new EngineWebSocket<WebSocket>({
      io: new StreamTransport(socket),
      role: this._isServer ? 'server' : 'client',
      handler: HANDLER,
      options,
      data: this,
      protocol: this._protocol,
      extensions: extensionsHeader,
      hub: null,
      deflate,
      // As in ws: an exception from a listener propagates (uncaught), it does not close with 1011.
      rethrowHandlerErrors: true,
    });
    this._engine = engine;
    this._socket = socket;
    this._allowSynchronousEvents = policy.allowSynchronousEvents;
    this._autoPong = policy.autoPong;
    this._maxPendingAutoPongs = policy.maxPendingAutoPongs;
    this._closeTimeout = policy.closeTimeout;
    this.emit('open');
  }

  /** @internal */
  _onMessage(data: Buffer, isBinary: boolean): void {
    if (!this._allowSynchronousEvents || this._deferred !== null) this._defer({ kind: 'message', data, isBinary });
    else this._emitMessage(data, isBinary);
  }

  /** @internal */
  _emitMessage(data: Buffer, isBinary: boolean): void {
    if (!isBinary) {
      this.emit('message', data, false);
      return;
    }
    const type = this._binaryType;
    const out = type === 'nodebuffer' ? data : type === 'arraybuffer' ? toArrayBuffer(data) : type === 'fragments' ? [data] : new Blob([data]);
    this.emit('message', out, true);
  }

  /** @internal */
  _onControl(kind: 'ping' | 'pong', data: Buffer): void {
    if (!this._allowSynchronousEvents || this._deferred !== null) this._defer({ kind, data });
    else this._emitControl(kind, data);
  }

  /** @internal As ws's receiverOnPing: the automatic pong first; a peer with too many of them unwritten is cut off. */
  _emitControl(kind: 'ping' | 'pong', data: Buffer): void {
    if (kind === 'ping' && this._autoPong && this.readyState === OPEN) {
      if (this._maxPendingAutoPongs > 0 && this._pendingAutoPongs >= this._maxPendingAutoPongs) {
        this.terminate();
      } else {
        this._pendingAutoPongs++;
        this.pong(data, undefined, () => this._pendingAutoPongs--);
      }
    }
    this.emit(kind, data);
  }

  /** @internal The peer broke the protocol: the engine queued the close frame; report it now, as ws does. */
  _onProtocolError(error: WsboltError): void {
    if (this._errorEmitted) return;
    this._errorEmitted = true;
    const wsError = toWsError(error);
    if (this._deferred !== null) this._defer({ kind: 'error', error: wsError });
    else this.emit('error', wsError);
  }

  /** @internal The socket is gone. */
  _onEngineClose(_code: number, reason: string, cause: CloseCause): void {
    const closeState = this._engine!.closeState;
    this._closeFrameReceived = closeState.closeReceived;
    this._closeFrameSent = closeState.closeSent;
    if (closeState.closeReceived && closeState.failure === null) {
      // As ws: the code and reason of the peer's close frame; anything else is 1006.
      this._closeCode = closeState.code;
      this._closeMessage = reason.length > 0 ? Buffer.from(closeState.reason) : EMPTY_BUFFER;
    }
    if (cause.kind === 'protocol_error' && cause.error && !this._errorEmitted) this._onProtocolError(cause.error as WsboltError);
    this._closing = true;
    if (this._deferred !== null) this._defer({ kind: 'close' });
    else this.emitClose();
  }

  /** @internal (ws has it public too) */
  emitClose(): void {
    if (this._closeEmitted) return;
    this._closeEmitted = true;
    this.emit('close', this._closeCode, this._closeMessage);
  }

  /** @internal allowSynchronousEvents: false — one event per setImmediate, reading paused meanwhile. */
  _defer(event: Deferred): void {
    if (this._deferred === null) {
      this._deferred = [event];
      if (this._engine && !this._engine.transportGone) this._engine.pause();
      setImmediate(drainDeferred, this);
    } else {
      this._deferred.push(event);
    }
  }
}

function drainDeferred(ws: WebSocket): void {
  const queue = ws._deferred!;
  const event = queue.shift()!;
  if (queue.length > 0) setImmediate(drainDeferred, ws);
  else {
    ws._deferred = null;
    if (!ws._paused && ws._engine && ws.readyState !== CLOSED) ws._engine.resume();
  }
  switch (event.kind) {
    case 'message':
      ws._emitMessage(event.data, event.isBinary);
      break;
    case 'ping':
    case 'pong':
      ws._emitControl(event.kind, event.data);
      break;
    case 'error':
      ws.emit('error', event.error);
      break;
    case 'close':
      ws.emitClose();
      break;
  }
}

/** Runs the send callbacks of one tick once the engine's write of that tick has completed. */
function flushCallbacks(ws: WebSocket): void {
  const callbacks = ws._pendingCallbacks!;
  ws._pendingCallbacks = null;
  ws._engine!.whenWritten((err) => {
    const wsErr =
      err !== null && (err as WsboltError).code === 'ERR_CLOSED_WHILE_COMPRESSING' ? new Error('The socket was closed while data was being compressed') : err;
    for (const cb of callbacks) cb(wsErr);
  });
}

/** send/ping/pong when CLOSING or CLOSED: counted in bufferedAmount, cb gets an error (as ws). */
function sendAfterClose(ws: WebSocket, data: unknown, cb: Callback | undefined): void {
  if (data) {
    const length = isBlob(data) ? data.size : toBuffer(data).length;
    ws._bufferedAmount += length;
  }
  if (cb) process.nextTick(cb, notOpenError(ws.readyState));
}

for (const [name, value] of [
  ['CONNECTING', CONNECTING],
  ['OPEN', OPEN],
  ['CLOSING', CLOSING],
  ['CLOSED', CLOSED],
] as const) {
  Object.defineProperty(WebSocket, name, { enumerable: true, value });
  Object.defineProperty(WebSocket.prototype, name, { enumerable: true, value });
}

for (const property of ['binaryType', 'bufferedAmount', 'extensions', 'isPaused', 'protocol', 'readyState', 'url']) {
  Object.defineProperty(WebSocket.prototype, property, { enumerable: true });
}
for (const name of ['onopen', 'onerror', 'onclose', 'onmessage']) {
  Object.defineProperty(WebSocket.prototype, name, { enumerable: true });
}

// ---- types: the overloads and the namespace @types/ws code expects ----------------------

export interface WebSocket {
  on(event: 'close', listener: (this: WebSocket, code: number, reason: Buffer) => void): this;
  on(event: 'error', listener: (this: WebSocket, err: Error) => void): this;
  on(event: 'upgrade', listener: (this: WebSocket, request: http.IncomingMessage) => void): this;
  on(event: 'message', listener: (this: WebSocket, data: WebSocket.RawData, isBinary: boolean) => void): this;
  on(event: 'open', listener: (this: WebSocket) => void): this;
  on(event: 'ping' | 'pong', listener: (this: WebSocket, data: Buffer) => void): this;
  on(event: 'redirect', listener: (this: WebSocket, url: string, request: http.ClientRequest) => void): this;
  on(event: 'unexpected-response', listener: (this: WebSocket, request: http.ClientRequest, response: http.IncomingMessage) => void): this;
  on(event: string | symbol, listener: (this: WebSocket, ...args: any[]) => void): this;

  once(event: 'close', listener: (this: WebSocket, code: number, reason: Buffer) => void): this;
  once(event: 'error', listener: (this: WebSocket, err: Error) => void): this;
  once(event: 'upgrade', listener: (this: WebSocket, request: http.IncomingMessage) => void): this;
  once(event: 'message', listener: (this: WebSocket, data: WebSocket.RawData, isBinary: boolean) => void): this;
  once(event: 'open', listener: (this: WebSocket) => void): this;
  once(event: 'ping' | 'pong', listener: (this: WebSocket, data: Buffer) => void): this;
  once(event: 'redirect', listener: (this: WebSocket, url: string, request: http.ClientRequest) => void): this;
  once(event: 'unexpected-response', listener: (this: WebSocket, request: http.ClientRequest, response: http.IncomingMessage) => void): this;
  once(event: string | symbol, listener: (this: WebSocket, ...args: any[]) => void): this;

  off(event: 'close', listener: (this: WebSocket, code: number, reason: Buffer) => void): this;
  off(event: 'error', listener: (this: WebSocket, err: Error) => void): this;
  off(event: 'upgrade', listener: (this: WebSocket, request: http.IncomingMessage) => void): this;
  off(event: 'message', listener: (this: WebSocket, data: WebSocket.RawData, isBinary: boolean) => void): this;
  off(event: 'open', listener: (this: WebSocket) => void): this;
  off(event: 'ping' | 'pong', listener: (this: WebSocket, data: Buffer) => void): this;
  off(event: 'redirect', listener: (this: WebSocket, url: string, request: http.ClientRequest) => void): this;
  off(event: 'unexpected-response', listener: (this: WebSocket, request: http.ClientRequest, response: http.IncomingMessage) => void): this;
  off(event: string | symbol, listener: (this: WebSocket, ...args: any[]) => void): this;

  addListener(event: 'close', listener: (code: number, reason: Buffer) => void): this;
  addListener(event: 'error', listener: (err: Error) => void): this;
  addListener(event: 'upgrade', listener: (request: http.IncomingMessage) => void): this;
  addListener(event: 'message', listener: (data: WebSocket.RawData, isBinary: boolean) => void): this;
  addListener(event: 'open', listener: () => void): this;
  addListener(event: 'ping' | 'pong', listener: (data: Buffer) => void): this;
  addListener(event: 'redirect', listener: (url: string, request: http.ClientRequest) => void): this;
  addListener(event: 'unexpected-response', listener: (request: http.ClientRequest, response: http.IncomingMessage) => void): this;
  addListener(event: string | symbol, listener: (...args: any[]) => void): this;

  removeListener(event: 'close', listener: (code: number, reason: Buffer) => void): this;
  removeListener(event: 'error', listener: (err: Error) => void): this;
  removeListener(event: 'upgrade', listener: (request: http.IncomingMessage) => void): this;
  removeListener(event: 'message', listener: (data: WebSocket.RawData, isBinary: boolean) => void): this;
  removeListener(event: 'open', listener: () => void): this;
  removeListener(event: 'ping' | 'pong', listener: (data: Buffer) => void): this;
  removeListener(event: 'redirect', listener: (url: string, request: http.ClientRequest) => void): this;
  removeListener(event: 'unexpected-response', listener: (request: http.ClientRequest, response: http.IncomingMessage) => void): this;
  removeListener(event: string | symbol, listener: (...args: any[]) => void): this;
}

// eslint-disable-next-line @typescript-eslint/no-unused-vars -- the value half of ws's WebSocketAlias, declared for @types/ws parity
declare const WebSocketAlias: typeof WebSocket;
interface WebSocketAlias extends WebSocket {}

// eslint-disable-next-line @typescript-eslint/no-namespace
export declare namespace WebSocket {
  /** A received message: a Buffer, or per binaryType an ArrayBuffer or Buffer[] (fragments); a Blob with the undeclared binaryType 'blob'. */
  type RawData = Buffer | ArrayBuffer | Buffer[];
  type Data = string | Buffer | ArrayBuffer | Buffer[];
  type CertMeta = string | string[] | Buffer | Buffer[];
  type BufferLike =
    | string
    | Buffer
    | DataView
    | number
    | ArrayBufferView
    | Uint8Array
    | ArrayBuffer
    | SharedArrayBuffer
    | Blob
    | readonly any[]
    | readonly number[]
    | { valueOf(): ArrayBuffer }
    | { valueOf(): SharedArrayBuffer }
    | { valueOf(): Uint8Array }
    | { valueOf(): readonly number[] }
    | { valueOf(): string }
    | { [Symbol.toPrimitive](hint: string): string };

  type VerifyClientCallbackSync<Request extends http.IncomingMessage = http.IncomingMessage> = (info: {
    origin: string;
    secure: boolean;
    req: Request;
  }) => boolean;
  type VerifyClientCallbackAsync<Request extends http.IncomingMessage = http.IncomingMessage> = (
    info: { origin: string; secure: boolean; req: Request },
    callback: (res: boolean, code?: number, message?: string, headers?: http.OutgoingHttpHeaders) => void,
  ) => void;
  type FinishRequestCallback = (request: http.ClientRequest, websocket: WebSocket) => void;

  interface ClientOptions extends SecureContextOptions {
    protocol?: string | undefined;
    followRedirects?: boolean | undefined;
    generateMask?(mask: Buffer): void;
    handshakeTimeout?: number | undefined;
    maxRedirects?: number | undefined;
    perMessageDeflate?: boolean | PerMessageDeflateOptions | undefined;
    localAddress?: string | undefined;
    protocolVersion?: number | undefined;
    headers?: { [key: string]: string } | undefined;
    origin?: string | undefined;
    agent?: http.Agent | undefined;
    host?: string | undefined;
    family?: number | undefined;
    checkServerIdentity?(servername: string, cert: CertMeta): boolean;
    rejectUnauthorized?: boolean | undefined;
    allowSynchronousEvents?: boolean | undefined;
    autoPong?: boolean | undefined;
    closeTimeout?: number | undefined;
    maxPayload?: number | undefined;
    maxFragments?: number | undefined;
    maxBufferedChunks?: number | undefined;
    maxPendingAutoPongs?: number | undefined;
    skipUTF8Validation?: boolean | undefined;
    createConnection?: typeof net.createConnection | undefined;
    finishRequest?: FinishRequestCallback | undefined;
  }

  interface PerMessageDeflateOptions {
    serverNoContextTakeover?: boolean | undefined;
    clientNoContextTakeover?: boolean | undefined;
    serverMaxWindowBits?: number | undefined;
    clientMaxWindowBits?: number | undefined;
    zlibDeflateOptions?:
      | {
          flush?: number | undefined;
          finishFlush?: number | undefined;
          chunkSize?: number | undefined;
          windowBits?: number | undefined;
          level?: number | undefined;
          memLevel?: number | undefined;
          strategy?: number | undefined;
          dictionary?: Buffer | Buffer[] | DataView | undefined;
          info?: boolean | undefined;
        }
      | undefined;
    zlibInflateOptions?: ZlibOptions | undefined;
    threshold?: number | undefined;
    concurrencyLimit?: number | undefined;
  }

  interface Event {
    type: string;
    target: WebSocket;
  }
  interface ErrorEvent {
    error: any;
    message: string;
    type: string;
    target: WebSocket;
  }
  interface CloseEvent {
    wasClean: boolean;
    code: number;
    reason: string;
    type: string;
    target: WebSocket;
  }
  interface MessageEvent {
    data: Data;
    type: string;
    target: WebSocket;
  }
  interface WebSocketEventMap {
    open: Event;
    error: ErrorEvent;
    close: CloseEvent;
    message: MessageEvent;
  }
  interface EventListenerOptions extends ListenerOptions {}

  type ServerOptions<
    U extends typeof WebSocketAlias = typeof WebSocketAlias,
    V extends typeof http.IncomingMessage = typeof http.IncomingMessage,
  > = _ServerOptions<U, V>;

  interface AddressInfo {
    address: string;
    family: string;
    port: number;
  }

  const Server: typeof _WebSocketServer;
  type Server<T extends typeof WebSocketAlias = typeof WebSocketAlias, U extends typeof http.IncomingMessage = typeof http.IncomingMessage> = _WebSocketServer<
    T,
    U
  >;
  const WebSocketServer: typeof _WebSocketServer;
  type WebSocketServer<T extends typeof WebSocketAlias = typeof WebSocketAlias, U extends typeof http.IncomingMessage = typeof http.IncomingMessage> = Server<
    T,
    U
  >;
  const WebSocket: typeof WebSocketAlias;
  interface WebSocket extends WebSocketAlias {}

  function createWebSocketStream(websocket: WebSocket, options?: DuplexOptions): Duplex;
}
