/**
 * The connection engine, one for both roles: binds the sans-I/O core to a
 * Transport (transport.ts). Reads hand every chunk to the core at once;
 * writes made during a tick leave in one socket write at the end of it;
 * timers (close, idle) live here, never in the core.
 */
import { Buffer } from 'node:buffer';
import { CloseCode } from '../core/constants.js';
import { type CallbackName, HandlerError, WsboltError } from '../core/errors.js';
import { byteSize } from '../core/held-bytes.js';
import { Protocol, type Role } from '../core/protocol.js';
import type { InflateResult, PerMessageDeflate } from '../extensions/permessage-deflate.js';
import { flushLater } from './flush.js';
import { onRejection, reportHandlerError } from './handler-errors.js';
import { TokenBuckets } from './rate-limit.js';
import { idleSweeper } from './idle.js';
import type { TopicHub } from './pubsub.js';
import {
  backpressureChannel,
  closeChannel,
  drainChannel,
  messageReceivedChannel,
  messageSentChannel,
  openChannel,
  protocolErrorChannel,
} from './diagnostics.js';
import { detachFromLargeRead } from './retention.js';
import { Counters } from './stats.js';
import { traceClose, traceCompressed, traceEnabled, traceFrame, traceOpen, traceProtocolError } from './trace.js';
import { markSharedReadMemory } from './read-memory.js';
import type { Transport } from './transport.js';
import { DeflateJobs } from './zlib/jobs.js';
import { type CloseCause, type Handler, ReadyState, SendStatus } from './types.js';
import { type ResolvedOptions, type SendData, type SendOptions, toPayload } from './connection-options.js';

/** The engine's closing-handshake state, as a policy layer sees it. */
export interface CloseState {
  closeSent: boolean;
  closeReceived: boolean;
  /** The protocol error that failed the connection, if one did. */
  failure: WsboltError | null;
  /** The close code known so far (the peer's, ours, or the failure's; 1006 until then). */
  code: number;
  reason: string;
}

export interface ConnectionInit<T> {
  io: Transport;
  role: Role;
  handler: Handler<T>;
  options: ResolvedOptions;
  data: T;
  protocol: string;
  extensions: string;
  hub: TopicHub | null;
  /** permessage-deflate, when negotiated. */
  deflate?: PerMessageDeflate | null;
  /** Called once the socket is gone, after handler.close. */
  onFinished?: (ws: WebSocket<T>) => void;
  /** Let what the handler's callbacks throw propagate (wsbolt/ws: a throwing listener throws, as in ws) instead of closing with 1011. */
  rethrowHandlerErrors?: boolean;
  /** The counters this connection adds to: its server's, or connect()'s (clientStats()); by default none that is reported. */
  counters?: Counters;
}

/** The last connection id given out: ids are unique in the process, so that trace lines and diagnostics can be matched. */
let lastId = 0;
/** Counters of connections that nothing reports (made by neither a Server nor connect(): wsbolt/ws makes its own). */
const unreported = new Counters();

// The core's ProtocolHandler and the transport's TransportListener, checked where `this` is handed to them: not an
// `implements` clause, which the published types would keep while stripInternal drops those internal methods.
export class WebSocket<T = unknown> {
  /** Per-connection user data, from the upgrade hook (or connect options). */
  data: T;
  /** The peer's address, as the transport took it at the start. */
  get remoteAddress(): string {
    return this.io.remoteAddress;
  }
  get remotePort(): number {
    return this.io.remotePort;
  }
  /** The negotiated subprotocol ('' if none). */
  readonly protocol: string;
  /** The negotiated extensions header value ('' if none). */
  readonly extensions: string;
  readyState: ReadyState = ReadyState.OPEN;
  /** Names this connection in NODE_DEBUG=wsbolt lines and diagnostics_channel messages; unique in the process. */
  readonly id: number;

  /** @internal The byte stream under the connection. */
  readonly io: Transport;
  /** @internal */ readonly core: Protocol;
  /** @internal permessage-deflate work on the thread pool (with its context streams), when negotiated. */
  readonly deflateJobs: DeflateJobs | null;
  /** What every connection of a route (or of a connect() call) has in common, in one object they share. */
  private readonly shared: SharedInit<T>;
  /** @internal */
  get options(): ResolvedOptions {
    return this.shared.options;
  }
  /** @internal What stats() reports: plain numbers, shared with the other connections of the server (or clients of the process). */
  get counters(): Counters {
    return this.shared.counters;
  }
  /** The yes/no facts of the connection (FLAG_* bits), in one number: seven booleans would be seven fields on every connection. */
  private flags = 0;
  /** @internal flush scheduling: queued for this tick's write */
  get queued(): boolean {
    return (this.flags & FLAG_QUEUED) !== 0;
  }
  set queued(on: boolean) {
    this.setFlag(FLAG_QUEUED, on);
  }
  /** @internal idle tracking, in sweeper ticks */
  lastInput = 0;
  /** @internal A ping of the idle sweeper's awaits its pong. */
  get pingOutstanding(): boolean {
    return (this.flags & FLAG_PING_OUTSTANDING) !== 0;
  }
  set pingOutstanding(on: boolean) {
    this.setFlag(FLAG_PING_OUTSTANDING, on);
  }
  /** @internal The sweeper tick at which the unfinished frame or message began arriving; -1 when there is none. */
  inputStartedAt = -1;
  /** core.messagesReceived when inputStartedAt was last looked at. */
  private messagesSeen = 0;

