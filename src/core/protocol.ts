/**
 * The sans-I/O WebSocket connection: bytes in → events out, send requests →
 * bytes out. No sockets and no timers: the driver feeds receive(), writes what
 * dataToSend() returns, and asks closeExpected() / shouldCloseTransport() when
 * to arm a timer or drop TCP. One class for both roles; the role only decides
 * masking (§5.1) and who closes TCP first (§7.1.1). Received data frames
 * are assembled by message.ts (the reader hands them over directly); control
 * frames, the closing handshake and delivery are here. With permessage-deflate
 * the codec runs inline within the budget of inline-budget.ts; larger work goes
 * to the driver, with later input paused here and later sends held in order by
 * held-sends.ts.
 */
import { Buffer } from 'node:buffer';
import { active, isValidUtf8 } from '../native/index.js';
import { type Backend, SCAN_EXPECT_MASKED } from '../native/types.js';
import { buildClosePayload, parseClosePayload } from './close.js';
import {
  CloseCode,
  DEFAULT_MAX_FRAGMENTS,
  DEFAULT_MAX_PAYLOAD,
  MAX_CONTROL_PAYLOAD,
  OPCODE_BINARY,
  OPCODE_CLOSE,
  OPCODE_CONTINUATION,
  OPCODE_PING,
  OPCODE_PONG,
  OPCODE_TEXT,
  RSV1,
} from './constants.js';
import { WsboltError, protocolError } from './errors.js';
import type { InflateResult, PerMessageDeflate } from '../extensions/permessage-deflate.js';
import { byteSize } from './held-bytes.js';
import { type ControlFrameSink, type DirectTarget, type FrameObserver, FrameReader } from './frame-reader.js';
import { OutputQueue } from './frame-writer.js';
import { AfterFragments } from './after-fragments.js';
import { HeldSends, type HeldSendOutput } from './held-sends.js';
import { headerError } from './header-errors.js';
import { DEFER, compressesInline, inflateInline } from './inline-budget.js';
import { type AssemblerLimits, MessageAssembler, type MessageSink } from './message.js';

export type Role = 'server' | 'client';

/**
 * Where the closing handshake stands (§7), as python-websockets' State: the
 * one lifecycle fact of the core. Whether the transport has ended is kept
 * apart (`receiving`), because it can end in any of these states.
 */
export const State = {
  OPEN: 1,
  /** Our close frame is queued; the peer's has not arrived. */
  CLOSE_SENT: 2,
  /** The peer's close frame arrived; ours is not queued yet. */
  CLOSE_RECEIVED: 3,
  /** Both close frames exchanged: the closing handshake is complete. */
  CLOSED: 4,
  /** We failed the connection (§7.1.7): our close frame carries the error's code; nothing more is read. */
  FAILED: 5,
} as const;
export type State = (typeof State)[keyof typeof State];

/** A Protocol's settings: its role and limits; the same limits as the connection options, sizes in bytes. */
export interface ProtocolOptions {
  /** 'server' expects masked frames and sends unmasked ones; 'client' the other way round (RFC 6455 §5.3). */
  role: Role;
  /** Largest message accepted, in bytes (1009 above it). */
  maxPayload?: number;
  /** Most frames one message may span (1009 above it, or fragmentsCloseCode). */
  maxFragments?: number;
  /** The close code for a message over maxFragments: 1009 by default (ws closes with 1008, policy violation). */
  fragmentsCloseCode?: number;
  /** Most chunks one unfinished header or payload may arrive in (1008 above it); 0 (default): no limit. ws's maxBufferedChunks. */
  maxBufferedChunks?: number;
  /** Answer pings with pongs automatically (default true). */
  autoPong?: boolean;
  /** Deliver text without checking UTF-8 (only for trusted peers). */
  skipUtf8Validation?: boolean;
  /** RSV bits claimed by negotiated extensions (0x40 = RSV1). */
  rsvMask?: number;
  /** Implementation of the hot paths; defaults to the loaded backend. */
  backend?: Backend;
  /** Source of client masking keys; defaults to a crypto-random pool (tests pin it). */
  maskKey?: (target: Uint8Array, offset: number) => void;
  /** Called for every complete frame received and every frame queued (tracing). */
  trace?: FrameTrace;
  /** Called for every complete frame received, before it is acted on (the driver's rate limits count frames with it). */
  onFrameIn?: () => void;
  /** permessage-deflate, when negotiated: claims RSV1, compresses and inflates messages. */
  deflate?: PerMessageDeflate | null;
  /** Called for every compressed message received (once inflated) and queued (once compressed): its payload on the wire and its length uncompressed. */
  onCompressed?: CompressedTrace;
}

