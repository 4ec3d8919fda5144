/**
 * Encodes frames into an output queue. Small frames are written, header and
 * payload, straight into a slab shared by every connection, and consecutive
 * frames of one connection form one contiguous segment: a tick's worth of
 * small messages leaves as one buffer with no per-frame allocation and no
 * concatenation. A large unmasked payload is queued as it is beside its
 * header (the driver writes both with one vectored write, no copy). A user's
 * buffer is never modified: masking always writes into our own memory.
 */
import { Buffer } from 'node:buffer';
import type { Backend } from '../native/types.js';
import { COPY_PAYLOAD_BELOW, FIN } from './constants.js';
import { writeMaskKey } from './mask-key.js';

/** How encodeFrame() frames a payload. */
export interface FrameOptions {
  /** The FIN bit: false when more fragments of this message follow. Default true. */
  fin?: boolean;
  /** The RSV1 bit (permessage-deflate: the payload is compressed). Default false. */
  rsv1?: boolean;
  /** Mask the payload with a fresh key, as a client must (RFC 6455 §5.3). Default false. */
  mask?: boolean;
  /** Where masking keys come from (tests pin them); defaults to the crypto-random pool. */
  maskKey?: (target: Uint8Array, offset: number) => void;
}

export function headerLength(payloadLength: number, masked: boolean): number {
  const base = payloadLength < 126 ? 2 : payloadLength < 0x10000 ? 4 : 10;
  return masked ? base + 4 : base;
}

/** Writes the header at target[at]; the masking key (if any) is left to the caller. */
function writeHeader(target: Buffer, at: number, firstByte: number, payloadLength: number, masked: boolean): void {
  target[at] = firstByte;
  const maskBit = masked ? 0x80 : 0;
  if (payloadLength < 126) {
    target[at + 1] = maskBit | payloadLength;
  } else if (payloadLength < 0x10000) {
    target[at + 1] = maskBit | 126;
    target[at + 2] = payloadLength >>> 8;
    target[at + 3] = payloadLength & 0xff;
  } else {
    target[at + 1] = maskBit | 127;
    // JS buffers are below 2^53 bytes, so the top 11 bits are always zero.
    target.writeUInt32BE(Math.floor(payloadLength / 0x100000000), at + 2);
    target.writeUInt32BE(payloadLength >>> 0, at + 6);
  }
}

/** Writes a whole frame (header, key, payload) at target[at]; returns its length. */
function writeFrame(backend: Backend, target: Buffer, at: number, firstByte: number, payload: Buffer | string, length: number, options: FrameOptions): number {
  const masked = options.mask === true;
  const hl = headerLength(length, masked);
  writeHeader(target, at, firstByte, length, masked);
  const start = at + hl;
  if (masked) {
    (options.maskKey ?? writeMaskKey)(target, start - 4);
    const key = target.subarray(start - 4, start);
    if (typeof payload === 'string') {
      target.write(payload, start);
      if (length > 0) backend.unmask(target.subarray(start, start + length), key, 0);
    } else if (length > 0) {
      backend.mask(payload, key, target, start, length);
    }
  } else if (typeof payload === 'string') {
    target.write(payload, start);
  } else if (length > 0) {
    target.set(payload, start);
  }
  return hl + length;
}

const SLAB_SIZE = 64 * 1024;
/** Frames up to this size go into the slab; larger ones get a buffer of their own. */
const SLAB_FRAME_MAX = 16 * 1024;

/** The slab small frames are carved from; segments handed out are never written again. */
let slab = Buffer.allocUnsafeSlow(SLAB_SIZE);
/**
 * The slab's memory (allocUnsafeSlow: its own, from offset 0), looked up once per slab: a segment is
 * Buffer.from(memory, start, length), the view subarray() makes without its lookups of .buffer and .byteOffset.
 */
let slabMemory = slab.buffer;
let slabUsed = 0;

/** Frames waiting to be written for one connection, in order. */
export class OutputQueue {
  /** What take() hands out next; null (no array on every idle connection) until something is queued. */
  private chunks: Buffer[] | null = null;
  private bytes = 0;
  /** The memory of the slab whose open segment this queue is extending. */
  private segmentSlab: ArrayBuffer | null = null;
  private segmentStart = 0;
  private segmentEnd = 0;

  get pendingBytes(): number {
    return this.bytes;
  }

  /** Encodes one frame onto the queue; returns its size on the wire. */
  frame(backend: Backend, opcode: number, payload: Buffer | string, options: FrameOptions): number {
    const fin = options.fin !== false;
    const firstByte = (fin ? FIN : 0) | (options.rsv1 ? 0x40 : 0) | opcode;
    const isString = typeof payload === 'string';
    const length = isString ? Buffer.byteLength(payload) : payload.length;
    const masked = options.mask === true;
    const size = headerLength(length, masked) + length;

    if (!masked && !isString && length >= COPY_PAYLOAD_BELOW) {
      // Large payload: the header joins the segment, the payload goes by reference.
      const hl = size - length;
      const at = this.reserve(hl);
      writeHeader(slab, at, firstByte, length, false);
      this.push(payload);
      return size;
    }
    if (size > SLAB_FRAME_MAX) {
      const own = Buffer.allocUnsafe(size);
      writeFrame(backend, own, 0, firstByte, payload, length, options);
      this.push(own);
      return size;
    }
    const at = this.reserve(size); // may start a new slab: read `slab` after it
    writeFrame(backend, slab, at, firstByte, payload, length, options);
    return size;
  }

  /** Claims size bytes of the slab at the end of this queue's open segment; returns where they start. */
  private reserve(size: number): number {
    if (slabUsed + size > SLAB_SIZE) {
      slab = Buffer.allocUnsafeSlow(SLAB_SIZE);
      slabMemory = slab.buffer;
      slabUsed = 0;
    }
    if (this.segmentSlab !== slabMemory || this.segmentEnd !== slabUsed) {
      // Another queue wrote to the slab since (or a new slab began): start a new segment.
      this.seal();
      this.segmentSlab = slabMemory;
      this.segmentStart = this.segmentEnd = slabUsed;
    }
    const at = slabUsed;
    slabUsed += size;
    this.segmentEnd += size;
    this.bytes += size;
    return at;
  }

  /** Queues bytes that are already frames (shared by many connections); order is kept. */
  raw(frames: readonly Buffer[]): void {
    for (const f of frames) this.push(f);
  }

  /** Everything queued, as few buffers as possible; the queue is empty afterwards. */
  take(): Buffer[] {
    this.seal();
    const out = this.chunks ?? [];
    this.chunks = null;
    this.bytes = 0;
    return out;
  }

  private push(chunk: Buffer): void {
    this.seal();
    (this.chunks ??= []).push(chunk);
    this.bytes += chunk.length;
  }

  private seal(): void {
    if (this.segmentSlab !== null) {
      if (this.segmentEnd > this.segmentStart) (this.chunks ??= []).push(Buffer.from(this.segmentSlab, this.segmentStart, this.segmentEnd - this.segmentStart));
      this.segmentSlab = null;
    }
  }
}

/** Encodes one frame on its own (for publishing the same bytes to many connections). */
export function encodeFrame(backend: Backend, out: Buffer[], opcode: number, payload: Buffer | string, options: FrameOptions): number {
  const queue = new OutputQueue();
  const size = queue.frame(backend, opcode, payload, options);
  out.push(...queue.take());
  return size;
}