  private get handler(): Handler<T> {
    return this.shared.handler;
  }
  private get hub(): TopicHub | null {
    return this.shared.hub;
  }
  private get onFinished(): ((ws: WebSocket<T>) => void) | undefined {
    return this.shared.onFinished;
  }
  /** @internal */ topics: Set<string> | null = null;
  /** @internal The server's admission-control key (the peer's IP at upgrade). */
  admissionKey = '';
  /** State only a closing, failing or flush-waiting connection has (null until then): five fields fewer on every idle connection. */
  private rare: RareState | null = null;
  private get closeTimer(): NodeJS.Timeout | null {
    return this.rare === null ? null : this.rare.closeTimer;
  }
  private set closeTimer(timer: NodeJS.Timeout | null) {
    if (timer !== null || this.rare !== null) this.rareState().closeTimer = timer;
  }
  /** How this side cut the connection short, if it did: the close timer or idle timeout fired, or terminate(). */
  private get forcedEnd(): 'timeout' | 'terminate' | null {
    return this.rare === null ? null : this.rare.forcedEnd;
  }
  private set forcedEnd(how: 'timeout' | 'terminate' | null) {
    this.rareState().forcedEnd = how;
  }
  /** @internal */
  get socketError(): Error | undefined {
    return this.rare === null ? undefined : this.rare.socketError;
  }
  set socketError(error: Error | undefined) {
    this.rareState().socketError = error;
  }
  /** Why reading is paused (PAUSED_* bits, kept in flags above its own bits); reading resumes when none is left. */
  private get pausedBy(): number {
    return this.flags >>> PAUSED_SHIFT;
  }
  private set pausedBy(reasons: number) {
    this.flags = (this.flags & FLAG_BITS) | (reasons << PAUSED_SHIFT);
  }
  /** A send reported BACKPRESSURE and drain() has not been called since. */
  private get drainOwed(): boolean {
    return (this.flags & FLAG_DRAIN_OWED) !== 0;
  }
  private set drainOwed(on: boolean) {
    this.setFlag(FLAG_DRAIN_OWED, on);
  }
  private readonly buckets: TokenBuckets | null;
  private get rethrowHandlerErrors(): boolean {
    return (this.flags & FLAG_RETHROW) !== 0;
  }
  /** The first callback failure; from then on the connection gets no open, message, ping, pong or drain. */
  private get handlerFailure(): HandlerError | null {
    return this.rare === null ? null : this.rare.handlerFailure;
  }
  private set handlerFailure(error: HandlerError | null) {
    this.rareState().handlerFailure = error;
  }
  /** That failure is what closed the connection (1011), so it is the close cause. */
  private get closedForHandlerFailure(): boolean {
    return (this.flags & FLAG_CLOSED_FOR_HANDLER_FAILURE) !== 0;
  }
  private set closedForHandlerFailure(on: boolean) {
    this.setFlag(FLAG_CLOSED_FOR_HANDLER_FAILURE, on);
  }
  /** A rate limit tripped: the 1008 is on its way and nothing more from the peer reaches the handler. */
  private get rateLimited(): boolean {
    return (this.flags & FLAG_RATE_LIMITED) !== 0;
  }
  private set rateLimited(on: boolean) {
    this.setFlag(FLAG_RATE_LIMITED, on);
  }
  /** Sends waiting behind a compression were dropped when the connection ended. */
  private get droppedCompression(): boolean {
    return (this.flags & FLAG_DROPPED_COMPRESSION) !== 0;
  }
  private set droppedCompression(on: boolean) {
    this.setFlag(FLAG_DROPPED_COMPRESSION, on);
  }

  private setFlag(flag: number, on: boolean): void {
    this.flags = on ? this.flags | flag : this.flags & ~flag;
  }
  /** whenWritten callbacks that wait for this tick's write; null (no array per connection) until one does. */
  private get waitingForFlush(): ((error: Error | null) => void)[] | null {
    return this.rare === null ? null : this.rare.waitingForFlush;
  }
  private set waitingForFlush(waiting: ((error: Error | null) => void)[] | null) {
    if (waiting !== null || this.rare !== null) this.rareState().waitingForFlush = waiting;
  }

  private rareState(): RareState {
    return (this.rare ??= { closeTimer: null, forcedEnd: null, socketError: undefined, handlerFailure: null, waitingForFlush: null });
  }