/** wire: the compressed payload's bytes; length: the message's bytes uncompressed. */
export type CompressedTrace = (direction: 'in' | 'out', wire: number, length: number) => void;

/** bits is the first header byte: FIN (0x80), RSV (0x70), opcode (0x0f). */
export type FrameTrace = (direction: 'in' | 'out', bits: number, length: number) => void;

/** What a Protocol reports, called synchronously from receive() (and from resumeInflated()). */
export interface ProtocolHandler {
  /** A complete message, reassembled and (for text) checked as UTF-8; data is the caller's to keep. */
  onMessage(data: Buffer, isBinary: boolean): void;
  /** A ping (the pong is already queued unless autoPong is false). */
  onPing(data: Buffer): void;
  /** A pong, solicited or not. */
  onPong(data: Buffer): void;
  /** The peer's close frame (code 1005 when it carried none). */
  onCloseFrame(code: number, reason: string): void;
  /** The connection is failed: a close frame with error.closeCode is queued, input is ignored from now on. */
  onProtocolError(error: WsboltError): void;
  /**
   * permessage-deflate work that belongs off the main thread (both hooks or
   * neither; without them everything runs inline, and context takeover is
   * refused). Called outside of receive() and send() bookkeeping, never
   * re-entrantly: the driver runs the job (the node engine's DeflateJobs) and
   * hands the result to resumeInflated() / resumeCompressed().
   * Until then nothing after that message is read, and nothing sent after it
   * (but pings and pongs) is framed.
   */
  onInflateNeeded?(compressed: Buffer, isBinary: boolean): void;
  /** A message to compress off the main thread; hand the result to resumeCompressed(). */
  onDeflateNeeded?(data: Buffer | string): void;
}

/** How Protocol.send() frames one message. */
export interface SendOptions {
  /** false: more fragments of this message follow (fragmented messages go out uncompressed). */
  fin?: boolean;
  /** With permessage-deflate: false sends this message uncompressed; true compresses it even below the threshold. */
  compress?: boolean;
}

export class Protocol implements ControlFrameSink, MessageSink {
  get role(): Role {
    return (this.bits & BIT_CLIENT) !== 0 ? 'client' : 'server';
  }
  state: State = State.OPEN as State;
  /** The yes/no facts (BIT_* bits) in one number: a field each would cost every connection 8 bytes apiece. */
  private bits = 0;
  /** The transport ended (EOF or error): nothing is read or sent from now on. */
  private get ended(): boolean {
    return (this.bits & BIT_ENDED) !== 0;
  }
  /** The code and reason to report when the connection ends. */
  closeCode: number = CloseCode.ABNORMAL;
  closeReason = '';
  /** Why the connection failed (state FAILED), else null. */
  failure: WsboltError | null = null;
  /** Answer pings with pongs (the autoPong option). */
  get autoPong(): boolean {
    return (this.bits & BIT_AUTO_PONG) !== 0;
  }
  set autoPong(on: boolean) {
    this.bits = on ? this.bits | BIT_AUTO_PONG : this.bits & ~BIT_AUTO_PONG;
  }
  /**
   * Messages received in full, counting a control frame outside of a
   * message as one. A driver that times unfinished input (messageTimeout)
   * restarts its clock when this changed: what is pending now began since.
   */
  messagesReceived = 0;

  /** Our close frame is queued (or was written). */
  get closeSent(): boolean {
    return this.state === State.CLOSE_SENT || this.state === State.CLOSED || this.state === State.FAILED;
  }

  /** The peer's close frame arrived. */
  get closeReceived(): boolean {
    return this.state === State.CLOSE_RECEIVED || this.state === State.CLOSED;
  }

  /** Who started the closing handshake: the peer's close frame came before ours. */
  get peerStartedClosing(): boolean {
    return (this.bits & BIT_PEER_STARTED_CLOSING) !== 0;
  }

