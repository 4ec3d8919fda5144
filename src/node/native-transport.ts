/**
 * A TCP connection owned by the addon (issue 17): after the handshake the
 * descriptor of Node's socket is duplicated and opened on Node's own libuv
 * loop, Node's socket is released without closing the connection, and bytes
 * flow through native/transport.cc instead of net.Socket's streams.
 */
import { Buffer } from 'node:buffer';
import * as net from 'node:net';
import * as stream from 'node:stream';
import * as tls from 'node:tls';
import {
  EVENT_CLOSE,
  EVENT_DATA,
  EVENT_DRAIN,
  EVENT_END,
  EVENT_ERROR,
  EVENT_FLUSHED,
  ID_SLOTS,
  MAX_BATCH,
  META_PER_READ,
  transportBinding,
  type NativeHandle,
  type TransportBinding,
} from '../native/transport-binding.js';
import { markSharedReadMemory } from './read-memory.js';
import type { DirectReadSource, Transport, TransportListener } from './transport.js';

/** Bytes read into a frame's buffer by readInto(); the dispatcher's own event number, not the addon's. */
const EVENT_FILLED = -1;
/**
 * Below this many owed bytes a frame's rest is left to the slab: a read that
 * small costs about what its copy does, and the slab batches connections.
 */
const DIRECT_READ_MIN = 8 * 1024;
const EMPTY = Buffer.alloc(0);

/** As for a net.Socket (16 KiB on Node 20, 64 KiB from Node 22): the engine's backpressure figures stay what they were. */
const HIGH_WATER_MARK: number =
  typeof (stream as { getDefaultHighWaterMark?: (objectMode: boolean) => number }).getDefaultHighWaterMark === 'function'
    ? (stream as unknown as { getDefaultHighWaterMark: (objectMode: boolean) => number }).getDefaultHighWaterMark(false)
    : 16 * 1024;

/** Every native transport's high-water mark: fanout()'s bound on what a connection may hold with a published frame. */
export const NATIVE_HIGH_WATER_MARK = HIGH_WATER_MARK;

/** The parts of Node's internal TCP handle adoption needs (lib/net.js, src/stream_wrap.cc). */
interface TcpHandle {
  fd?: number;
  reading?: boolean;
  readStop?(): number;
}

/** A NativeTransport is its connection's handle (adopt's owner); a handle adopt() made itself has no one to tell. */
function dispatch(handle: NativeHandle, event: number, arg: unknown): void {
  if (handle instanceof NativeTransport) handle.deliver(event, arg);
}

const batchMeta = new Float64Array(META_PER_READ * MAX_BATCH);
/** Started, not yet closed transports by id slot: reads name their connection by id. */
const reading: (NativeTransport | undefined)[] = [];

/** The started, not yet closed transport an id names, or undefined (closed meanwhile, or its slot reused). */
function readingTransport(id: number): NativeTransport | undefined {
  const transport = reading[id % ID_SLOTS];
  return transport !== undefined && transport.id === id ? transport : undefined;
}

/** Every connection's reads of one loop turn, in one call: their writes leave together on the next tick. */
function dispatchBatch(memory: (ArrayBuffer | undefined)[], count: number): void {
  for (const buffer of memory) if (buffer !== undefined) markSharedReadMemory(buffer);
  for (let i = 0, r = 0; i < count; i++, r += META_PER_READ) {
    const transport = readingTransport(batchMeta[r]!);
    if (transport === undefined) continue;
    const source = batchMeta[r + 1]!;
    if (source < 0) transport.deliver(EVENT_FILLED, batchMeta[r + 3]!);
    // Buffer.from(arrayBuffer, offset, length): the view subarray() makes, without its lookup of .buffer.
    else transport.deliver(EVENT_DATA, Buffer.from(memory[source]!, batchMeta[r + 2]!, batchMeta[r + 3]!));
  }
}

if (transportBinding) transportBinding.init(dispatch, dispatchBatch, batchMeta);