  constructor(init: ConnectionInit<T>) {
    const { io, options } = init;
    const id = (this.id = ++lastId);
    const shared = (this.shared = sharedInit(init));
    shared.counters.connectionsOpen++;
    shared.counters.connectionsTotal++;
    this.io = io;
    this.data = init.data;
    this.protocol = init.protocol;
    this.extensions = init.extensions;
    if (init.rethrowHandlerErrors === true) this.flags = FLAG_RETHROW;
    this.buckets = options.rateLimit ? new TokenBuckets(options.rateLimit) : null;
    this.deflateJobs = init.deflate ? new DeflateJobs(init.deflate) : null;
    this.core = new Protocol(
      {
        role: init.role,
        maxPayload: options.maxPayload,
        maxFragments: options.maxFragments,
        fragmentsCloseCode: options.fragmentsCloseCode,
        maxBufferedChunks: options.maxBufferedChunks,
        autoPong: options.autoPong,
        skipUtf8Validation: options.skipUtf8Validation,
        deflate: init.deflate ?? null,
        ...(traceEnabled ? { trace: (direction, bits, length) => traceFrame(init.role, id, direction, bits, length) } : {}),
        ...(this.buckets ? { onFrameIn: () => this.countFrame() } : {}),
        ...(init.deflate ? { onCompressed: (direction, wire, length) => this.countCompressed(direction, wire, length) } : {}),
      },
      this,
    );
    io.start(this);
    if (options.idleTimeout > 0 || options.messageTimeout > 0) idleSweeper.add(this);
    if (openChannel.hasSubscribers) {
      const { role, remoteAddress, remotePort, protocol, extensions } = this;
      openChannel.publish({ ws: this, id, role, remoteAddress, remotePort, transport: io.kind, protocol, extensions });
    }
    if (traceEnabled) traceOpen(init.role, id, this.remoteAddress, this.remotePort, io.kind, this.protocol, this.extensions);
  }

  /** Which end of the connection this is. */
  get role(): 'server' | 'client' {
    return this.core.role;
  }

  /**
   * Which transport carries the connection: 'native' (the addon reads and writes the TCP socket) or 'stream'
   * (Node's net/tls streams: TLS, other Duplexes, `transport: 'stream'`, or where the addon cannot adopt a socket).
   */
  get transport(): 'native' | 'stream' {
    return this.io.kind;
  }

  // ---- sending -------------------------------------------------------------

  /** Bytes queued and not yet handed to the kernel. */
  get bufferedAmount(): number {
    return this.core.pendingOutputBytes + this.io.pendingBytes;
  }

  /**
   * bufferedAmount less the publishes waiting for the final fragment of our own fragmented send. Those can only
   * leave after it, so they must not refuse or stall the sends that would let them go (our fragments), nor hold back
   * 'drain' or reading; they still count against maxBackpressure when publishes are admitted.
   */
  private get sendableAmount(): number {
    return this.bufferedAmount - this.core.bytesAfterFragments;
  }

  /**
   * Queues a message (or, with `fin: false`, the first fragment of one: see SendOptions.fin). Publishes never land
   * between the fragments of a message this connection has open; they follow its final fragment. A large binary
   * payload is kept by reference until the sends of this tick are written: change or transfer its memory only after
   * that. A payload whose memory was transferred meanwhile fails the connection (1011, ERR_SEND_BUFFER_DETACHED).
   */
  send(data: SendData, options?: SendOptions): SendStatus {
    const payload = toPayload(data);
    const binary = options?.binary ?? typeof payload !== 'string';
    if (!this.admit()) return SendStatus.DROPPED;
    this.core.send(payload, binary, options);
    if (options?.fin !== false) this.counters.messagesOut++;
    if (messageSentChannel.hasSubscribers) messageSentChannel.publish({ ws: this, id: this.id, data, isBinary: binary });
    return this.queuedStatus();
  }

  /**
   * @internal A published message for a compressor of its own (context takeover): compressed in line with this
   * connection's sends, but never a fragment of its own fragmented send under way (it follows the final fragment).
   */
  sendPublished(payload: Buffer | string, binary: boolean): SendStatus {
    if (!this.admit(false, this.bufferedAmount)) return SendStatus.DROPPED;
    this.core.sendWholeMessage(payload, binary, true);
    this.counters.messagesOut++;
    if (messageSentChannel.hasSubscribers) messageSentChannel.publish({ ws: this, id: this.id, data: payload, isBinary: binary });
    return this.queuedStatus();
  }

  ping(data: SendData = EMPTY): SendStatus {
    if (!this.admit(true)) return SendStatus.DROPPED;
    this.core.ping(toPayload(data));
    return this.queuedStatus();
  }

  pong(data: SendData = EMPTY): SendStatus {
    if (!this.admit(true)) return SendStatus.DROPPED;
    this.core.pong(toPayload(data));
    return this.queuedStatus();
  }

  /** permessage-deflate, when negotiated (null otherwise). */
  get deflate(): PerMessageDeflate | null {
    return this.core.deflate;
  }

  /** @internal Writes frames encoded once for many connections (publish); after the final fragment of a fragmented send under way. */
  sendFrames(frames: readonly Buffer[]): SendStatus {
    if (!this.admit(false, this.bufferedAmount)) return SendStatus.DROPPED;
    this.core.sendRaw(frames);
    this.counters.messagesOut++;
    return this.queuedStatus();
  }

