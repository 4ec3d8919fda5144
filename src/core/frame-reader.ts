/**
 * Turns received chunks into frames. One scanFrames call walks every complete
 * frame of a chunk; such a frame is handed on as a view of the chunk (no
 * copy). A frame that straddles chunks is copied exactly once, into a buffer
 * of its declared size (allocated only after the limits accepted that size),
 * unmasking as the bytes are copied; its parts are reported as they arrive so
 * that text can be validated before the frame is complete (fail fast).
 * Data frames go straight to the message assembler and control frames to the
 * protocol, so that neither pays a pass-through call for the other's frames.
 */
import { Buffer } from 'node:buffer';
import {
  type Backend,
  OUT_BITS,
  OUT_FAULT,
  OUT_HEADER_LENGTH,
  OUT_MASK_KEY,
  OUT_PAYLOAD_LENGTH,
  OUT_RECORDS,
  OUT_STATUS,
  OUT_STOP,
  RECORD_SIZE,
  SCAN_DONE,
  SCAN_ERROR,
  SCAN_EXPECT_MASKED,
  SCAN_FULL,
} from '../native/types.js';

/** The longest possible header: 2 + 8 (64-bit length) + 4 (mask key). */
const MAX_HEADER = 14;
/** Frame records per scanFrames call; more frames in a chunk take more calls. */
const RECORDS_PER_SCAN = 512;
/** A straddling frame up to this size gets its whole buffer at once; larger ones once COMMIT_FRACTION of it arrived. */
const PREALLOCATE_MAX = 64 * 1024;
/** How much of a large frame must have arrived before its whole buffer is allocated (1/8). */
const COMMIT_SHIFT = 3;

/** The free end of a pending frame's buffer, for a transport that reads into it (see FrameReader.directTarget). */
export interface DirectTarget {
  buffer: Buffer;
  masked: boolean;
  /** The masking key, big-endian (0 when not masked). */
  key: number;
  /** How many bytes into the key the buffer's first byte is (0-3). */
  phase: number;
}

/** Where data frames go (the MessageAssembler): the fragments of messages (§5.4). */
export interface DataFrameSink {
  /** A frame whose payload will arrive over several reads: accept its header before its buffer is allocated. */
  onFrameStart(bits: number, length: number): boolean;
  /** Newly arrived, already unmasked bytes of the frame announced by onFrameStart. */
  onFramePart(bits: number, part: Buffer): boolean;
  /** A complete frame, unmasked. `streamed` is true when its bytes went through onFramePart first. */
  onFrame(bits: number, payload: Buffer, streamed: boolean): boolean;
}

/** Where control frames and broken headers go (the Protocol). Control frames arrive whole: they are never announced. */
export interface ControlFrameSink {
  /** A complete control frame (close, ping, pong), unmasked. */
  onControlFrame(bits: number, payload: Buffer): boolean;
  /** The scanner rejected a header: which rule it broke (FAULT_*), and the frame's first header byte. */
  onFrameError(fault: number, bits: number, lengthByte?: number): void;
  /** More than maxChunks chunks brought bytes of one unfinished header or payload. */
  onChunkLimit?(maxChunks: number): void;
  /** The data frames' sink, when the reader was made without one: asked once, at the first data frame. */
  dataSink?(): DataFrameSink;
}

/** Sees every complete frame before its sink does (tracing, rate limits); bits is the first header byte. */
export type FrameObserver = (bits: number, length: number) => void;

/*
 * Each sink returns false to stop reading (the connection failed or closed),
 * or to pause it after calling pause(). A control frame's opcode has bit 0x08.
 */
const CONTROL = 0x08;

/** A frame whose payload arrives over several reads (its length, buffer and header bytes stay in FrameReader). */
interface Straddling {
  /** Its first header byte. */
  bits: number;
  /** Payload bytes copied so far. */
  filled: number;
  /** Where in the masking key the next byte falls (0-3). */
  phase: number;
  key: Buffer;
  /** The key rotated to phase, for the next copy. */
  phasedKey: Buffer;
  /** A large frame's first bytes, before it is committed (grows by doubling, one buffer however the bytes arrive). */
  staging: Buffer | null;
}

/** Bits of FrameReader.state. */
const STOPPED = 1;
const PAUSED = 2;

/*
 * Record arrays are shared by every reader (12 KiB each would dominate an idle
 * connection's memory). Scanning is synchronous, but a user callback may feed
 * another reader before the records of this scan are consumed, so nested
 * scans take the next array of the stack.
 */
const recordStack: Float64Array[] = [];
let scanDepth = 0;

