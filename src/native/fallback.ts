/**
 * Pure TypeScript implementation of the native contract (types.ts). This file
 * is also the reference: the C++ addon must produce the same bytes, records
 * and states for every input.
 */
import {
  type Backend,
  CLOSE_MESSAGE_TOO_BIG,
  CLOSE_PROTOCOL_ERROR,
  OUT_BITS,
  OUT_CODE,
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
  SCAN_INCOMPLETE,
  SCAN_RSV_MASK,
  UTF8_ACCEPT,
  UTF8_REJECT,
} from './types.js';

/** XOR with a 4-byte key; a 32-bit word loop where the output is word-aligned. */
export function mask(source: Uint8Array, key: Uint8Array, output: Uint8Array, offset: number, length: number): void {
  let i = 0;
  const outStart = output.byteOffset + offset;
  if (length >= 16 && (outStart & 3) === 0 && (source.byteOffset & 3) === 0) {
    const words = length >>> 2;
    const src = new Uint32Array(source.buffer, source.byteOffset, words);
    const dst = new Uint32Array(output.buffer, outStart, words);
    // The key as it lies in memory, read as a native-endian word.
    const k = new Uint32Array(new Uint8Array([key[0]!, key[1]!, key[2]!, key[3]!]).buffer)[0]!;
    for (let w = 0; w < words; w++) dst[w] = src[w]! ^ k;
    i = words << 2;
  }
  for (; i < length; i++) output[offset + i] = source[i]! ^ key[i & 3]!;
}

export function unmask(buffer: Uint8Array, key: Uint8Array, phase = 0): number {
  const length = buffer.length;
  let i = 0;
  // Bytes up to the first word boundary, one at a time.
  while (i < length && ((buffer.byteOffset + i) & 3) !== 0) {
    buffer[i] = buffer[i]! ^ key[(phase + i) & 3]!;
    i++;
  }
  const words = (length - i) >>> 2;
  if (words > 0) {
    const p = phase + i;
    const rotated = new Uint8Array([key[p & 3]!, key[(p + 1) & 3]!, key[(p + 2) & 3]!, key[(p + 3) & 3]!]);
    const k = new Uint32Array(rotated.buffer)[0]!;
    const view = new Uint32Array(buffer.buffer, buffer.byteOffset + i, words);
    for (let w = 0; w < words; w++) view[w] = view[w]! ^ k;
    i += words << 2;
  }
  for (; i < length; i++) buffer[i] = buffer[i]! ^ key[(phase + i) & 3]!;
  return (phase + length) & 3;
}

function isKnownOpcode(opcode: number): boolean {
  return opcode <= 2 || (opcode >= 8 && opcode <= 10);
}

/** Unmask payload[start, start + length) in place with a key held as a big-endian uint32. */
function unmaskRange(chunk: Uint8Array, start: number, length: number, key: number): void {
  const k0 = key >>> 24;
  const k1 = (key >>> 16) & 0xff;
  const k2 = (key >>> 8) & 0xff;
  const k3 = key & 0xff;
  if (length >= 32) {
    unmask(chunk.subarray(start, start + length), new Uint8Array([k0, k1, k2, k3]), 0);
    return;
  }
  let i = 0;
  const end = start + length;
  for (let p = start; p < end; p++, i++) {
    const m = i & 3;
    chunk[p] = chunk[p]! ^ (m === 0 ? k0 : m === 1 ? k1 : m === 2 ? k2 : k3);
  }
}