  /**
   * @internal May publish hand this connection a frame of `size` bytes past sendFrames (native-fanout.ts)? Only
   * where sendFrames would queue it and report SENT with nothing else to do: open, within maxBackpressure (else
   * sendFrames applies the policy), nothing of its own queued in the core and no reason there for a whole message to
   * wait (a compression under way, or its own fragmented message open: §5.4), reading not
   * paused for backpressure and no drain owed (this tick's flush resolves those), still within the high-water mark
   * after it (no BACKPRESSURE).
   */
  acceptsDirectFrame(size: number): boolean {
    if (!this.readyForDirectFrames) return false;
    const buffered = this.io.pendingBytes;
    return buffered + size <= this.io.highWaterMark && (this.options.queueOverBackpressure || buffered <= this.options.maxBackpressure);
  }

  /** acceptsDirectFrame but for the frame's size: what the transport mirrors for the addon's fan-out (setPublishReady). */
  private get readyForDirectFrames(): boolean {
    if (this.readyState !== ReadyState.OPEN || this.pausedBy !== 0 || this.drainOwed) return false;
    const core = this.core;
    return !core.closeSent && core.pendingOutputBytes === 0 && !core.wholeMessagesWait;
  }

  /**
   * @internal May the addon's fan-out (native-fanout.ts fanOut) reach this connection by id, given the flag
   * readyForDirectFrames and a bound of `limit` bytes held with the frame? Not with compression (the frame may
   * differ per subscriber), nor where maxBackpressure is below that bound (the addon does not weigh it).
   */
  takesPlainPublishes(limit: number): boolean {
    return this.core.deflate === null && (this.options.queueOverBackpressure || this.options.maxBackpressure >= limit);
  }

  /**
   * @internal Tells the transport readyForDirectFrames anew. A subscribed connection calls it wherever the answer may
   * have become yes (a flush, a drain, a resume, a subscribe) and says no (publishNotReady) wherever it may have become
   * no, before any publish can ask: every queued output schedules a flush, every pause goes through pauseFor.
   */
  updatePublishReady(): void {
    if (this.topics !== null) this.io.setPublishReady?.(this.readyForDirectFrames);
  }

  private publishNotReady(): void {
    if (this.topics !== null) this.io.setPublishReady?.(false);
  }

  /** Runs fn; everything it sends leaves in one write. (Every tick is corked already; this is for clarity and ws/uWS parity.) */
  cork<R>(fn: () => R): R {
    return fn();
  }

  // ---- the seam a policy layer (wsbolt/ws) reads, instead of the core's and the transport's state ----

  /** Where the closing handshake stands: which close frames went and came, whether the connection failed, the close code and reason known so far. */
  get closeState(): CloseState {
    const core = this.core;
    return { closeSent: core.closeSent, closeReceived: core.closeReceived, failure: core.failure, code: core.closeCode, reason: core.closeReason };
  }

  /** True once the stream under the connection is gone (destroyed or closed). */
  get transportGone(): boolean {
    return this.io.destroyed;
  }

  /** Bytes handed to the stream and not yet taken by the kernel. */
  get streamPendingBytes(): number {
    return this.io.pendingBytes;
  }

  /** True while frames wait for this tick's write. */
  get flushPending(): boolean {
    return this.queued;
  }

  /** Ends our side of the stream now, after what is pending (TCP FIN). */
  endTransport(): void {
    this.io.end();
  }

  /** Calls back once everything sent so far has left (written to the kernel), or with an error once the stream ended first. */
  whenWritten(callback: (error: Error | null) => void): void {
    if (this.droppedCompression) process.nextTick(callback, this.unsentError());
    else if (this.readyState === ReadyState.CLOSED) this.io.afterWrites(callback);
    else if (this.queued || this.core.waitingForDeflate) (this.waitingForFlush ??= []).push(callback);
    else this.io.afterWrites(callback);
  }

  /** Starts the closing handshake. Throws on a code that may not be sent or a reason over 123 bytes. */
  close(code?: number, reason?: string | Buffer): void {
    if (this.readyState !== ReadyState.OPEN) return;
    this.core.close(code, reason);
    this.readyState = ReadyState.CLOSING;
    this.armCloseTimer();
    this.scheduleFlush();
  }

  /** Drops the TCP connection now, without a closing handshake (what was already sent still leaves). */
  terminate(): void {
    if (this.readyState === ReadyState.CLOSED) return;
    if (this.queued && !this.io.destroyed) this.flush();
    this.forcedEnd = 'terminate';
    this.endInput();
    this.readyState = ReadyState.CLOSING;
    this.publishNotReady();
    this.io.destroy();
  }

  /** Stops reading from the peer until resume(). */
  pause(): void {
    this.pauseFor(PAUSED_BY_USER);
  }

  resume(): void {
    this.resumeFor(PAUSED_BY_USER);
  }

  private pauseFor(reason: number): void {
    if (this.pausedBy === 0) this.io.pause();
    this.pausedBy |= reason;
    this.publishNotReady();
  }