  /** The kernels: the reader's (one field fewer on every connection). */
  private get backend(): Backend {
    return this.reader.backend;
  }
  private readonly reader: FrameReader;
  /** Made at the first data frame (dataSink()): an idle connection does without. */
  private assembler: MessageAssembler | null = null;
  /** What the assembler will enforce (shared by connections configured alike). */
  private readonly limits: AssemblerLimits;
  /** Frames we send are masked: the client's (§5.3). */
  private get masking(): boolean {
    return this.role === 'client';
  }
  /** The optional hooks (maskKey, trace, onCompressed), or null when none was given: one field for the three. */
  private readonly hooks: Hooks | null;
  private get maskKey(): ((target: Uint8Array, offset: number) => void) | undefined {
    return this.hooks?.maskKey;
  }
  private get trace(): FrameTrace | undefined {
    return this.hooks?.trace;
  }
  private get onCompressed(): CompressedTrace | undefined {
    return this.hooks?.onCompressed;
  }
  /** permessage-deflate, when negotiated. */
  readonly deflate: PerMessageDeflate | null;
  /** Largest message accepted, in bytes. */
  private get maxPayload(): number {
    return this.limits.maxPayload;
  }
  private get skipUtf8Validation(): boolean {
    return (this.bits & BIT_SKIP_UTF8) !== 0;
  }
  /** Frames queued for the driver; made at the first send (an idle server connection has sent nothing: its 101 went through the transport). */
  private queue: OutputQueue | null = null;
  private get output(): OutputQueue {
    return (this.queue ??= new OutputQueue());
  }
  /** A fragmented send is open: the next data frame is a continuation. */
  private get sendingFragmented(): boolean {
    return (this.bits & BIT_SENDING_FRAGMENTED) !== 0;
  }
  /** The driver runs offloaded zlib jobs (it has the hooks). */
  private get offload(): boolean {
    return (this.bits & BIT_OFFLOAD) !== 0;
  }
  /**
   * A received message waiting to be inflated off the main thread; input is paused meanwhile. compressed: its bytes,
   * until they are handed to the driver once the reader has unwound (null from then on: the job is in flight).
   */
  private inflating: { isBinary: boolean; wire: number; compressed: Buffer | null } | null = null;
  /** Sends waiting behind a compression off the main thread; made when the first one has to wait. */
  private held: HeldSends | null = null;
  /** Whole messages from outside our own stream waiting for our fragmented message to end (§5.4); made when the first one waits. */
  private afterFragments: AfterFragments | null = null;

  constructor(
    options: ProtocolOptions,
    private readonly handler: ProtocolHandler,
  ) {
    if (options.role === 'client') this.bits |= BIT_CLIENT;
    const backend = options.backend ?? active;
    if (options.autoPong !== false) this.bits |= BIT_AUTO_PONG;
    const { maskKey, trace, onCompressed } = options;
    this.hooks = maskKey || trace || onCompressed ? { maskKey, trace, onCompressed } : null;
    this.deflate = options.deflate ?? null;
    if (typeof handler.onInflateNeeded === 'function' && typeof handler.onDeflateNeeded === 'function') this.bits |= BIT_OFFLOAD;
    if (this.deflate && !this.offload && (this.deflate.sendContext || this.deflate.receiveContext)) {
      throw new WsboltError(
        'ERR_DEFLATE_NEEDS_DRIVER',
        'permessage-deflate with context takeover needs a driver that runs zlib jobs (onInflateNeeded / onDeflateNeeded)',
      );
    }
    if (options.skipUtf8Validation === true) this.bits |= BIT_SKIP_UTF8;
    const maxPayload = options.maxPayload ?? DEFAULT_MAX_PAYLOAD;
    const rsvMask = (options.rsvMask ?? 0) | (this.deflate ? RSV1 : 0);
    const flags = (options.role === 'server' ? SCAN_EXPECT_MASKED : 0) | (rsvMask & 0x70);
    this.limits = sharedLimits(
      maxPayload,
      options.maxFragments ?? DEFAULT_MAX_FRAGMENTS,
      options.fragmentsCloseCode,
      this.skipUtf8Validation,
      this.deflate !== null,
    );
    // Data frames go straight to the assembler (once dataSink() made it), control frames to this.
    this.reader = new FrameReader(backend, flags, maxPayload, null, this, observer(options.trace, options.onFrameIn), options.maxBufferedChunks ?? 0);
  }