function takeRecords(): Float64Array {
  return (recordStack[scanDepth++] ??= new Float64Array(OUT_RECORDS + RECORD_SIZE * RECORDS_PER_SCAN));
}

/** A FrameReader's settings; never written once made (a change makes another). */
interface ReaderConfig {
  readonly backend: Backend;
  readonly flags: number;
  readonly maxPayload: number;
  readonly maxChunks: number;
  readonly observer: FrameObserver | null;
}

/**
 * The previous reader's settings: readers made one after another for one server have the same, and share the object.
 * Settings with an observer are not kept: it is a connection's own closure, which would outlive the connection here.
 */
let lastConfig: ReaderConfig | null = null;

function sharedConfig(wanted: ReaderConfig): ReaderConfig {
  if (wanted.observer !== null) return wanted; // so lastConfig never has one either
  const last = lastConfig;
  if (
    last !== null &&
    last.backend === wanted.backend &&
    last.flags === wanted.flags &&
    last.maxPayload === wanted.maxPayload &&
    last.maxChunks === wanted.maxChunks
  ) {
    return last;
  }
  return (lastConfig = wanted);
}

export class FrameReader {
  /** Bytes of a header that has not fully arrived. */
  private head: Buffer | null = null;
  /** Declared payload length of a frame whose header arrived but whose payload has not; -1 when none. */
  private frameLength = -1;
  /** Its whole buffer (small frames), or null until a large frame is committed. */
  private frame: Buffer | null = null;
  /** The rest of that frame's state: made with the first frame that straddles reads, then reused (an idle connection has none). */
  private straddling: Straddling | null = null;
  /** The frame's payload is masked: the peer is a client (the flags' mask rule, the same for every frame of a reader). */
  private get frameMasked(): boolean {
    return (this.flags & SCAN_EXPECT_MASKED) !== 0;
  }
  /** STOPPED and PAUSED bits: two booleans in one field. */
  private state = 0;
  private get stopped(): boolean {
    return (this.state & STOPPED) !== 0;
  }
  /**
   * Paused by the sink (a message is being inflated off the main thread):
   * what was not processed waits here, in order, until resume(). A scan cut
   * short keeps its records: those frames are already unmasked in place and
   * must not be scanned (unmasked) again.
   */
  private get paused(): boolean {
    return (this.state & PAUSED) !== 0;
  }
  private set paused(on: boolean) {
    this.state = on ? this.state | PAUSED : this.state & ~PAUSED;
  }
  private savedScan: { out: Float64Array; chunk: Buffer; count: number; from: number } | null = null;
  /** Chunks waiting while paused, in order; null (no array on every connection) while nothing waits. */
  private backlog: Buffer[] | null = null;
  /**
   * Most chunks that may bring bytes of one unfinished header or payload (0:
   * no limit). The reader holds no chunks (a straddling frame is copied into
   * one buffer), so this only mirrors ws's maxBufferedChunks for wsbolt/ws.
   */
  get maxChunks(): number {
    return this.config.maxChunks;
  }
  set maxChunks(limit: number) {
    if (limit !== this.config.maxChunks) this.config = sharedConfig({ ...this.config, maxChunks: limit });
  }
  /** What the reader is set to (kernels, scan flags, limits, observer): the same for every connection of a server, so one object they share. */
  private config: ReaderConfig;
  /** The kernels. */
  get backend(): Backend {
    return this.config.backend;
  }
  /** scanFrames flags: the role's mask rule and the RSV bits extensions claimed. */
  get flags(): number {
    return this.config.flags;
  }
  get maxPayload(): number {
    return this.config.maxPayload;
  }
  private get observer(): FrameObserver | null {
    return this.config.observer;
  }
  /** Chunks that brought bytes of the unfinished header or payload so far. */
  private partChunks = 0;
  /** Counts unfinished headers and payloads begun, to tell a new one from the same one continued. */
  private partSeq = 0;

  constructor(
    backend: Backend,
    /** scanFrames flags: the role's mask rule and the RSV bits extensions claimed. */
    flags: number,
    maxPayload: number,
    /** null: asked of control.dataSink() at the first data frame (a connection that never gets one never makes it). */
    private data: DataFrameSink | null,
    private readonly control: ControlFrameSink,
    observer: FrameObserver | null = null,
    maxChunks = 0,
  ) {
    this.config = sharedConfig({ backend, flags, maxPayload, maxChunks, observer });
  }