export function scanFrames(chunk: Uint8Array, offset: number, out: Float64Array, flags: number, maxPayload: number): number {
  const end = chunk.length;
  const expectMasked = (flags & SCAN_EXPECT_MASKED) !== 0;
  const allowedRsv = flags & SCAN_RSV_MASK;
  const capacity = Math.floor((out.length - OUT_RECORDS) / RECORD_SIZE);
  out[OUT_CODE] = 0;
  out[OUT_HEADER_LENGTH] = 0;
  out[OUT_PAYLOAD_LENGTH] = 0;
  out[OUT_BITS] = 0;
  out[OUT_MASK_KEY] = 0;
  let count = 0;
  let p = offset;

  const stop = (status: number, code = 0): number => {
    out[OUT_STATUS] = status;
    out[OUT_STOP] = p;
    out[OUT_CODE] = code;
    return count;
  };

  while (p < end) {
    const avail = end - p;
    const b0 = chunk[p]!;
    const opcode = b0 & 0x0f;
    const rsv = b0 & 0x70;
    const control = opcode >= 8;
    if (!isKnownOpcode(opcode)) return stop(SCAN_ERROR, CLOSE_PROTOCOL_ERROR);
    if ((rsv & ~allowedRsv) !== 0 || (control && rsv !== 0)) return stop(SCAN_ERROR, CLOSE_PROTOCOL_ERROR);
    if (control && (b0 & 0x80) === 0) return stop(SCAN_ERROR, CLOSE_PROTOCOL_ERROR);
    if (avail < 2) return stop(SCAN_INCOMPLETE);

    const b1 = chunk[p + 1]!;
    const masked = (b1 & 0x80) !== 0;
    const len7 = b1 & 0x7f;
    if (masked !== expectMasked) return stop(SCAN_ERROR, CLOSE_PROTOCOL_ERROR);
    if (control && len7 > 125) return stop(SCAN_ERROR, CLOSE_PROTOCOL_ERROR);

    let headerLength = 2;
    let length = len7;
    if (len7 === 126) {
      if (avail < 4) return stop(SCAN_INCOMPLETE);
      length = (chunk[p + 2]! << 8) | chunk[p + 3]!;
      headerLength = 4;
    } else if (len7 === 127) {
      if (avail < 10) return stop(SCAN_INCOMPLETE);
      const high = ((chunk[p + 2]! << 24) | (chunk[p + 3]! << 16) | (chunk[p + 4]! << 8) | chunk[p + 5]!) >>> 0;
      const low = ((chunk[p + 6]! << 24) | (chunk[p + 7]! << 16) | (chunk[p + 8]! << 8) | chunk[p + 9]!) >>> 0;
      if (high >= 0x80000000) return stop(SCAN_ERROR, CLOSE_PROTOCOL_ERROR);
      // Above 2^53 a double loses precision, but such a length exceeds any maxPayload anyway.
      length = high >= 0x200000 ? Number.MAX_VALUE : high * 0x100000000 + low;
      headerLength = 10;
    }
    if (length > maxPayload) return stop(SCAN_ERROR, CLOSE_MESSAGE_TOO_BIG);
    if (masked) headerLength += 4;
    if (avail < headerLength) return stop(SCAN_INCOMPLETE);

    const key = masked
      ? ((chunk[p + headerLength - 4]! << 24) |
          (chunk[p + headerLength - 3]! << 16) |
          (chunk[p + headerLength - 2]! << 8) |
          chunk[p + headerLength - 1]!) >>>
        0
      : 0;
    if (avail - headerLength < length) {
      out[OUT_HEADER_LENGTH] = headerLength;
      out[OUT_PAYLOAD_LENGTH] = length;
      out[OUT_BITS] = b0;
      out[OUT_MASK_KEY] = key;
      out[OUT_STATUS] = SCAN_INCOMPLETE;
      out[OUT_STOP] = p;
      return count;
    }
    if (count === capacity) return stop(SCAN_FULL);

    const payloadStart = p + headerLength;
    if (masked && length > 0) unmaskRange(chunk, payloadStart, length, key);
    const r = OUT_RECORDS + count * RECORD_SIZE;
    out[r] = b0;
    out[r + 1] = payloadStart;
    out[r + 2] = length;
    count++;
    p = payloadStart + length;
  }
  return stop(SCAN_DONE);
}

/*
 * Incremental UTF-8 (RFC 3629) as a small state machine. States:
 *   0 accept, 1 reject (sticky),
 *   2/3/4 need 1/2/3 more continuation bytes in 80..BF,
 *   5 after E0 (next A0..BF), 6 after ED (next 80..9F, no surrogates),
 *   7 after F0 (next 90..BF), 8 after F4 (next 80..8F, nothing above U+10FFFF).
 */
function leadState(b: number): number {
  if (b < 0x80) return UTF8_ACCEPT;
  if (b < 0xc2) return UTF8_REJECT;
  if (b < 0xe0) return 2;
  if (b === 0xe0) return 5;
  if (b === 0xed) return 6;
  if (b < 0xf0) return 3;
  if (b === 0xf0) return 7;
  if (b < 0xf4) return 4;
  if (b === 0xf4) return 8;
  return UTF8_REJECT;
}

export function utf8Step(buffer: Uint8Array, state: number): number {
  const length = buffer.length;
  for (let i = 0; i < length; i++) {
    const b = buffer[i]!;
    switch (state) {
      case UTF8_ACCEPT:
        if (b < 0x80) continue;
        state = leadState(b);
        break;
      case 2:
        state = b >= 0x80 && b <= 0xbf ? UTF8_ACCEPT : UTF8_REJECT;
        break;
      case 3:
        state = b >= 0x80 && b <= 0xbf ? 2 : UTF8_REJECT;
        break;
      case 4:
        state = b >= 0x80 && b <= 0xbf ? 3 : UTF8_REJECT;
        break;
      case 5:
        state = b >= 0xa0 && b <= 0xbf ? 2 : UTF8_REJECT;
        break;
      case 6:
        state = b >= 0x80 && b <= 0x9f ? 2 : UTF8_REJECT;
        break;
      case 7:
        state = b >= 0x90 && b <= 0xbf ? 3 : UTF8_REJECT;
        break;
      case 8:
        state = b >= 0x80 && b <= 0x8f ? 3 : UTF8_REJECT;
        break;
      default:
        return UTF8_REJECT;
    }
    if (state === UTF8_REJECT) return UTF8_REJECT;
  }
  return state;
}

export const fallback: Backend = { name: 'js', mask, unmask, scanFrames, utf8Step };