  // ---- input -------------------------------------------------------------

  /** Feeds received bytes. Takes ownership of chunk (payloads are unmasked in place and handed out as views). */
  receive(chunk: Buffer): void {
    try {
      this.reader.push(chunk);
    } catch (error) {
      this.outOfMemory(error);
    }
    this.requestInflate();
  }

  /** Where a transport may read the rest of a large pending frame straight into (FrameReader.directTarget), or null. */
  directTarget(minimum: number): DirectTarget | null {
    return this.reader.directTarget(minimum);
  }

  /** Feeds `length` bytes a transport wrote, unmasked, into the buffer directTarget() handed out. */
  receiveFilled(length: number): void {
    try {
      this.reader.pushFilled(length);
    } catch (error) {
      this.outOfMemory(error);
    }
    this.requestInflate();
  }

  private outOfMemory(error: unknown): void {
    // Memory ran out (a RangeError from a Buffer allocation): fail this connection, not the process.
    if (!(error instanceof RangeError)) throw error;
    this.fail(new WsboltError('WS_ERR_OUT_OF_MEMORY', `cannot buffer the message: ${error.message}`, CloseCode.INTERNAL_ERROR));
  }

  /** True while a received message is being inflated off the main thread: the driver may stop reading meanwhile. */
  get waitingForInflate(): boolean {
    return this.inflating !== null;
  }

  private requestInflate(): void {
    const pending = this.inflating;
    if (pending === null || pending.compressed === null) return;
    const data = pending.compressed;
    pending.compressed = null; // handed over: the driver's job is now in flight
    this.handler.onInflateNeeded!(data, pending.isBinary);
  }

  /**
   * The result of the inflate onInflateNeeded asked for: checks it, delivers
   * the message, then reads what arrived meanwhile. Ignored when the
   * connection stopped reading (failed, closed, EOF) in between.
   */
  resumeInflated(result: InflateResult): void {
    const pending = this.inflating;
    // Only a job the driver was handed (its compressed bytes are no longer pending here).
    if (pending === null || pending.compressed !== null) return;
    this.inflating = null;
    if (this.reader.isStopped) return;
    const data = this.checkInflated(result, pending.isBinary);
    if (data === null) return;
    this.onCompressed?.('in', pending.wire, data.length);
    this.handler.onMessage(data, pending.isBinary);
    if (!this.receiving) return; // the callback may have terminated the connection
    try {
      this.reader.resume();
    } catch (error) {
      this.outOfMemory(error);
    }
    this.requestInflate();
  }

  /** The transport ended (EOF or error). Whatever was not closed cleanly ends as 1006. */
  receiveEof(): void {
    this.reader.stop();
    this.inflating = null;
    this.held?.drop();
    this.afterFragments?.drop();
    if (!this.closeReceived && this.failure === null) {
      this.closeCode = CloseCode.ABNORMAL;
      this.closeReason = '';
    }
    this.bits |= BIT_ENDED;
  }

  /** True while input is still read: until the peer's close frame, a failure or EOF. */
  get receiving(): boolean {
    return !this.reader.isStopped;
  }

  /**
   * The peer began something it has not finished: a frame cut between reads,
   * or a message still missing fragments. The core keeps no clock; the
   * driver times this (messageTimeout).
   */
  get inputPending(): boolean {
    return !this.reader.isStopped && (this.reader.inFrame || this.inMessage);
  }

  /**
   * The driver gives up on the peer's input, for a policy of its own such as
   * a time limit (§7.1.7 lets an endpoint fail the connection): a close frame
   * with code and reason is queued, nothing more is read, and the transport
   * closes once that frame is out. The peer cannot be waited for: its close
   * frame could only come after the frame it has not finished.
   */
  abandonInput(code: number, reason: string): void {
    if (this.state === State.CLOSED || this.state === State.FAILED || this.ended) return;
    this.reader.stop();
    this.assembler?.reset();
    this.inflating = null;
    if (!this.closeSent) {
      this.sendClose(buildClosePayload(code, reason));
      this.closeCode = code;
      this.closeReason = reason;
    }
    // Failed by the driver's policy rather than a protocol error: failure stays null.
    this.state = State.FAILED;
  }