  /** Stops reading for good: later chunks are ignored. */
  stop(): void {
    this.state |= STOPPED;
    this.head = null;
    this.frame = null;
    if (this.straddling !== null) this.straddling.staging = null;
    this.frameLength = -1;
    this.paused = false;
    this.savedScan = null;
    this.backlog = null;
  }

  get isStopped(): boolean {
    return this.stopped;
  }

  /** A frame has begun (some of its header or payload arrived) and not ended. */
  get inFrame(): boolean {
    return this.head !== null || this.frameLength >= 0;
  }

  /**
   * Called by a sink from inside onFrame (which then returns false): no
   * frame after the current one is delivered until resume(); later chunks
   * are kept, not read.
   */
  pause(): void {
    if (!this.stopped) this.paused = true;
  }

  get isPaused(): boolean {
    return this.paused;
  }

  /** Delivers what waited since pause(), in order, then reads normally (unless paused again). */
  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    while (!this.paused && !this.stopped) {
      const saved = this.savedScan;
      if (saved !== null) {
        this.savedScan = null;
        const next = this.deliver(saved.out, saved.chunk, saved.count, saved.from);
        if (next >= 0 && !this.paused && !this.stopped) this.scan(saved.chunk, next);
        continue;
      }
      const backlog = this.backlog;
      const chunk = backlog?.shift();
      if (chunk === undefined) return;
      if (backlog!.length === 0) this.backlog = null;
      this.read(chunk);
    }
  }

  /** Bytes buffered for frames that have not fully arrived, or waiting while paused (for memory accounting). */
  get bufferedBytes(): number {
    let bytes = (this.head?.length ?? 0) + (this.frame?.length ?? this.straddling?.staging?.length ?? 0);
    if (this.savedScan !== null) bytes += this.savedScan.chunk.length;
    const backlog = this.backlog;
    if (backlog !== null) for (let i = 0; i < backlog.length; i++) bytes += backlog[i]!.length;
    return bytes;
  }

  /**
   * Where the rest of the pending frame's payload may be read straight into
   * (a transport that can read into memory of its choice): the free end of
   * the frame's own buffer, or null when no such buffer exists yet (none
   * before the limits accepted the frame and enough of it arrived, see
   * stage()), fewer than `minimum` bytes remain, or reading is held. The
   * bytes written there must be unmasked with `key` (big-endian, as the
   * header carries it) starting `phase` bytes into it, then reported with
   * pushFilled().
   */
  directTarget(minimum: number): DirectTarget | null {
    const frame = this.frame;
    if (frame === null || this.stopped || this.paused || this.savedScan !== null || this.backlog !== null) return null;
    const f = this.straddling!; // a pending frame has its state there
    const remaining = this.frameLength - f.filled;
    if (remaining < minimum) return null;
    const key = this.frameMasked ? f.key.readUInt32BE(0) : 0;
    return { buffer: frame.subarray(f.filled), masked: this.frameMasked, key, phase: f.phase };
  }

  /**
   * The next `length` bytes of the pending frame are already in the buffer
   * directTarget() handed out, unmasked: they go on exactly as copied bytes
   * would (parts for fail-fast UTF-8, the whole frame to its sink).
   */
  pushFilled(length: number): void {
    if (this.stopped || length <= 0) return;
    const f = this.straddling;
    if (this.frame === null || f === null || length > this.frameLength - f.filled)
      throw new Error('FrameReader.pushFilled(): more bytes than the pending frame has room for');
    if (this.maxChunks > 0 && this.partChunks >= this.maxChunks) {
      this.stop();
      this.control.onChunkLimit?.(this.maxChunks);
      return;
    }
    const seq = this.partSeq;
    const at = f.filled;
    f.phase = (f.phase + length) & 3;
    this.advance(this.frame, at, length);
    if (this.maxChunks > 0) this.countAfter(seq);
  }

  /** Takes ownership of chunk: complete frames are unmasked in place. */
  push(chunk: Buffer): void {
    if (this.stopped || chunk.length === 0) return;
    if (this.paused || this.savedScan !== null || this.backlog !== null) {
      (this.backlog ??= []).push(chunk);
      return;
    }
    if (this.maxChunks > 0) this.readCounted(chunk);
    else this.read(chunk);
  }

  private readCounted(chunk: Buffer): void {
    if (this.partChunks >= this.maxChunks) {
      this.stop();
      this.control.onChunkLimit?.(this.maxChunks);
      return;
    }
    const seq = this.partSeq;
    this.read(chunk);
    this.countAfter(seq);
  }

  private countAfter(seq: number): void {
    if (this.frameLength < 0 && this.head === null) this.partChunks = 0;
    else this.partChunks = this.partSeq === seq ? this.partChunks + 1 : 1;
  }

  private read(chunk: Buffer): void {
    let pos = 0;
    if (this.frameLength >= 0) pos = this.fill(chunk, 0);
    else if (this.head !== null) pos = this.completeHead(chunk);
    if (pos < 0 || pos >= chunk.length || this.stopped) return;
    // Paused by a frame that straddled into this chunk: the rest is not scanned yet, so it can simply wait.
    if (this.paused) (this.backlog ??= []).unshift(chunk.subarray(pos));
    else this.scan(chunk, pos);
  }

  private scan(chunk: Buffer, pos: number): void {
    const out = takeRecords();
    try {
      this.scanWith(out, chunk, pos);
    } finally {
      scanDepth--;
    }
  }

  private scanWith(out: Float64Array, chunk: Buffer, pos: number): void {
    while (pos >= 0) {
      const count = this.backend.scanFrames(chunk, pos, out, this.flags, this.maxPayload);
      pos = this.deliver(out, chunk, count, 0);
    }
  }

  /**
   * Hands on the scanned frames from record `from`, then acts on the scan's
   * status. Returns where to scan next (the record array was full), or -1.
   */
  private deliver(out: Float64Array, chunk: Buffer, count: number, from: number): number {
    // Buffer.from(arrayBuffer, offset, length) makes the same view as subarray() a third faster (no species lookup): one per frame.
    const memory = chunk.buffer;
    const base = chunk.byteOffset;
    for (let i = from, r = OUT_RECORDS + from * RECORD_SIZE; i < count; i++, r += RECORD_SIZE) {
      if (!this.complete(out[r]!, Buffer.from(memory, base + out[r + 1]!, out[r + 2]!), false)) {
        if (this.paused) {
          // The records array is shared (see takeRecords): keep a copy of the rest of this scan.
          this.savedScan = { out: out.slice(0, OUT_RECORDS + count * RECORD_SIZE), chunk, count, from: i + 1 };
        } else {
          this.stop();
        }
        return -1;
      }
    }
    const status = out[OUT_STATUS]!;
    const stop = out[OUT_STOP]!;
    if (status === SCAN_DONE) return -1;
    if (status === SCAN_FULL) return stop;
    if (status === SCAN_ERROR) {
      this.stop();
      this.control.onFrameError(out[OUT_FAULT]!, chunk[stop]!, chunk[stop + 1]);
      return -1;
    }
    const headerLength = out[OUT_HEADER_LENGTH]!;
    if (headerLength === 0) {
      // A header cut short: keep its few bytes (a copy, so the chunk can go).
      this.head = Buffer.from(chunk.subarray(stop));
      this.partSeq++;
      return -1;
    }
    if (!this.begin(out[OUT_BITS]!, out[OUT_PAYLOAD_LENGTH]!, out[OUT_MASK_KEY]!)) return -1;
    // The frame does not end in this chunk, so fill() cannot pause here.
    this.fill(chunk, stop + headerLength);
    return -1;
  }

  private dataSink(): DataFrameSink {
    return (this.data ??= this.control.dataSink!());
  }

  /** Hands a complete frame to its sink (after the observer); false: stop or pause, as the sink said. */
  private complete(bits: number, payload: Buffer, streamed: boolean): boolean {
    if (this.observer !== null) this.observer(bits, payload.length);
    return (bits & CONTROL) !== 0 ? this.control.onControlFrame(bits, payload) : this.dataSink().onFrame(bits, payload, streamed);
  }

  /** Joins the saved header bytes with the start of chunk; returns how much of chunk was used, or -1. */
  private completeHead(chunk: Buffer): number {
    const head = this.head!;
    const take = Math.min(MAX_HEADER - head.length, chunk.length);
    const joined = Buffer.allocUnsafe(head.length + take);
    joined.set(head, 0);
    joined.set(chunk.subarray(0, take), head.length);
    const out = takeRecords();
    try {
      return this.completeHeadWith(out, head, joined, chunk);
    } finally {
      scanDepth--;
    }
  }

  private completeHeadWith(out: Float64Array, head: Buffer, joined: Buffer, chunk: Buffer): number {
    const count = this.backend.scanFrames(joined, 0, out, this.flags, this.maxPayload);
    if (count > 0) {
      // A whole (tiny) frame fit in the joined bytes; later frames are rescanned from chunk.
      this.head = null;
      const start = out[OUT_RECORDS + 1]!;
      const end = start + out[OUT_RECORDS + 2]!;
      if (!this.complete(out[OUT_RECORDS]!, joined.subarray(start, end), false) && !this.paused) {
        this.stop();
        return -1;
      }
      return end - head.length; // when paused, the caller keeps the rest of chunk
    }
    if (out[OUT_STATUS] === SCAN_ERROR) {
      this.stop();
      this.control.onFrameError(out[OUT_FAULT]!, joined[out[OUT_STOP]!]!, joined[out[OUT_STOP]! + 1]);
      return -1;
    }
    const headerLength = out[OUT_HEADER_LENGTH]!;
    if (headerLength === 0) {
      this.head = joined; // still short: chunk was tiny
      return chunk.length;
    }
    this.head = null;
    if (!this.begin(out[OUT_BITS]!, out[OUT_PAYLOAD_LENGTH]!, out[OUT_MASK_KEY]!)) return -1;
    return this.fill(chunk, headerLength - head.length);
  }

  private begin(bits: number, length: number, key: number): boolean {
    if ((bits & CONTROL) === 0 && !this.dataSink().onFrameStart(bits, length)) {
      this.stop();
      return false;
    }
    this.frameLength = length;
    this.partSeq++;
    this.frame = length <= PREALLOCATE_MAX ? Buffer.allocUnsafe(length) : null;
    const f = (this.straddling ??= { bits: 0, filled: 0, phase: 0, key: Buffer.alloc(4), phasedKey: Buffer.alloc(4), staging: null });
    f.staging = null;
    f.bits = bits;
    f.filled = 0;
    f.phase = 0;
    f.key.writeUInt32BE(key, 0);
    return true;
  }

  /** Copies (and unmasks) the next bytes of the pending frame from chunk[pos...]; returns the new position or -1. */
  private fill(chunk: Buffer, pos: number): number {
    const length = this.frameLength;
    const f = this.straddling!;
    const take = Math.min(length - f.filled, chunk.length - pos);
    let target: Buffer | null = null;
    if (take > 0) {
      const source = chunk.subarray(pos, pos + take);
      const at = f.filled;
      target = this.frame ?? this.stage(at + take);
      if (this.frameMasked) {
        // Copy and unmask in one pass: mask() with the key rotated to the current phase.
        const k = f.key;
        const p = f.phase;
        const pk = f.phasedKey;
        pk[0] = k[p]!;
        pk[1] = k[(p + 1) & 3]!;
        pk[2] = k[(p + 2) & 3]!;
        pk[3] = k[(p + 3) & 3]!;
        this.backend.mask(source, pk, target, at, take);
        f.phase = (p + take) & 3;
      } else {
        target.set(source, at);
      }
    }
    if (!this.advance(target, f.filled, take)) return -1;
    return pos + take; // when paused, the caller keeps the rest of chunk
  }

  /**
   * target[at, at + take) now holds the next unmasked bytes of the pending
   * frame: reports them as a part, and hands on the frame once it is whole.
   * False: reading stopped (a pause by the frame's sink returns true: the caller keeps the rest).
   */
  private advance(target: Buffer | null, at: number, take: number): boolean {
    const f = this.straddling!;
    if (take > 0) {
      f.filled += take;
      if ((f.bits & CONTROL) === 0 && !this.dataSink().onFramePart(f.bits, target!.subarray(at, at + take))) {
        this.stop();
        return false;
      }
    }
    if (f.filled === this.frameLength) {
      const payload = this.frame!; // committed at the latest by the bytes that completed it
      this.frame = null;
      this.frameLength = -1;
      if (!this.complete(f.bits, payload, true)) {
        if (!this.paused) this.stop();
        return this.paused;
      }
    }
    return true;
  }

  /**
   * Where the bytes up to `needed` of a large frame go: the whole frame's
   * buffer once an eighth of it has arrived (the staged bytes move into it),
   * before that a staging buffer that doubles as bytes arrive.
   */
  private stage(needed: number): Buffer {
    const f = this.straddling!;
    const staged = f.staging;
    if (needed >= this.frameLength / (1 << COMMIT_SHIFT)) {
      this.frame = Buffer.allocUnsafe(this.frameLength);
      if (staged !== null) this.frame.set(staged.subarray(0, f.filled), 0);
      f.staging = null;
      return this.frame;
    }
    if (staged === null || staged.length < needed) {
      const grown = Buffer.allocUnsafe(Math.max(needed, 2 * (staged?.length ?? 0), 4096));
      if (staged !== null) grown.set(staged.subarray(0, f.filled), 0);
      f.staging = grown;
    }
    return f.staging!;
  }
}