/**
 * Counts flushPublished() and fanout() calls (a fanout() changes counts JS
 * was not given). Between a publish and the flush of its tick
 * no libuv callback runs (the flush is a nextTick), so a count the addon
 * returned in that window is still exact: the publishes after the first of a
 * tick need no call into the addon to read it.
 */
let publishEpoch = 1;

/**
 * The addon's fan-out corked frames since the last flushPublished() on connections it did not name to JS: until
 * that flush, a pendingSeen of 0 proves nothing.
 */
let fannedOut = false;

/** Transports started and not yet closed: where there are none, publish skips its native fast path altogether. */
let liveTransports = 0;

/** How many native transports carry a connection now. */
export function liveNativeTransports(): number {
  return liveTransports;
}

/**
 * One flag per id slot, read by the addon's fanout() (native-fanout.ts): 1 while the engine lets published frames
 * join the connection's output unasked. Allocated on first use (1 MiB, touched only where connections are).
 */
let publishReady: Uint8Array | null = null;

/** The flags fanout() reads. */
export function publishReadyFlags(): Uint8Array {
  return (publishReady ??= new Uint8Array(ID_SLOTS));
}

/** The addon corked frames on connections by id (fanout()): their pending counts are no longer known here. */
export function notePublishedUnseen(): void {
  publishEpoch++;
  fannedOut = true;
}

/** (id, pending) of the connections a flush left with bytes: room for every live one, so none goes unreported. */
let leftovers = new Float64Array(64);

/** Every connection's published frames leave now (native-fanout.ts, once per tick). */
export function flushPublished(): void {
  publishEpoch++;
  fannedOut = false;
  if (leftovers.length < 2 * liveTransports) leftovers = new Float64Array(4 * liveTransports);
  const left = Math.min(transportBinding!.flushPublished(leftovers), leftovers.length >> 1);
  for (let i = 0; i < left; i++) {
    readingTransport(leftovers[2 * i]!)?.tookPublished(leftovers[2 * i + 1]!);
  }
}

/** Bits of NativeTransport.bits. */
const BIT_DRAIN_OWED = 1;
const BIT_SCHEDULED = 2;
const BIT_PAUSED = 4;
const BIT_STARTED = 8;
const BIT_ENDING = 16;
const BIT_DESTROY_CALLED = 32;
const BIT_CLOSED = 64;

/** The previous adopted connection's peer address. */
let lastPeerAddress = '';

function handleOf(socket: net.Socket): TcpHandle | null {
  return ((socket as unknown as { _handle?: TcpHandle | null })._handle ?? null) as TcpHandle | null;
}

/** Why adoption is impossible for this socket, or null when it is possible. */
function unsupported(socket: net.Socket): string | null {
  if (!transportBinding) return 'the addon transport is not loaded';
  if (socket instanceof tls.TLSSocket || (socket as { encrypted?: boolean }).encrypted) return 'TLS socket';
  if (socket.destroyed) return 'socket destroyed';
  if (socket.readableEncoding !== null) return 'the socket decodes its input (setEncoding)';
  const fd = handleOf(socket)?.fd;
  if (!socket.connecting && (typeof fd !== 'number' || fd < 0)) return 'no descriptor (not a TCP socket, or Windows)';
  return null;
}

/** How the socket was set to read before adoption began, to put back if the addon refuses it. */
interface NodeReading {
  flowing: boolean | null;
  listeners: ((...args: unknown[]) => void)[];
}

/** Stops Node reading from the kernel for good; bytes already read stay in the Readable buffer. */
function stopNodeReading(socket: net.Socket): NodeReading {
  // read() emits 'data' too: nobody else may see the bytes taken below.
  const saved = { flowing: socket.readableFlowing, listeners: socket.listeners('data') as NodeReading['listeners'] };
  socket.removeAllListeners('data');
  socket.pause();
  // A read() below the high-water mark calls _read, which restarts the handle; it must not.
  (socket as unknown as { _read: () => void })._read = () => {};
  const handle = handleOf(socket);
  if (handle && typeof handle.readStop === 'function') {
    handle.reading = false;
    handle.readStop();
  }
  return saved;
}