  /** Bytes held for frames and messages that have not fully arrived. */
  get bufferedInput(): number {
    return this.reader.bufferedBytes + (this.assembler?.bufferedBytes ?? 0);
  }

  // ---- output ------------------------------------------------------------

  /** Bytes waiting to be written, in order; the caller writes them (ideally in one write). */
  dataToSend(): Buffer[] {
    const queue = this.queue;
    if (queue === null) return [];
    const promised = queue.pendingBytes;
    const out = queue.take();
    if (byteSize(out) === promised) return out;
    // A payload queued by reference lost its bytes before it was written: the application moved its ArrayBuffer to
    // another thread (postMessage's transfer list) or otherwise detached it. Its header already claims those bytes,
    // so nothing of this batch may leave: the connection fails instead of corrupting the stream.
    this.failDetached();
    return queue.take();
  }

  /** A payload held by reference lost its bytes before it was written (see dataToSend and held-bytes.ts). */
  private failDetached(): void {
    this.fail(
      new WsboltError('ERR_SEND_BUFFER_DETACHED', 'a buffer passed to send() was detached (transferred) before it was written', CloseCode.INTERNAL_ERROR),
    );
  }

  /** Bytes queued to be written, including sends waiting (uncompressed) behind a compression. */
  get pendingOutputBytes(): number {
    return (this.queue?.pendingBytes ?? 0) + (this.held?.bytes ?? 0) + (this.afterFragments?.bytes ?? 0);
  }

  /** Of pendingOutputBytes, the whole messages waiting for our fragmented message's final fragment. */
  get bytesAfterFragments(): number {
    return this.afterFragments?.bytes ?? 0;
  }

  /** True when a close frame was sent and the peer's is awaited: arm the close timer. */
  closeExpected(): boolean {
    return this.state === State.CLOSE_SENT && !this.ended;
  }

  /**
   * True when the driver should end TCP once the output is flushed: the server
   * after the closing handshake (§7.1.1), either role after a failure. A client
   * waits for the server to close (and arms a timer instead).
   */
  shouldCloseTransport(): boolean {
    if (this.state === State.FAILED) return true;
    if (this.waitingForDeflate) return false; // our close frame still waits behind a compression
    return this.state === State.CLOSED && this.role === 'server';
  }

  /**
   * Sends the next part of our own stream: a whole message, or with `fin: false` the first frame of a fragmented one.
   * While a fragmented message is open every send continues it (a continuation frame, whatever isBinary says; the
   * one with fin ends it), as ws's Sender does; whole messages from elsewhere wait meanwhile (sendWholeMessage).
   */
  send(data: Buffer | string, isBinary: boolean, options?: SendOptions): number {
    this.assertCanSend();
    const fin = options?.fin !== false;
    if (fin && this.sendingFragmented) {
      const queued = this.sendOwn(data, isBinary, options, true);
      this.sendWhatWaitedForTheFinalFragment();
      return queued;
    }
    return this.sendOwn(data, isBinary, options, fin);
  }

  private sendOwn(data: Buffer | string, isBinary: boolean, options: SendOptions | undefined, fin: boolean): number {
    const opcode = this.sendingFragmented ? OPCODE_CONTINUATION : isBinary ? OPCODE_BINARY : OPCODE_TEXT;
    this.bits = fin ? this.bits & ~BIT_SENDING_FRAGMENTED : this.bits | BIT_SENDING_FRAGMENTED;
    const deflate = this.deflate;
    const waiting = this.waitingForDeflate;
    if (deflate && fin && opcode !== OPCODE_CONTINUATION && options?.compress !== false) {
      const size = typeof data !== 'string' ? data.length : data.length >= deflate.threshold ? data.length : Buffer.byteLength(data);
      if (options?.compress === true || size >= deflate.threshold) {
        if (!waiting && (!this.offload || compressesInline(deflate, size)))
          return this.pushCompressed(opcode, deflate.compress(data), typeof data === 'string' ? Buffer.byteLength(data) : size);
        return this.heldSends().hold(opcode, data, true, true, typeof data === 'string' ? Buffer.byteLength(data) : size);
      }
    }
    if (waiting) return this.held!.hold(opcode, data, fin, false, typeof data === 'string' ? Buffer.byteLength(data) : data.length);
    return this.push(opcode, data, fin, false);
  }