  /** Reads again unless another reason still wants reading paused. */
  private resumeFor(reason: number): void {
    if ((this.pausedBy & reason) === 0) return;
    this.pausedBy &= ~reason;
    if (this.pausedBy === 0 && this.readyState !== ReadyState.CLOSED) this.io.resume();
    this.updatePublishReady();
  }

  get isPaused(): boolean {
    return (this.pausedBy & (PAUSED_BY_USER | PAUSED_FOR_BACKPRESSURE)) !== 0;
  }

  /** @internal Not reading, for any reason of ours: the peer is not to blame for the time this takes. */
  get readingPaused(): boolean {
    return this.pausedBy !== 0;
  }

  // ---- pub/sub ---------------------------------------------------------------

  subscribe(topic: string): boolean {
    return this.requireHub().subscribe(this as WebSocket<unknown>, topic);
  }

  unsubscribe(topic: string): boolean {
    return this.requireHub().unsubscribe(this as WebSocket<unknown>, topic);
  }

  isSubscribed(topic: string): boolean {
    return this.topics?.has(topic) ?? false;
  }

  /** Topics this connection is subscribed to. */
  get subscriptions(): string[] {
    return this.topics ? [...this.topics] : [];
  }

  /** Sends to every subscriber of topic except this connection; returns how many it reached. */
  publish(topic: string, data: SendData, options?: { binary?: boolean; compress?: boolean }): number {
    return this.requireHub().publish(topic, data, options?.binary, this as WebSocket<unknown>, options?.compress);
  }

  private requireHub(): TopicHub {
    if (!this.hub) throw new WsboltError('ERR_NO_PUBSUB', 'pub/sub is available on server connections');
    return this.hub;
  }

  // ---- ProtocolHandler (called by the core during receive) --------------------

  /** @internal */
  onMessage(received: Buffer, isBinary: boolean): void {
    if (this.buckets && !this.rateLimited && !this.buckets.takeMessage()) this.rateLimitExceeded();
    if (this.rateLimited) return;
    const data = detachFromLargeRead(received);
    this.counters.messagesIn++;
    if (messageReceivedChannel.hasSubscribers) messageReceivedChannel.publish({ ws: this, id: this.id, data, isBinary });
    this.invoke('message', data, isBinary);
  }

  /** @internal */
  onPing(data: Buffer): void {
    this.scheduleFlush(); // the automatic pong
    if (!this.rateLimited) this.invoke('ping', data);
  }

  /** @internal */
  onPong(data: Buffer): void {
    this.pingOutstanding = false;
    if (!this.rateLimited) this.invoke('pong', data);
  }

  // ---- rate limits (rateLimit): every frame and every byte received costs work, not only messages ----

  private countFrame(): void {
    if (!this.rateLimited && !this.buckets!.takeFrame()) this.rateLimitExceeded();
  }

  private rateLimitExceeded(): void {
    this.rateLimited = true;
    if (this.readyState === ReadyState.OPEN) this.close(CloseCode.POLICY_VIOLATION, 'rate limit exceeded');
  }

  /** @internal */
  onCloseFrame(): void {
    this.readyState = ReadyState.CLOSING;
    this.armCloseTimer();
    this.scheduleFlush();
  }

  /** @internal */
  onProtocolError(error: WsboltError): void {
    this.readyState = ReadyState.CLOSING;
    this.armCloseTimer();
    this.scheduleFlush();
    if (protocolErrorChannel.hasSubscribers) protocolErrorChannel.publish({ ws: this, id: this.id, role: this.role, error });
    if (traceEnabled) traceProtocolError(this.role, this.id, error);
    this.invoke('error', error);
  }

  /** A compressed message was received (inflated) or queued (deflated): wire is its payload's bytes on the wire. */
  private countCompressed(direction: 'in' | 'out', wire: number, length: number): void {
    const counters = this.counters;
    if (direction === 'in') {
      counters.compressedMessagesIn++;
      counters.compressedBytesIn += wire;
      counters.inflatedBytesIn += length;
    } else {
      counters.compressedMessagesOut++;
      counters.compressedBytesOut += wire;
      counters.uncompressedBytesOut += length;
    }
    if (traceEnabled) traceCompressed(this.role, this.id, direction, wire, length);
  }

  // ---- offloaded zlib work (permessage-deflate above asyncThreshold, or with context takeover) ----

  /** @internal The core paused on a compressed message: stop reading (bounded memory) and inflate it on the thread pool. */
  onInflateNeeded(compressed: Buffer, isBinary: boolean): void {
    void isBinary;
    this.pauseFor(PAUSED_FOR_INFLATE);
    // The jobs drop the callback once closed (finish() closes them), so nothing reaches a dead connection.
    this.deflateJobs!.inflate(compressed, this.options.maxPayload, (result) => this.inflated(result));
  }

  private inflated(result: InflateResult): void {
    if (this.readyState === ReadyState.CLOSED) return;
    this.core.resumeInflated(result);
    if (!this.core.waitingForInflate) this.resumeFor(PAUSED_FOR_INFLATE);
    this.afterInput();
  }

