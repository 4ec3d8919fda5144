/**
 * publish's fast paths on the native transport (issue 17). A topic keeps its
 * plain subscribers on the native transport as an array of ids
 * (topic-members.ts), and fanOut() hands it to the addon in one call: the
 * addon appends the frame to the output of each one the engine has marked
 * ready (WebSocket.readyForDirectFrames, mirrored per connection by
 * setPublishReady) and within the high-water mark, so the usual publish does
 * no work per subscriber in JS; the others come back for the engine to
 * decide. Other subscribers that may take the frame without the engine's
 * send path (acceptsDirectFrame) are gathered by id (DirectFanout) for one
 * more call per distinct frame. One more call, with the tick's flush, writes
 * every connection's published frames, one vectored write each. A loop of
 * sendFrames would cost one addon write per subscriber.
 */
import { PUBLISH_MAX_BYTES, transportBinding } from '../native/transport-binding.js';
import type { WebSocket } from './connection.js';
import { flushLater } from './flush.js';
import { NATIVE_HIGH_WATER_MARK, NativeTransport, flushPublished, liveNativeTransports, notePublishedUnseen, publishReadyFlags } from './native-transport.js';
import type { TopicMembers } from './topic-members.js';
import { SendStatus } from './types.js';

/**
 * Frames above this go the usual way: the addon copies a published frame
 * once per connection, which for a large one costs more than the calls it
 * saves (a send writes the shared buffer itself).
 */
export const DIRECT_PUBLISH_MAX_BYTES = Math.min(16 * 1024, PUBLISH_MAX_BYTES);
/** Buffers per frame the addon takes as arguments (native/transport.cc kMaxArgBuffers). */
const MAX_FRAME_BUFFERS = 8;

/** Connection ids in, pending bytes (or -1) out: shared, since no user code runs between filling and reading it. */
let ids = new Float64Array(256);
/** Indices fanout() left to the engine: shared, read before any user code can run. */
let deferredAt = new Float64Array(256);

/** Once per tick, with every connection's own flush (flush.ts). */
const publishedFlush = {
  scheduled: false,
  flush(): void {
    this.scheduled = false;
    flushPublished();
  },
};

/** Subscribers of one publish that take their frame directly, per distinct frame (plain, or compressed per window size). */
interface Batch {
  frames: readonly Buffer[];
  /** The frame's bytes. */
  size: number;
  /** members[0, count): kept from publish to publish, so the array does not grow again every time. */
  readonly members: (NativeTransport | undefined)[];
  count: number;
}

const NO_FRAMES: readonly Buffer[] = [];

export class DirectFanout {
  private static shared: DirectFanout | null = null;
  private readonly batches: Batch[] = [];
  /** batches[0, used) belong to the publish under way. */
  private used = 0;
  private last: Batch | null = null;
  private busy = false;

  /**
   * The fan-out of one publish (call send() once it has gathered), null where
   * no connection can be reached this way (no addon, or no connection on the
   * native transport: the stream path pays nothing for it): the shared one, whose
   * arrays keep their size, unless a publish is under way already.
   */
  static begin(): DirectFanout | null {
    if (transportBinding === null || liveNativeTransports() === 0) return null;
    const shared = (DirectFanout.shared ??= new DirectFanout());
    const fanout = shared.busy ? new DirectFanout() : shared;
    fanout.busy = true;
    return fanout;
  }

  /** Takes ws into the batch for frames when it may take them directly; false: send them the usual way (sendFrames). */
  take(ws: WebSocket<unknown>, frames: readonly Buffer[]): boolean {
    const io = ws.io;
    if (!(io instanceof NativeTransport) || !io.writable) return false;
    const batch = this.last !== null && this.last.frames === frames ? this.last : (this.last = this.batchFor(frames));
    if (batch.size > DIRECT_PUBLISH_MAX_BYTES || frames.length > MAX_FRAME_BUFFERS || !ws.acceptsDirectFrame(batch.size)) return false;
    batch.members[batch.count++] = io;
    return true;
  }

  /** One addon call per distinct frame; returns how many connections took theirs. */
  send(): number {
    let reached = 0;
    for (let i = 0; i < this.used; i++) {
      const batch = this.batches[i]!;
      reached += sendBatch(batch);
      batch.frames = NO_FRAMES;
      batch.count = 0;
    }
    this.used = 0;
    this.last = null;
    this.busy = false;
    return reached;
  }

