/**
 * The addon's socket layer (exports.transport, native/transport.cc), loaded
 * the way load.ts loads the kernels: node-gyp-build, WSBOLT_NO_NATIVE=1 opts
 * out, any failure leaves it null and callers use the stream path.
 */
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { PUBLISH_MAX_BYTES as CONTRACT_PUBLISH_MAX_BYTES } from './types.js';

/** An adopted connection as the addon hands it out; opaque to JS. */
export type NativeHandle = object & { readonly __nativeTransport?: never };
/** What the per-connection functions accept: the handle, or its id (cheaper to check; see id()). */
export type HandleOrId = NativeHandle | number;

/** Event numbers passed to the dispatcher; native/transport.cc has the same enum. */
export const EVENT_DATA = 1;
export const EVENT_END = 2;
export const EVENT_ERROR = 3;
export const EVENT_CLOSE = 4;
export const EVENT_DRAIN = 5;
/** The running total of flushed bytes reached the mark set by watchFlush(); arg: that total. */
export const EVENT_FLUSHED = 6;

export type Dispatch = (handle: NativeHandle, event: number, arg: unknown) => void;
/**
 * The reads of one loop turn. Read i belongs to the connection with id meta[4i]: bytes [meta[4i + 2], meta[4i + 2] +
 * meta[4i + 3]) of memory[meta[4i + 1]], or, where meta[4i + 1] is -1, meta[4i + 3] bytes that went into the buffer
 * readInto() gave. memory[0] is the slab's when a large read stayed in it (undefined otherwise); the others are
 * pieces', the small reads copied side by side into at most 64 KiB each (native/transport.cc kPieceSize).
 */
export type DispatchBatch = (memory: (ArrayBuffer | undefined)[], count: number) => void;
/** Reads per batch at most (native/transport.cc kMaxBatch). */
export const MAX_BATCH = 1024;
/** Numbers meta holds for each read (native/transport.cc kMetaPerRead). */
export const META_PER_READ = 4;
/**
 * The largest frame publish() takes (it is copied once per connection); native/contract.h has the same. A constant,
 * not a re-export: TypeScript re-exports through a getter defined over the export's placeholder, which turns this
 * module's exports object into a dictionary, and every load from it on the read path into a generic inline cache.
 */
export const PUBLISH_MAX_BYTES: number = CONTRACT_PUBLISH_MAX_BYTES;
/** An id is slot + generation * ID_SLOTS (native/transport.cc kMaxSlots): no two live connections share a slot. */
export const ID_SLOTS = 2 ** 20;

export interface TransportBinding {
  /** The functions every connection's events go to: reads to dispatchBatch, the rest to dispatch. */
  init(dispatch: Dispatch, dispatchBatch: DispatchBatch, meta: Float64Array): void;
  /** Opens a duplicate of fd (a connected TCP socket) on Node's loop; not reading yet. owner (an object not adopted before) becomes the handle, else a new object does. */
  adopt(fd: number, owner?: object): NativeHandle;
  readStart(handle: HandleOrId): void;
  readStop(handle: HandleOrId): void;
  /**
   * The next reads go straight into buffer (the free end of a frame's buffer, all of it owed by the peer), unmasked
   * in place with key (big-endian; -1: not masked) starting `phase` bytes into it, until it is full. false when that
   * would reorder bytes, one is under way, or the connection is closing.
   */
  readInto(handle: HandleOrId, buffer: Uint8Array, key: number, phase: number): boolean;
  /** Bytes read through readInto() in the process so far. */
  directBytes(): number;
  /** Returns the bytes still pending after this write. */
  write(handle: HandleOrId, buffers: readonly Uint8Array[]): number;
  /** write() of 1 to 8 buffers passed as arguments, without the array. */
  writev(handle: HandleOrId, ...buffers: Uint8Array[]): number;
  /** Bytes accepted and not yet taken by the kernel, published frames waiting for flushPublished() included. */
  pending(handle: HandleOrId): number;
  /**
   * For i < count: appends the frame (1 to 8 buffers, PUBLISH_MAX_BYTES in all at most) to the output of the
   * connection ids[i] names, after what it holds; out[i] = its pending bytes after, or -1 when ids[i] names no
   * open, writable connection. ids and out may be one array. The frames leave with flushPublished() or the
   * connection's next write, end or destroy, whichever comes first. Returns how many connections took the frame.
   */
  publish(ids: Float64Array, out: Float64Array, count: number, ...frame: Uint8Array[]): number;
  /**
   * publish() for a topic's subscribers as they stand, the engine's decision mirrored in ready (one flag per id slot,
   * ID_SLOTS of them, written by JS): for i < count, skipping ids[i] === except, appends the frame to the connection
   * ids[i] names when it is open, writable, ready and holds at most `limit` bytes with it; otherwise writes i to
   * deferred (in order) for the engine to decide. Returns how many it deferred (deferred.length >= count).
   */
  fanout(ids: Float64Array, count: number, except: number, limit: number, ready: Uint8Array, deferred: Float64Array, ...frame: Uint8Array[]): number;
  /**
   * Every connection's published frames leave now, in one vectored write each. Returns how many connections were
   * left with bytes the kernel did not take, and writes (id, pending bytes) of each to out while it has room.
   */
  flushPublished(out: Float64Array): number;
  /**
   * -1 when the kernel has taken every byte written up to target (a running
   * total; -1 means all written so far), else the target, with one
   * EVENT_FLUSHED armed for when it has.
   */
  watchFlush(handle: HandleOrId, target: number): number;
  end(handle: HandleOrId): void;
  destroy(handle: HandleOrId): void;
  peer(handle: NativeHandle): [string, number] | null;
  /** A number naming the connection in every call above until its handle is collected; never reused for another. */
  id(handle: NativeHandle): number;
  /** Connections alive in the process (not yet closed and collected). */
  liveCount(): number;
}

function disabledByEnv(): boolean {
  const v = process.env.WSBOLT_NO_NATIVE;
  return v !== undefined && v !== '' && v !== '0' && v.toLowerCase() !== 'false';
}

function load(): TransportBinding | null {
  if (disabledByEnv() || process.platform === 'win32') return null;
  try {
    const requireHere = createRequire(__filename);
    const nodeGypBuild = requireHere('node-gyp-build') as (dir: string) => Record<string, unknown>;
    const raw = nodeGypBuild(path.join(__dirname, '..', '..')).transport as Record<string, unknown> | undefined;
    if (!raw) return null;
    for (const fn of [
      'init',
      'adopt',
      'readStart',
      'readStop',
      'readInto',
      'directBytes',
      'write',
      'writev',
      'pending',
      'publish',
      'fanout',
      'flushPublished',
      'watchFlush',
      'end',
      'destroy',
      'peer',
      'id',
      'liveCount',
    ]) {
      if (typeof raw[fn] !== 'function') return null;
    }
    return raw as unknown as TransportBinding;
  } catch {
    return null;
  }
}

/** The addon's transport functions, or null when the addon (or this part of it) is not loaded. */
export const transportBinding: TransportBinding | null = load();