  /** @internal A send needs compressing on the thread pool; later sends wait in the core meanwhile. */
  onDeflateNeeded(data: Buffer | string): void {
    this.deflateJobs!.compress(data, (result) => this.compressed(result));
  }

  private compressed(result: Buffer | Error): void {
    if (this.readyState === ReadyState.CLOSED) return;
    if (result instanceof Error) this.core.failCompression(result.message);
    else this.core.resumeCompressed(result);
    this.scheduleFlush();
  }

  // ---- TransportListener -----------------------------------------------------

  /** @internal Bytes that arrived with the upgrade request. */
  receiveHead(head: Buffer): void {
    if (head.length === 0) return;
    const copy = Buffer.from(head);
    markSharedReadMemory(copy.buffer);
    this.onData(copy);
  }

  /** @internal */
  onData(chunk: Buffer): void {
    this.lastInput = idleSweeper.ticks;
    this.pingOutstanding = false;
    this.counters.bytesIn += chunk.length;
    if (this.buckets && !this.rateLimited && !this.buckets.takeBytes(chunk.length)) this.rateLimitExceeded();
    this.core.receive(chunk);
    // A frame left unfinished may have the rest of its payload read straight into its buffer.
    this.io.readInto?.(this.core);
    this.afterInput();
  }

  /** @internal The transport read `length` more bytes of the pending frame into the buffer the core gave it (readInto). */
  onFilled(length: number): void {
    this.lastInput = idleSweeper.ticks;
    this.pingOutstanding = false;
    if (this.buckets && !this.rateLimited && !this.buckets.takeBytes(length)) this.rateLimitExceeded();
    this.core.receiveFilled(length);
    this.io.readInto?.(this.core);
    this.afterInput();
  }

  private afterInput(): void {
    if (this.options.messageTimeout > 0) this.stampUnfinishedInput();
    if (this.core.pendingOutputBytes > 0) this.scheduleFlush();
    if ((this.pausedBy & PAUSED_FOR_BACKPRESSURE) === 0 && this.sendableAmount > this.options.maxBackpressure && this.readyState !== ReadyState.CLOSED) {
      // We produce output faster than the peer reads it: stop reading until it catches up.
      this.pauseFor(PAUSED_FOR_BACKPRESSURE);
    }
  }

  /** Notes when the frame or message the peer left unfinished began (a message that ended meanwhile restarts the clock). */
  private stampUnfinishedInput(): void {
    const core = this.core;
    const finishedOne = core.messagesReceived !== this.messagesSeen;
    this.messagesSeen = core.messagesReceived;
    if (!core.inputPending) this.inputStartedAt = -1;
    else if (finishedOne || this.inputStartedAt < 0) this.inputStartedAt = idleSweeper.ticks;
  }

  /** @internal */
  onEnd(): void {
    // The peer closed its side. Whatever was not closed cleanly is 1006.
    this.endInput();
    this.io.end();
  }

  /** @internal */
  onError(error: Error): void {
    this.socketError ??= error;
  }

  /** @internal */
  onClose(): void {
    this.finish();
  }

  /** @internal */
  onDrain(): void {
    if (this.sendableAmount <= this.options.maxBackpressure) this.resumeFor(PAUSED_FOR_BACKPRESSURE);
    this.drainOwed = false;
    this.updatePublishReady();
    if (this.readyState === ReadyState.OPEN) this.drained();
  }

  private drained(): void {
    if (drainChannel.hasSubscribers) drainChannel.publish({ ws: this, id: this.id });
    this.invoke('drain');
  }

  /** May this send go ahead? Refuses when not open or over maxBackpressure (buffered: what it is weighed against). */
  private admit(control = false, buffered = this.sendableAmount): boolean {
    if (this.readyState !== ReadyState.OPEN || this.core.closeSent) return this.dropped();
    if (!control && !this.options.queueOverBackpressure && buffered > this.options.maxBackpressure) {
      if (this.options.closeOnBackpressureLimit) this.close(CloseCode.POLICY_VIOLATION, 'backpressure limit');
      return this.dropped();
    }
    return true;
  }

  private dropped(): false {
    this.counters.droppedSends++;
    return false;
  }

  private queuedStatus(): SendStatus {
    this.scheduleFlush();
    if (this.sendableAmount > this.io.highWaterMark) {
      if (!this.drainOwed) this.backpressureBegan();
      this.drainOwed = true; // drain() is owed once the buffer falls back
      return SendStatus.BACKPRESSURE;
    }
    return SendStatus.SENT;
  }

  /** Counted (and published) once per episode, from the first send that reports BACKPRESSURE until drain. */
  private backpressureBegan(): void {
    this.counters.backpressureEvents++;
    if (backpressureChannel.hasSubscribers) backpressureChannel.publish({ ws: this, id: this.id, bufferedAmount: this.bufferedAmount });
  }

  private scheduleFlush(): void {
    // Whatever was queued goes before a published frame: the addon's fan-out must ask first (see updatePublishReady).
    this.publishNotReady();
    if (!this.queued) {
      this.queued = true;
      flushLater(this as WebSocket<unknown>);
    }
  }