  /**
   * Queues a whole message already framed (for example one frame shared by every subscriber of a topic). It is not
   * part of our own stream: while our fragmented message is open it waits for the final fragment (§5.4).
   */
  sendRaw(frames: readonly Buffer[]): void {
    this.assertCanSend();
    if (this.sendingFragmented) return (this.afterFragments ??= new AfterFragments()).holdFrames(frames, byteSize(frames));
    this.queueRaw(frames);
  }

  /**
   * Sends a whole message that is not part of our own stream (a publish for a compressor of its own): never a
   * fragment of the message we may have open; it waits for that message's final fragment (§5.4).
   */
  sendWholeMessage(data: Buffer | string, isBinary: boolean, compress?: boolean): void {
    this.assertCanSend();
    if (this.sendingFragmented) {
      const size = typeof data === 'string' ? Buffer.byteLength(data) : data.length;
      return (this.afterFragments ??= new AfterFragments()).holdMessage(data, isBinary, compress, size);
    }
    this.sendOwn(data, isBinary, compress === undefined ? undefined : { compress }, true);
  }

  /**
   * True while a whole message queued now could not go straight after what is already queued: a compression runs
   * off the main thread (sends wait behind it), or our fragmented message is open (whole messages wait for its end).
   */
  get wholeMessagesWait(): boolean {
    return this.sendingFragmented || this.waitingForDeflate;
  }

  private queueRaw(frames: readonly Buffer[]): void {
    if (!this.waitingForDeflate) return this.output.raw(frames);
    this.held!.holdRaw(frames, byteSize(frames));
  }

  private sendWhatWaitedForTheFinalFragment(): void {
    const waiting = this.afterFragments;
    if (waiting === null || !waiting.any) return;
    for (const message of waiting.take()) {
      if (message.frames !== null) this.queueRaw(message.frames);
      else this.sendOwn(message.data, message.isBinary, message.compress === undefined ? undefined : { compress: message.compress }, true);
    }
  }

  /** True while sends wait behind a compression off the main thread. */
  get waitingForDeflate(): boolean {
    return this.held !== null && this.held.waiting;
  }

  /** The compressed payload onDeflateNeeded asked for: it is framed, then what waited behind it. Ignored after a failure or EOF. */
  resumeCompressed(compressed: Buffer): void {
    this.held?.resume(compressed);
  }

  /** Offloaded compression failed (zlib error): fail the connection with 1011. */
  failCompression(message: string): void {
    this.fail(new WsboltError('WS_ERR_COMPRESSION_FAILED', `cannot compress a message: ${message}`, CloseCode.INTERNAL_ERROR));
  }

  private heldSends(): HeldSends {
    if (this.held !== null) return this.held;
    const output: HeldSendOutput = {
      frame: (opcode, payload, fin) => this.push(opcode, payload, fin, false),
      compressed: (opcode, payload, length) => this.pushCompressed(opcode, payload, length),
      raw: (frames) => this.output.raw(frames),
      compressElsewhere: (data) => this.handler.onDeflateNeeded!(data),
      detached: () => this.failDetached(),
    };
    return (this.held = new HeldSends(this.deflate!, output));
  }

  ping(data: Buffer | string = EMPTY): number {
    this.assertCanSend();
    return this.push(OPCODE_PING, checkControl(data), true, false);
  }

  pong(data: Buffer | string = EMPTY): number {
    this.assertCanSend();
    return this.push(OPCODE_PONG, checkControl(data), true, false);
  }

  /**
   * Starts (or answers) the closing handshake. Idempotent: a second call does
   * nothing. Throws on a code that may not be sent or a reason over 123 bytes.
   */
  close(code?: number, reason?: string | Buffer): void {
    const payload = buildClosePayload(code, reason);
    if (this.closeSent || this.ended) return;
    this.sendClose(payload);
    if (!this.closeReceived) {
      this.closeCode = code ?? CloseCode.NO_STATUS;
      this.closeReason = reason === undefined ? '' : reason.toString();
    }
  }