/** Undoes stopNodeReading when the addon refused the socket: Node's bytes go back, Node reads again. */
function restoreNodeReading(socket: net.Socket, saved: NodeReading, taken: Buffer[]): void {
  delete (socket as unknown as { _read?: unknown })._read; // the prototype's _read restarts the handle
  // The no-op _read never pushed, so the Readable still thinks a read is under way and would not call _read again.
  const state = (socket as unknown as { _readableState?: { reading?: boolean } })._readableState;
  if (state) state.reading = false;
  for (let i = taken.length - 1; i >= 0; i--) socket.unshift(taken[i]!);
  for (const listener of saved.listeners) socket.on('data', listener);
  (socket as unknown as { readableFlowing: boolean | null }).readableFlowing = saved.flowing;
  if (saved.flowing) socket.resume();
  else socket.read(0);
}

/** Calls a write callback (user code): a throw surfaces as an uncaught exception, as from a stream's write callback, without cutting short the event being delivered. */
function settle(callback: (error: Error | null) => void, error: Error | null): void {
  try {
    callback(error);
  } catch (thrown) {
    process.nextTick(() => {
      throw thrown;
    });
  }
}

/** Resolves once every byte Node was asked to write has reached the kernel. */
function flushed(socket: net.Socket): Promise<void> {
  return new Promise((resolve, reject) => {
    const gone = () => reject(new Error('NativeTransport.adopt(): the socket closed before its writes were flushed'));
    socket.once('close', gone);
    if (socket.writableCorked) socket.uncork();
    // Writes complete in order, so an empty write's callback follows every earlier one.
    socket.write(EMPTY, (err) => {
      socket.removeListener('close', gone);
      if (err) reject(err);
      else resolve();
    });
  });
}

export class NativeTransport implements Transport {
  // Getters, not fields: nothing per connection that is the same for all.
  get kind(): 'native' {
    return 'native';
  }
  get highWaterMark(): number {
    return HIGH_WATER_MARK;
  }
  /** The addon's functions (a transport exists only when they loaded). */
  private get binding(): TransportBinding {
    return transportBinding!;
  }
  private listener: TransportListener | null = null;
  /** afterWrites() callbacks, each with the running write total it waits for (in order); null (no array per idle connection) until one waits. */
  private flushWaiters: { mark: number; callback: (error: Error | null) => void }[] | null = null;
  /** The yes/no facts below (BIT_* bits) in one number: a field each would cost every connection 8 bytes apiece. */
  private bits = 0;
  /** The engine waits for a drain (a write left more than the high-water mark pending). */
  private get drainOwed(): boolean {
    return (this.bits & BIT_DRAIN_OWED) !== 0;
  }
  private set drainOwed(on: boolean) {
    this.bits = on ? this.bits | BIT_DRAIN_OWED : this.bits & ~BIT_DRAIN_OWED;
  }
  /** Bytes the addon still reads into the buffer given by readInto() (0: reads go to the slab). */
  private directOwed = 0;
  /**
   * The native pending count as last seen. It only grows inside write(),
   * tookPublished() and the addon's fanout(), which names no connection but
   * sets fannedOut until the tick's flush (and that flush reports whom it left
   * with bytes), so while it is 0 outside such a tick it is exact and
   * pendingBytes needs no call into the addon.
   */
  private pendingSeen = 0;
  /** pendingSeen came from publish() or a flush in this publishEpoch, so it is exact without asking the addon. */
  private seenInEpoch = 0;
  /** The handle's id: the hot calls pass it instead of the handle (checked in a few instructions, not two property lookups). */
  /** @internal */ readonly id: number;
  /** Events that came before start() or while paused, and bytes Node read before adoption: delivered first; null while none wait. */
  private backlog: [number, unknown][] | null = null;
  private get scheduled(): boolean {
    return (this.bits & BIT_SCHEDULED) !== 0;
  }
  private set scheduled(on: boolean) {
    this.bits = on ? this.bits | BIT_SCHEDULED : this.bits & ~BIT_SCHEDULED;
  }
  private get paused(): boolean {
    return (this.bits & BIT_PAUSED) !== 0;
  }
  private set paused(on: boolean) {
    this.bits = on ? this.bits | BIT_PAUSED : this.bits & ~BIT_PAUSED;
  }
  private get started(): boolean {
    return (this.bits & BIT_STARTED) !== 0;
  }
  private set started(on: boolean) {
    this.bits = on ? this.bits | BIT_STARTED : this.bits & ~BIT_STARTED;
  }
  private get ending(): boolean {
    return (this.bits & BIT_ENDING) !== 0;
  }
  private set ending(on: boolean) {
    this.bits = on ? this.bits | BIT_ENDING : this.bits & ~BIT_ENDING;
  }
  private get destroyCalled(): boolean {
    return (this.bits & BIT_DESTROY_CALLED) !== 0;
  }
  private set destroyCalled(on: boolean) {
    this.bits = on ? this.bits | BIT_DESTROY_CALLED : this.bits & ~BIT_DESTROY_CALLED;
  }
  private get closed(): boolean {
    return (this.bits & BIT_CLOSED) !== 0;
  }
  private set closed(on: boolean) {
    this.bits = on ? this.bits | BIT_CLOSED : this.bits & ~BIT_CLOSED;
  }