  /** @internal Writes everything queued this tick in one go. */
  flush(): void {
    this.queued = false;
    const io = this.io;
    const frames = this.core.dataToSend();
    if (frames.length > 0) {
      this.counters.bytesOut += byteSize(frames);
      io.write(frames);
    }
    // Sends behind a compression on the thread pool have not left yet: their callbacks wait for it.
    const waiting = this.waitingForFlush;
    if (waiting !== null && !this.core.waitingForDeflate) {
      this.waitingForFlush = null;
      io.afterWrites((error) => {
        for (const callback of waiting) callback(error);
      });
    }
    if (this.pausedBy !== 0 && this.sendableAmount <= this.options.maxBackpressure) this.resumeFor(PAUSED_FOR_BACKPRESSURE);
    if (this.drainOwed && !io.needsDrain && this.sendableAmount <= io.highWaterMark) {
      // The kernel took everything at once, so the socket will not emit 'drain': emit it ourselves.
      this.drainOwed = false;
      if (this.readyState === ReadyState.OPEN) this.drained();
    }
    // Server after the closing handshake, or either side after a failure: we drop TCP first (§7.1.1).
    if (this.core.shouldCloseTransport()) io.end();
    this.updatePublishReady();
  }

  private armCloseTimer(): void {
    if (this.closeTimer || this.readyState === ReadyState.CLOSED) return;
    this.closeTimer = setTimeout(() => {
      this.closeTimer = null;
      this.destroyForTimeout();
    }, this.options.closeTimeout);
  }

  /** @internal A deadline (server.close's timeout) passed without the closing handshake. */
  destroyForTimeout(): void {
    if (this.readyState === ReadyState.CLOSED) return;
    if (!this.core.closeReceived && this.core.failure === null) this.forcedEnd = 'timeout';
    this.io.destroy();
  }

  /** @internal The idle sweeper found no input for idleTimeout. */
  idleTimeout(): void {
    if (this.readyState !== ReadyState.OPEN) return;
    this.forcedEnd = 'timeout';
    this.close(CloseCode.GOING_AWAY, 'idle timeout');
  }

  /**
   * @internal The sweeper found a frame or message unfinished for
   * messageTimeout (a peer trickling it): 1008, and TCP is dropped once that
   * close frame is out, since the peer could only answer after the frame.
   */
  messageTimeout(): void {
    this.inputStartedAt = -1;
    if (this.readyState !== ReadyState.OPEN) return;
    this.forcedEnd = 'timeout';
    this.core.abandonInput(CloseCode.POLICY_VIOLATION, 'message timeout');
    this.readyState = ReadyState.CLOSING;
    this.armCloseTimer();
    this.scheduleFlush();
  }

  /** @internal */
  finish(): void {
    if (this.readyState === ReadyState.CLOSED) return;
    this.readyState = ReadyState.CLOSED;
    if (this.closeTimer) clearTimeout(this.closeTimer);
    this.closeTimer = null;
    idleSweeper.delete(this);
    this.endInput();
    // Frees zlib streams kept for context takeover; offloaded jobs still queued or running end without a callback.
    this.deflateJobs?.close();
    if (this.hub && this.topics) this.hub.unsubscribeAll(this as WebSocket<unknown>);
    this.failWaitingForFlush();
    const { code, reason, cause } = this.closeOutcome();
    this.counters.closed(code);
    if (closeChannel.hasSubscribers) closeChannel.publish({ ws: this, id: this.id, role: this.role, code, reason, cause });
    if (traceEnabled) traceClose(this.role, this.id, code, reason, cause);
    try {
      this.invoke('close', code, reason, cause);
    } finally {
      this.onFinished?.(this);
    }
  }

  /** The connection ended before what whenWritten waits for could leave. */
  private failWaitingForFlush(): void {
    const waiting = this.waitingForFlush;
    if (waiting === null) return;
    this.waitingForFlush = null;
    for (const callback of waiting) callback(this.unsentError());
  }

  private unsentError(): WsboltError {
    return this.droppedCompression
      ? new WsboltError('ERR_CLOSED_WHILE_COMPRESSING', 'the connection closed while a message was being compressed')
      : new WsboltError('ERR_NOT_OPEN', 'the connection closed before the data was written');
  }

  /** No more input (EOF, terminate, the end); sends held behind a compression are dropped, which whenWritten reports. */
  private endInput(): void {
    if (this.core.waitingForDeflate) this.droppedCompression = true;
    this.core.receiveEof();
  }

  // ---- user callbacks ----------------------------------------------------------

  /**
   * @internal Calls a handler callback (as a method of the handler, with this
   * connection first). A throw, or a returned thenable that rejects, closes
   * this connection with 1011 and is reported; after one, only close and
   * error are still called. Fixed arity: nothing allocated per call.
   */
  invoke(name: CallbackName, a?: unknown, b?: unknown, c?: unknown): void {
    const fn = (this.handler as unknown as Record<string, AnyCallback | undefined>)[name];
    if (fn === undefined || (this.handlerFailure !== null && name !== 'close' && name !== 'error')) return;
    if (this.rethrowHandlerErrors) {
      this.call(fn, name, a, b, c);
      return;
    }
    let result: unknown;
    try {
      result = this.call(fn, name, a, b, c);
    } catch (error) {
      this.handlerFailed(new HandlerError(name, error));
      return;
    }
    if (result !== undefined) onRejection(result, (reason) => this.handlerFailed(new HandlerError(name, reason, true)));
  }

