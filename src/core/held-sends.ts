/**
 * Sends held behind a message the driver compresses off the main thread.
 * Frames must leave in call order, and a compressed payload is only known
 * when the driver hands it back, so every later send (data, already-encoded
 * frames, our close frame) waits here, uncompressed, counted in the output
 * the connection reports. Pings and pongs do not wait: they may go between
 * the frames of other messages (RFC 6455 §5.4). One compression at a time:
 * a context-takeover stream takes its messages in order. The Protocol owns
 * one of these once it has held a send (only with an offloading driver).
 */
import type { PerMessageDeflate } from '../extensions/permessage-deflate.js';
import { stillWhole } from './held-bytes.js';
import { compressesInline } from './inline-budget.js';

/** Where held sends go when their turn comes (the Protocol). */
export interface HeldSendOutput {
  /** Frames a message or close frame now, uncompressed. */
  frame(opcode: number, payload: Buffer | string, fin: boolean): number;
  /** Frames a whole message now, its payload compressed (RSV1); length: its bytes uncompressed. */
  compressed(opcode: number, payload: Buffer, length: number): number;
  /** Queues already-encoded frames now. */
  raw(frames: readonly Buffer[]): void;
  /** Asks the driver to compress this payload off the main thread; resume() takes the result. */
  compressElsewhere(data: Buffer | string): void;
  /** A held payload lost its bytes (its memory was transferred): the connection fails, and drop() follows. */
  detached(): void;
}

interface HeldSend {
  /** OPCODE_* of a frame, or RAW for frames already encoded. */
  opcode: number;
  payload: Buffer | string;
  frames: readonly Buffer[] | null;
  fin: boolean;
  /** Compress it (it is a whole message at or above the threshold). */
  compress: boolean;
  /** What it counts for in the pending output until it is framed. */
  size: number;
}
const RAW = -1;
const EMPTY = Buffer.alloc(0);

export class HeldSends {
  /** The first one is the one being compressed, while `compressing`. */
  private queue: HeldSend[] = [];
  private compressing = false;
  /** Bytes of the sends held, uncompressed. */
  bytes = 0;

  constructor(
    private readonly codec: PerMessageDeflate,
    private readonly out: HeldSendOutput,
  ) {}

  /** Sends are waiting: later ones must wait behind them too. */
  get waiting(): boolean {
    return this.queue.length > 0;
  }

  /** Holds a send (asking for its compression if it is the first to need one); returns its size. */
  hold(opcode: number, payload: Buffer | string, fin: boolean, compress: boolean, size: number): number {
    this.queue.push({ opcode, payload, frames: null, fin, compress, size });
    this.bytes += size;
    if (!this.compressing) this.release();
    return size;
  }

  /** Holds frames encoded once for many connections. */
  holdRaw(frames: readonly Buffer[], size: number): void {
    this.queue.push({ opcode: RAW, payload: EMPTY, frames, fin: true, compress: false, size });
    this.bytes += size;
    if (!this.compressing) this.release();
  }

  /** The compressed payload compressElsewhere() asked for: it is framed, then what waited behind it. Ignored after drop(). */
  resume(compressed: Buffer): void {
    if (!this.compressing) return;
    this.compressing = false;
    const next = this.queue.shift()!;
    this.bytes -= next.size;
    // Moved while zlib read it: what zlib read is not known to be the message.
    if (!stillWhole(next.payload, next.size)) return this.out.detached();
    this.out.compressed(next.opcode, compressed, next.size);
    this.release();
  }

  /** Forgets every held send (the connection failed or ended: they would never be written); a late result is ignored. */
  drop(): void {
    this.queue = [];
    this.bytes = 0;
    this.compressing = false;
  }

  /** Frames held sends in order, until one needs compressing off the main thread (asked for) or none is left. */
  private release(): void {
    const queue = this.queue;
    while (queue.length > 0) {
      const next = queue[0]!;
      if (!stillWhole(next.frames ?? next.payload, next.size)) return this.out.detached();
      if (next.compress && !compressesInline(this.codec, next.size)) {
        this.compressing = true;
        this.out.compressElsewhere(next.payload);
        return;
      }
      queue.shift();
      this.bytes -= next.size;
      if (next.opcode === RAW) this.out.raw(next.frames!);
      else if (next.compress) this.out.compressed(next.opcode, this.codec.compress(next.payload), next.size);
      else this.out.frame(next.opcode, next.payload, next.fin);
    }
  }
}