  readonly remoteAddress: string;
  readonly remotePort: number;

  /** Adopts fd with this object as the connection's handle (no second object per connection); throws when the addon refuses it. */
  private constructor(fd: number, socket: net.Socket, early: Buffer[]) {
    const binding = this.binding;
    binding.adopt(fd, this);
    this.id = binding.id(this);
    const [address, port] = binding.peer(this) ?? [socket.remoteAddress ?? '', socket.remotePort ?? 0];
    // Connections arrive in runs from one address (a client, a proxy): they share one string instead of a copy each.
    if (address !== lastPeerAddress) lastPeerAddress = address;
    this.remoteAddress = lastPeerAddress;
    this.remotePort = port;
    for (const chunk of early) {
      if (chunk.length === 0) continue;
      markSharedReadMemory(chunk.buffer);
      (this.backlog ??= []).push([EVENT_DATA, chunk]);
    }
  }

  /**
   * Takes over a connected plain TCP socket. `head` (bytes the caller already
   * took from the socket, as an 'upgrade' event hands them) comes first, then
   * what Node had read and not delivered. Node's pending writes (a 101
   * response) are flushed to the kernel first, which makes the result a
   * Promise; a socket with nothing pending is adopted at once. null when
   * adoption is impossible (TLS, no descriptor, Windows, no addon): use the
   * stream path. The socket must have no 'close'/'end' listeners that would
   * take its release for the end of the connection.
   */
  static adopt(socket: net.Socket, head?: Buffer): Promise<NativeTransport> | NativeTransport | null {
    if (unsupported(socket) !== null) return null;
    const saved = stopNodeReading(socket);
    if (!socket.connecting && socket.writableLength === 0 && !socket.writableCorked) return NativeTransport.takeOver(socket, saved, head);
    return flushed(socket).then(() => {
      const transport = NativeTransport.takeOver(socket, saved, head);
      if (!transport) throw new Error('NativeTransport.adopt(): the socket cannot be adopted after connecting');
      return transport;
    });
  }