  /** Each callback with exactly its own arguments. */
  private call(fn: AnyCallback, name: CallbackName, a: unknown, b: unknown, c: unknown): unknown {
    const handler = this.handler;
    if (name === 'message') return fn.call(handler, this, a, b);
    if (name === 'close') return fn.call(handler, this, a, b, c);
    if (name === 'open' || name === 'drain') return fn.call(handler, this);
    return fn.call(handler, this, a); // ping, pong, error
  }

  private handlerFailed(error: HandlerError): void {
    this.handlerFailure ??= error;
    if (this.readyState === ReadyState.OPEN) {
      this.closedForHandlerFailure = true;
      this.close(CloseCode.INTERNAL_ERROR, 'internal error');
    }
    reportHandlerError(this.handler, this, error);
  }

  private closeOutcome(): { code: number; reason: string; cause: CloseCause } {
    const core = this.core;
    if (this.closedForHandlerFailure) {
      const clean = core.closeReceived && core.closeSent;
      return {
        code: clean ? core.closeCode : CloseCode.ABNORMAL,
        reason: clean ? core.closeReason : '',
        cause: { kind: 'handler_error', error: this.handlerFailure! },
      };
    }
    if (core.failure)
      return { code: core.failure.closeCode ?? CloseCode.PROTOCOL_ERROR, reason: core.failure.message, cause: { kind: 'protocol_error', error: core.failure } };
    const clean = core.closeReceived && core.closeSent;
    if (this.forcedEnd === 'timeout')
      return { code: clean ? core.closeCode : CloseCode.ABNORMAL, reason: clean ? core.closeReason : '', cause: { kind: 'timeout' } };
    if (clean) return { code: core.closeCode, reason: core.closeReason, cause: { kind: core.peerStartedClosing ? 'remote' : 'local' } };
    if (this.forcedEnd === 'terminate') return { code: CloseCode.ABNORMAL, reason: '', cause: { kind: 'local' } };
    return { code: CloseCode.ABNORMAL, reason: '', cause: this.socketError ? { kind: 'abrupt', error: this.socketError } : { kind: 'abrupt' } };
  }
}

const EMPTY = Buffer.alloc(0);

/** WebSocket's state for closing, failures and whenWritten, made when first needed. */
interface RareState {
  closeTimer: NodeJS.Timeout | null;
  forcedEnd: 'timeout' | 'terminate' | null;
  socketError: Error | undefined;
  handlerFailure: HandlerError | null;
  waitingForFlush: ((error: Error | null) => void)[] | null;
}

type AnyCallback = (...args: unknown[]) => unknown;

/** What a connection keeps of its ConnectionInit that is the same for every connection of a route. */
interface SharedInit<T> {
  readonly handler: Handler<T>;
  readonly options: ResolvedOptions;
  readonly hub: TopicHub | null;
  readonly onFinished: ((ws: WebSocket<T>) => void) | undefined;
  readonly counters: Counters;
}

/**
 * The previous server connection's SharedInit: connections arrive in runs on one route, and those share it (it is
 * never written). A client's is its own: its handler may be the caller's per-connection object, which a shared one
 * would keep after the connection.
 */
let lastShared: SharedInit<any> | null = null;

function sharedInit<T>(init: ConnectionInit<T>): SharedInit<T> {
  const counters = init.counters ?? unreported;
  const server = init.role !== 'client';
  const last = lastShared as SharedInit<T> | null;
  if (
    server &&
    last !== null &&
    last.handler === init.handler &&
    last.options === init.options &&
    last.hub === init.hub &&
    last.onFinished === init.onFinished &&
    last.counters === counters
  ) {
    return last;
  }
  const made: SharedInit<T> = { handler: init.handler, options: init.options, hub: init.hub, onFinished: init.onFinished, counters };
  if (server) lastShared = made;
  return made;
}

/** Bits of flags (the PAUSED_* reasons go above them, from PAUSED_SHIFT). */
const FLAG_QUEUED = 1;
const FLAG_PING_OUTSTANDING = 2;
const FLAG_DRAIN_OWED = 4;
const FLAG_RETHROW = 8;
const FLAG_CLOSED_FOR_HANDLER_FAILURE = 16;
const FLAG_RATE_LIMITED = 32;
const FLAG_DROPPED_COMPRESSION = 64;
const FLAG_BITS = 0xff;
const PAUSED_SHIFT = 8;

/** Reasons to stop reading (bits of pausedBy). */
const PAUSED_BY_USER = 1;
/** We produce output faster than the peer reads it. */
const PAUSED_FOR_BACKPRESSURE = 2;
/** A received message is being inflated off the main thread (the core holds what follows). */
const PAUSED_FOR_INFLATE = 4;
