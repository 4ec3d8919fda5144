/**
 * Encodes frames. The header is written in front of the payload in one
 * buffer when the payload is small or must be masked; a large unmasked
 * payload is returned beside its header so the driver can write both with one
 * vectored write and no copy. A user's buffer is never modified: masking
 * always writes into a fresh buffer.
 */
import type { Backend } from '../native/types.js';
import { COPY_PAYLOAD_BELOW, FIN } from './constants.js';
import { writeMaskKey } from './mask-key.js';

export interface FrameOptions {
  fin?: boolean;
  rsv1?: boolean;
  mask?: boolean;
  /** Where masking keys come from (tests pin them); defaults to the crypto-random pool. */
  maskKey?: (target: Uint8Array, offset: number) => void;
}

function headerLength(payloadLength: number, masked: boolean): number {
  const base = payloadLength < 126 ? 2 : payloadLength < 0x10000 ? 4 : 10;
  return masked ? base + 4 : base;
}

/** Writes the header into target at 0; the masking key (if any) is left to the caller. */
function writeHeader(target: Buffer, firstByte: number, payloadLength: number, masked: boolean): void {
  target[0] = firstByte;
  const maskBit = masked ? 0x80 : 0;
  if (payloadLength < 126) {
    target[1] = maskBit | payloadLength;
  } else if (payloadLength < 0x10000) {
    target[1] = maskBit | 126;
    target[2] = payloadLength >>> 8;
    target[3] = payloadLength & 0xff;
  } else {
    target[1] = maskBit | 127;
    // JS buffers are below 2^53 bytes, so the top 11 bits are always zero.
    target.writeUInt32BE(Math.floor(payloadLength / 0x100000000), 2);
    target.writeUInt32BE(payloadLength >>> 0, 6);
  }
}

/**
 * Encodes one frame and pushes its bytes onto `out` (one buffer, or header and
 * payload). Returns the number of bytes pushed.
 */
export function encodeFrame(
  backend: Backend,
  out: Buffer[],
  opcode: number,
  payload: Buffer | string,
  options: FrameOptions,
): number {
  const fin = options.fin !== false;
  const masked = options.mask === true;
  const firstByte = (fin ? FIN : 0) | (options.rsv1 ? 0x40 : 0) | opcode;
  const isString = typeof payload === 'string';
  const length = isString ? Buffer.byteLength(payload) : payload.length;
  const hl = headerLength(length, masked);

  if (!masked && !isString && length >= COPY_PAYLOAD_BELOW) {
    const header = Buffer.allocUnsafe(hl);
    writeHeader(header, firstByte, length, false);
    out.push(header, payload);
    return hl + length;
  }

  const frame = Buffer.allocUnsafe(hl + length);
  writeHeader(frame, firstByte, length, masked);
  if (masked) {
    (options.maskKey ?? writeMaskKey)(frame, hl - 4);
    const key = frame.subarray(hl - 4, hl);
    if (isString) {
      frame.write(payload, hl);
      backend.unmask(frame.subarray(hl), key, 0);
    } else {
      backend.mask(payload, key, frame, hl, length);
    }
  } else if (isString) {
    frame.write(payload, hl);
  } else {
    frame.set(payload, hl);
  }
  out.push(frame);
  return hl + length;
}