  /** Queues our close frame; the state moves on from OPEN or CLOSE_RECEIVED (fail() sets FAILED itself). */
  private sendClose(payload: Buffer): void {
    // No data frame may follow our close frame (§5.5.1): whatever waited for a final fragment will never be sent.
    this.afterFragments?.drop();
    if (this.waitingForDeflate) this.held!.hold(OPCODE_CLOSE, payload, true, false, payload.length);
    else this.push(OPCODE_CLOSE, payload, true, false);
    this.state = this.state === State.CLOSE_RECEIVED ? State.CLOSED : State.CLOSE_SENT;
  }

  private assertCanSend(): void {
    if (this.closeSent || this.ended) {
      throw new WsboltError('ERR_NOT_OPEN', 'the connection is closing or closed');
    }
  }

  /** Queues a whole compressed message (RSV1); length: its bytes uncompressed. */
  private pushCompressed(opcode: number, compressed: Buffer, length: number): number {
    this.onCompressed?.('out', compressed.length, length);
    return this.push(opcode, compressed, true, true);
  }

  private push(opcode: number, payload: Buffer | string, fin: boolean, rsv1: boolean): number {
    if (this.trace) this.trace('out', (fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | opcode, typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length);
    return this.output.frame(this.backend, opcode, payload, { fin, rsv1, mask: this.masking, maskKey: this.maskKey });
  }

  /** Fails the connection (§7.1.7): queue a close with the error's code and stop reading. */
  private fail(error: WsboltError): void {
    if (this.state === State.FAILED || this.state === State.CLOSED || this.ended) return;
    this.failure = error;
    this.reader.stop();
    this.assembler?.reset();
    this.inflating = null;
    // Failing means closing now (§7.1.7): the close frame does not wait for messages still being compressed.
    this.held?.drop();
    this.closeCode = error.closeCode ?? CloseCode.PROTOCOL_ERROR;
    this.closeReason = error.message;
    if (!this.closeSent) this.sendClose(buildClosePayload(this.closeCode));
    this.state = State.FAILED;
    this.handler.onProtocolError(error);
  }

  // ---- MessageSink: data frames arrive through the assembler -----------------

  onMessageAssembled(data: Buffer, isBinary: boolean, compressed: boolean): boolean {
    this.messagesReceived++;
    if (compressed) {
      const wire = data.length;
      const result = this.deflate
        ? inflateInline(this.deflate, data, this.maxPayload, this.offload)
        : { zlibError: new Error('RSV1 without permessage-deflate') };
      if (result === DEFER) {
        // Nothing after this message is read until the driver hands back its inflated bytes.
        this.inflating = { isBinary, wire: data.length, compressed: data };
        this.reader.pause();
        return false;
      }
      const inflated = this.checkInflated(result, isBinary);
      if (inflated === null) return false;
      this.onCompressed?.('in', wire, inflated.length);
      data = inflated;
    }
    this.handler.onMessage(data, isBinary);
    return this.receiving; // the callback may have terminated the connection
  }

  onAssemblyError(error: WsboltError): void {
    this.fail(error);
  }

  /** Checks an inflated message (bounded by maxPayload) and its text; null when the connection failed. */
  private checkInflated(out: InflateResult, isBinary: boolean): Buffer | null {
    if (out === 'too-big') {
      this.fail(
        protocolError('WS_ERR_UNSUPPORTED_MESSAGE_LENGTH', `the inflated message exceeds maxPayload (${this.maxPayload} bytes)`, CloseCode.MESSAGE_TOO_BIG),
      );
      return null;
    }
    if (!Buffer.isBuffer(out)) {
      // zlib's error (message, code, errno) stays reachable as the cause.
      this.fail(
        new WsboltError('WS_ERR_INVALID_COMPRESSED_DATA', 'the compressed message is not valid DEFLATE data', CloseCode.INVALID_PAYLOAD, {
          cause: out.zlibError,
        }),
      );
      return null;
    }
    if (!isBinary && !this.skipUtf8Validation && !isValidUtf8(out)) {
      this.fail(protocolError('WS_ERR_INVALID_UTF8', 'a text message is not valid UTF-8', CloseCode.INVALID_PAYLOAD));
      return null;
    }
    return out;
  }

  // ---- ControlFrameSink ----------------------------------------------------

  /** The reader's data frames go to the assembler, made with the first of them. */
  dataSink(): MessageAssembler {
    return (this.assembler ??= new MessageAssembler(this.backend, this.limits, this));
  }

  /** A fragmented message is open (some of its frames arrived). */
  private get inMessage(): boolean {
    return this.assembler !== null && this.assembler.inMessage;
  }

  onFrameError(fault: number, bits: number, lengthByte?: number): void {
    this.fail(headerError(fault, { bits, lengthByte, maxPayload: this.reader.maxPayload }));
  }

  onChunkLimit(maxChunks: number): void {
    this.fail(protocolError('WS_ERR_TOO_MANY_BUFFERED_PARTS', `a frame arrived in more than ${maxChunks} chunks`, CloseCode.POLICY_VIOLATION));
  }

  onControlFrame(bits: number, payload: Buffer): boolean {
    const opcode = bits & 0x0f;
    if (!this.inMessage) this.messagesReceived++;
    if (opcode === OPCODE_PING) {
      if (this.autoPong && !this.closeSent) this.push(OPCODE_PONG, payload, true, false);
      this.handler.onPing(payload);
      return this.receiving;
    }
    if (opcode === OPCODE_PONG) {
      this.handler.onPong(payload);
      return this.receiving;
    }
    const parsed = parseClosePayload(payload, isValidUtf8);
    if (parsed instanceof WsboltError) {
      this.fail(parsed);
      return false;
    }
    this.reader.stop(); // nothing may follow a close frame (§5.5.1)
    this.closeCode = parsed.code;
    this.closeReason = parsed.reason;
    if (this.state === State.CLOSE_SENT) {
      this.state = State.CLOSED;
    } else {
      // Echo the peer's close (§5.5.1): its code and reason (as ws does), or nothing if it had no code.
      this.state = State.CLOSE_RECEIVED;
      this.bits |= BIT_PEER_STARTED_CLOSING;
      this.sendClose(payload);
    }
    this.handler.onCloseFrame(parsed.code, parsed.reason);
    return false;
  }
}

/** The previous connection's assembler limits: the connections of one server have the same, and share the object (it is never written). */
let lastLimits: AssemblerLimits | null = null;

function sharedLimits(
  maxPayload: number,
  maxFragments: number,
  fragmentsCloseCode: number | undefined,
  skipUtf8Validation: boolean,
  compression: boolean,
): AssemblerLimits {
  const last = lastLimits;
  if (
    last !== null &&
    last.maxPayload === maxPayload &&
    last.maxFragments === maxFragments &&
    last.fragmentsCloseCode === fragmentsCloseCode &&
    last.skipUtf8Validation === skipUtf8Validation &&
    last.compression === compression
  ) {
    return last;
  }
  const limits: AssemblerLimits = { maxPayload, maxFragments, skipUtf8Validation, compression };
  if (fragmentsCloseCode !== undefined) limits.fragmentsCloseCode = fragmentsCloseCode;
  return (lastLimits = limits);
}

/** Bits of Protocol.bits. */
const BIT_ENDED = 1;
const BIT_AUTO_PONG = 2;
const BIT_PEER_STARTED_CLOSING = 4;
const BIT_SKIP_UTF8 = 8;
const BIT_SENDING_FRAGMENTED = 16;
const BIT_OFFLOAD = 32;
const BIT_CLIENT = 64;

/** Protocol's optional hooks, from ProtocolOptions. */
interface Hooks {
  maskKey: ((target: Uint8Array, offset: number) => void) | undefined;
  trace: FrameTrace | undefined;
  onCompressed: CompressedTrace | undefined;
}

const EMPTY = Buffer.alloc(0);

function checkControl(data: Buffer | string): Buffer | string {
  const length = typeof data === 'string' ? Buffer.byteLength(data) : data.length;
  if (length > MAX_CONTROL_PAYLOAD) {
    throw new WsboltError('ERR_CONTROL_PAYLOAD_TOO_LONG', `a control frame payload is ${length} bytes; at most ${MAX_CONTROL_PAYLOAD} fit`);
  }
  return data;
}

/** One observer for the reader out of the frame hooks, or none (the reader then checks one field per frame). */
function observer(trace: FrameTrace | undefined, onFrameIn: (() => void) | undefined): FrameObserver | null {
  if (trace === undefined && onFrameIn === undefined) return null;
  return (bits, length) => {
    if (trace) trace('in', bits, length);
    if (onFrameIn) onFrameIn();
  };
}