  private static takeOver(socket: net.Socket, saved: NodeReading, head: Buffer | undefined): NativeTransport | null {
    const fd = handleOf(socket)?.fd;
    if (typeof fd !== 'number' || fd < 0 || socket.destroyed) return null;
    const taken: Buffer[] = [];
    for (let chunk: Buffer | null; (chunk = socket.read() as Buffer | null) !== null;) taken.push(chunk);
    let transport: NativeTransport;
    try {
      transport = new NativeTransport(fd, socket, head && head.length > 0 ? [head, ...taken] : taken);
    } catch {
      // e.g. EMFILE on the duplicate: the socket stays Node's, as if never touched (head stays the caller's)
      restoreNodeReading(socket, saved, taken);
      return null;
    }
    // Closes Node's descriptor only: destroy() never calls shutdown(), and the duplicate keeps the connection.
    socket.destroy();
    return transport;
  }

  start(listener: TransportListener): void {
    if (this.started) throw new Error('NativeTransport.start(): already started');
    this.started = true;
    liveTransports++;
    this.listener = listener;
    // Only from here on: a transport never started is not kept from collection (its finalizer closes it).
    reading[this.id % ID_SLOTS] = this;
    this.schedule();
  }

  write(buffers: readonly Buffer[]): void {
    if (!this.writable) return;
    const binding = this.binding;
    // A frame, or a header and its payload, as arguments: no array for the addon to walk.
    const pending =
      buffers.length === 1
        ? binding.writev(this.id, buffers[0]!)
        : buffers.length === 2
          ? binding.writev(this.id, buffers[0]!, buffers[1]!)
          : binding.write(this.id, buffers);
    this.pendingSeen = pending;
    if (pending > this.highWaterMark) this.drainOwed = true;
  }

  /** @internal The addon appended a published frame (native-fanout.ts) or flushed published ones, which left `pending` bytes pending. */
  tookPublished(pending: number): void {
    this.pendingSeen = pending;
    this.seenInEpoch = publishEpoch;
  }

  readInto(source: DirectReadSource): void {
    // Not while earlier bytes wait here (they come first), nor before start() or after the end.
    if (this.directOwed > 0 || this.backlog !== null || !this.started || this.destroyCalled || this.closed) return;
    const target = source.directTarget(DIRECT_READ_MIN);
    if (target === null) return;
    if (this.binding.readInto(this.id, target.buffer, target.masked ? target.key : -1, target.phase)) this.directOwed = target.buffer.length;
  }

  afterWrites(callback: (error: Error | null) => void): void {
    if (this.closed || this.destroyed) {
      process.nextTick(callback, new Error('the connection closed before its writes were flushed'));
      return;
    }
    const mark = this.binding.watchFlush(this.id, -1);
    if (mark < 0) process.nextTick(callback, null);
    else (this.flushWaiters ??= []).push({ mark, callback });
  }

  setPublishReady(ready: boolean): void {
    publishReadyFlags()[this.id % ID_SLOTS] = ready && !this.closed ? 1 : 0;
  }

  get pendingBytes(): number {
    if (this.closed || (this.pendingSeen === 0 && !fannedOut)) return 0;
    if (this.seenInEpoch === publishEpoch) return this.pendingSeen;
    return (this.pendingSeen = this.binding.pending(this.id));
  }

  get needsDrain(): boolean {
    return this.drainOwed;
  }

  get writable(): boolean {
    return !this.ending && !this.destroyCalled && !this.closed;
  }

  get destroyed(): boolean {
    return this.destroyCalled || this.closed;
  }

  pause(): void {
    this.paused = true;
    if (!this.closed) this.binding.readStop(this.id);
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.schedule();
  }

  end(): void {
    if (this.ending || this.destroyCalled || this.closed) return;
    this.ending = true;
    this.seenInEpoch = 0;
    this.binding.end(this.id);
    // end() wrote what fanout() had corked this tick, unseen here: what the kernel left of it is pending.
    if (fannedOut) this.pendingSeen = this.binding.pending(this.id);
  }

  destroy(): void {
    if (this.destroyCalled || this.closed) return;
    this.destroyCalled = true;
    this.seenInEpoch = 0;
    // Unread input goes with the connection; what else is queued (end, close) still comes.
    const kept = this.backlog?.filter(([event]) => event !== EVENT_DATA && event !== EVENT_FILLED);
    this.backlog = kept !== undefined && kept.length > 0 ? kept : null;
    this.binding.destroy(this.id);
    if (fannedOut) this.pendingSeen = this.binding.pending(this.id);
  }

