/**
 * Topics within one process. A published message is framed once and the
 * same bytes are queued on every subscriber, each under its own
 * backpressure policy (a subscriber over maxBackpressure misses it, or is
 * closed with closeOnBackpressureLimit).
 */
import { encodeFrame } from '../core/frame-writer.js';
import { OPCODE_BINARY, OPCODE_TEXT } from '../core/constants.js';
import { active } from '../native/index.js';
import type { WebSocket } from './connection.js';
import { DirectFanout, fanOut, fanoutIdOf } from './native-fanout.js';
import { TopicMembers } from './topic-members.js';
import { type SendData, toPayload } from './connection-options.js';
import { SendStatus } from './types.js';
import { argTypeError } from '../native/args.js';

/**
 * Fan-out beyond this process (other workers, other machines). The server
 * hands every publish to the adapter, and the adapter hands publishes from
 * elsewhere back with deliver(); they are delivered locally only, never
 * forwarded again.
 */
export interface PubSubAdapter {
  /**
   * Starts receiving publishes from elsewhere. serve() awaits a promise returned here before it listens: reject only
   * when the adapter can never work (a missing dependency), and serve() rejects with that error.
   */
  start(deliver: (topic: string, data: Buffer, binary: boolean) => void): void | Promise<void>;
  /** Sends a local publish to the other processes. Must not throw: report and retry instead. */
  publish(topic: string, data: Buffer, binary: boolean): void;
  /** The first local subscriber of topic arrived (adapters may subscribe upstream lazily). */
  subscribe?(topic: string): void;
  /** The last local subscriber of topic left. */
  unsubscribe?(topic: string): void;
  close(): void | Promise<void>;
}

function frame(opcode: number, payload: Buffer | string, rsv1: boolean): Buffer[] {
  const frames: Buffer[] = [];
  encodeFrame(active, frames, opcode, payload, { fin: true, rsv1 });
  return frames;
}

/**
 * The published bytes, copied once. Subscribers on the native transport take a copy during publish(); the others
 * would keep the caller's memory until their next write, or longer behind their own fragmented message or a
 * compression. A change to it (or its transfer to another thread) in the same tick would then reach some subscribers
 * and not others, and a transfer would fail them all. One copy per publish, not per subscriber; uWebSockets.js and
 * Bun copy at publish too.
 */
function ownCopy(payload: Buffer | string): Buffer | string {
  return typeof payload === 'string' ? payload : Buffer.from(payload);
}

/** Topics are strings: anything else would be a Map key no publish reaches, or reach a pub/sub adapter as garbage. */
function checkTopic(topic: unknown): void {
  if (typeof topic !== 'string') throw argTypeError(`a topic must be a string, received ${typeof topic}`);
}

export class TopicHub {
  private readonly topics = new Map<string, TopicMembers>();
  /** Told when a topic gains its first or loses its last local subscriber. */
  adapter: PubSubAdapter | null = null;

  subscribe(ws: WebSocket<unknown>, topic: string): boolean {
    checkTopic(topic);
    let members = this.topics.get(topic);
    if (!members) {
      this.topics.set(topic, (members = new TopicMembers()));
      this.adapter?.subscribe?.(topic);
    }
    if (!members.add(ws, fanoutIdOf(ws))) return false;
    (ws.topics ??= new Set()).add(topic);
    ws.updatePublishReady();
    return true;
  }

  unsubscribe(ws: WebSocket<unknown>, topic: string): boolean {
    checkTopic(topic);
    const members = this.topics.get(topic);
    if (!members?.delete(ws)) return false;
    if (members.size === 0) {
      this.topics.delete(topic);
      this.adapter?.unsubscribe?.(topic);
    }
    ws.topics?.delete(topic);
    return true;
  }

  unsubscribeAll(ws: WebSocket<unknown>): void {
    if (!ws.topics) return;
    for (const topic of ws.topics) {
      const members = this.topics.get(topic);
      if (members?.delete(ws) && members.size === 0) {
        this.topics.delete(topic);
        this.adapter?.unsubscribe?.(topic);
      }
    }
    ws.topics = null;
  }

  subscribers(topic: string): number {
    return this.topics.get(topic)?.size ?? 0;
  }

  /** Topics with at least one local subscriber. */
  topicNames(): string[] {
    return [...this.topics.keys()];
  }

  /**
   * Frames data once and queues it on every subscriber but `except`; returns
   * how many accepted it. With permessage-deflate without server context
   * takeover (stateless, so shareable) the message is compressed once per
   * window size in use, inline, not per subscriber. A subscriber whose
   * compressor keeps its context gets its own compression, in line with its
   * other sends (offloaded, see core/inline-budget.ts and zlib/jobs.ts).
   * Local publishes also go to the adapter; fromRemote ones came from it.
   */
  publish(topic: string, data: SendData, binary?: boolean, except?: WebSocket<unknown>, compress?: boolean, fromRemote = false): number {
    checkTopic(topic);
    const payload = ownCopy(toPayload(data));
    const isBinary = binary ?? typeof payload !== 'string';
    if (this.adapter && !fromRemote) this.adapter.publish(topic, typeof payload === 'string' ? Buffer.from(payload) : payload, isBinary);
    const members = this.topics.get(topic);
    if (!members || members.size === 0) return 0;
    const opcode = isBinary ? OPCODE_BINARY : OPCODE_TEXT;
    const size = typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length;
    let plain: Buffer[] | null = null;
    let compressed: Map<number, Buffer[]> | null = null;
    // Subscribers on the native transport take the frame in one addon call: the plain ones by id now (fanOut), the
    // others after the loop (DirectFanout; native-fanout.ts).
    const direct = DirectFanout.begin();
    let reached = 0;
    try {
      if (members.byId.length > 0) reached += fanOut(members, (plain = frame(opcode, payload, false)), except, direct);
      for (const ws of members.others) {
        if (ws === except) continue;
        const deflate = ws.deflate;
        let frames: Buffer[];
        if (deflate && compress !== false && (compress === true || size >= deflate.threshold)) {
          if (deflate.sendContext) {
            if (ws.sendPublished(payload, isBinary) !== SendStatus.DROPPED) reached++;
            continue;
          }
          compressed ??= new Map();
          let f = compressed.get(deflate.sendWindowBits);
          if (!f) compressed.set(deflate.sendWindowBits, (f = frame(opcode, deflate.compress(payload), true)));
          frames = f;
        } else {
          frames = plain ??= frame(opcode, payload, false);
        }
        if (direct !== null && direct.take(ws, frames)) continue;
        if (ws.sendFrames(frames) !== SendStatus.DROPPED) reached++;
      }
    } finally {
      // Also when a subscriber's send threw: those gathered before it still get the message, as with sends.
      if (direct !== null) reached += direct.send();
    }
    return reached;
  }
}