  private batchFor(frames: readonly Buffer[]): Batch {
    for (let i = 0; i < this.used; i++) if (this.batches[i]!.frames === frames) return this.batches[i]!;
    let batch = this.batches[this.used];
    if (batch === undefined) this.batches.push((batch = { frames, size: 0, members: [], count: 0 }));
    batch.frames = frames;
    batch.size = frameSize(frames);
    this.used++;
    return batch;
  }
}

function frameSize(frames: readonly Buffer[]): number {
  let size = 0;
  for (let i = 0; i < frames.length; i++) size += frames[i]!.length;
  return size;
}

function sendBatch({ frames, members, count: n }: Batch): number {
  if (n === 0) return 0;
  if (ids.length < n) ids = new Float64Array(Math.max(n, 2 * ids.length));
  for (let i = 0; i < n; i++) ids[i] = members[i]!.id;
  const binding = transportBinding!;
  // The usual frame is one buffer, or a header and its payload: no spread for those.
  const took =
    frames.length === 1
      ? binding.publish(ids, ids, n, frames[0]!)
      : frames.length === 2
        ? binding.publish(ids, ids, n, frames[0]!, frames[1]!)
        : binding.publish(ids, ids, n, ...frames);
  for (let i = 0; i < n; i++) {
    const pending = ids[i]!;
    if (pending >= 0) members[i]!.tookPublished(pending);
    members[i] = undefined; // a closed connection is not kept until the next publish
  }
  if (took > 0 && !publishedFlush.scheduled) {
    publishedFlush.scheduled = true;
    flushLater(publishedFlush);
  }
  return took;
}

/** The transport id by which fanOut reaches ws, or -1 where publish must visit it (another transport, compression, a limit below the high-water mark). */
export function fanoutIdOf(ws: WebSocket<unknown>): number {
  const io = ws.io;
  return transportBinding !== null && io instanceof NativeTransport && ws.takesPlainPublishes(NATIVE_HIGH_WATER_MARK) ? io.id : -1;
}

/**
 * Delivers frames to members.byId (all of them but `except`): one addon call for those marked ready, the engine's
 * send path (gathered into direct where it may) for the rest. Returns how many were reached.
 */
export function fanOut(members: TopicMembers, frames: readonly Buffer[], except: WebSocket<unknown> | undefined, direct: DirectFanout | null): number {
  const n = members.byId.length;
  let reached = 0;
  let later: WebSocket<unknown>[];
  const size = frameSize(frames);
  if (size <= DIRECT_PUBLISH_MAX_BYTES && frames.length <= MAX_FRAME_BUFFERS) {
    if (deferredAt.length < n) deferredAt = new Float64Array(Math.max(n, 2 * deferredAt.length));
    const io = except?.io;
    const exceptId = io instanceof NativeTransport ? io.id : -1;
    const binding = transportBinding!;
    const ready = publishReadyFlags();
    const deferred =
      frames.length === 1
        ? binding.fanout(members.ids, n, exceptId, NATIVE_HIGH_WATER_MARK, ready, deferredAt, frames[0]!)
        : frames.length === 2
          ? binding.fanout(members.ids, n, exceptId, NATIVE_HIGH_WATER_MARK, ready, deferredAt, frames[0]!, frames[1]!)
          : binding.fanout(members.ids, n, exceptId, NATIVE_HIGH_WATER_MARK, ready, deferredAt, ...frames);
    reached = n - deferred - (except !== undefined && members.byIdHas(except) ? 1 : 0);
    if (reached > 0) {
      notePublishedUnseen();
      if (!publishedFlush.scheduled) {
        publishedFlush.scheduled = true;
        flushLater(publishedFlush);
      }
    }
    if (deferred === 0) return reached;
    // Taken out before any of them is sent to: a send may change the topic (and the next publish reuses deferredAt).
    later = new Array<WebSocket<unknown>>(deferred);
    for (let i = 0; i < deferred; i++) later[i] = members.byId[deferredAt[i]!]!;
  } else {
    later = members.byId.filter((ws) => ws !== except);
  }
  for (let i = 0; i < later.length; i++) {
    const ws = later[i]!;
    if (direct !== null && direct.take(ws, frames)) continue;
    if (ws.sendFrames(frames) !== SendStatus.DROPPED) reached++;
  }
  return reached;
}