  /** @internal Called by the addon's dispatcher. */
  deliver(event: number, arg: unknown): void {
    const input = event === EVENT_DATA || event === EVENT_FILLED;
    if (input && this.destroyCalled) return;
    // Paused by an earlier connection's listener in the same batch: the bytes wait for resume().
    // Write-side events do not wait behind them: the engine may be waiting for a drain to resume reading.
    const writeSide = event === EVENT_DRAIN || event === EVENT_FLUSHED;
    if (!this.listener || (!writeSide && (this.backlog !== null || (this.paused && input)))) {
      (this.backlog ??= []).push([event, arg]);
      if (this.listener) this.schedule();
      return;
    }
    this.call(event, arg);
  }

  /** Delivers the backlog (on a later tick: never inside the caller's start()/resume()), then reads. */
  private schedule(): void {
    if (this.scheduled || !this.listener) return;
    this.scheduled = true;
    process.nextTick(() => {
      this.scheduled = false;
      let backlog: [number, unknown][] | null;
      while ((backlog = this.backlog) !== null && !(this.paused && (backlog[0]![0] === EVENT_DATA || backlog[0]![0] === EVENT_FILLED))) {
        const [event, arg] = backlog.shift()!;
        if (backlog.length === 0) this.backlog = null;
        this.call(event, arg);
      }
      if (this.backlog === null && !this.paused && !this.closed) this.binding.readStart(this.id);
    });
  }

  private flushedTo(total: number): void {
    const waiters = this.flushWaiters;
    if (waiters === null) return;
    while (waiters.length > 0 && waiters[0]!.mark <= total) settle(waiters.shift()!.callback, null);
    while (waiters.length > 0 && !this.closed) {
      if (this.binding.watchFlush(this.id, waiters[0]!.mark) >= 0) break;
      settle(waiters.shift()!.callback, null);
    }
    if (waiters.length === 0 && this.flushWaiters === waiters) this.flushWaiters = null;
  }

  private call(event: number, arg: unknown): void {
    const listener = this.listener!;
    if (event === EVENT_FLUSHED) return this.flushedTo(arg as number);
    if (event === EVENT_CLOSE) {
      this.closed = true;
      liveTransports--; // delivered once, and only after start() (events before it wait in the backlog)
      if (reading[this.id % ID_SLOTS] === this) {
        reading[this.id % ID_SLOTS] = undefined;
        if (publishReady !== null) publishReady[this.id % ID_SLOTS] = 0;
      }
      this.drainOwed = false;
      const waiters = this.flushWaiters;
      this.flushWaiters = null;
      // Emptied, not only dropped: a flushedTo() loop further up the stack stops on it.
      if (waiters !== null) for (const { callback } of waiters.splice(0)) settle(callback, new Error('the connection closed before its writes were flushed'));
    }
    if (event === EVENT_DRAIN) {
      // The native side reports every emptied queue; the engine wants only the drains it was told to wait for.
      if (!this.drainOwed) return;
      this.drainOwed = false;
    }
    try {
      switch (event) {
        case EVENT_DATA:
          listener.onData(arg as Buffer);
          break;
        case EVENT_FILLED:
          this.directOwed -= arg as number;
          listener.onFilled!(arg as number);
          break;
        case EVENT_END:
          listener.onEnd();
          break;
        case EVENT_ERROR:
          listener.onError(arg as Error);
          break;
        case EVENT_CLOSE:
          listener.onClose();
          break;
        case EVENT_DRAIN:
          listener.onDrain();
          break;
      }
    } catch (error) {
      // A bug in the listener costs this connection, never the process.
      if (event === EVENT_CLOSE || event === EVENT_ERROR) return;
      this.destroy();
      try {
        listener.onError(error as Error);
      } catch {
        // already failing; onClose still follows
      }
    }
  }
}
