/**
 * The reference kernels: the native contract (types.ts) in pure TypeScript.
 * The C++ addon (native/*.h) must produce the same bytes, records, faults and
 * states for every input; these same functions are the backend when the addon
 * is not loaded (the TypeScript fallback).
 */
import {
  type Backend,
  CLOSE_MESSAGE_TOO_BIG,
  CLOSE_PROTOCOL_ERROR,
  FAULT_CONTROL_FIN,
  FAULT_CONTROL_LENGTH,
  FAULT_LENGTH_MSB,
  FAULT_MASK_EXPECTED,
  FAULT_MASK_UNEXPECTED,
  FAULT_NONE,
  FAULT_OPCODE,
  FAULT_RSV1,
  FAULT_RSV23,
  FAULT_TOO_BIG,
  OUT_BITS,
  OUT_CODE,
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
  SCAN_INCOMPLETE,
  SCAN_RSV_MASK,
  UTF8_ACCEPT,
  UTF8_REJECT,
} from './types.js';
import { argRangeError, argTypeError, bytesLength, float64Length, isIndex } from './args.js';

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
/** From this many bytes a Uint32Array view pays for its allocation. */
const WORD_LOOP_MIN = 128;

/** Four key bytes as the 32-bit word they form in memory. */
function keyWord(k0: number, k1: number, k2: number, k3: number): number {
  return LITTLE_ENDIAN ? (k0 | (k1 << 8) | (k2 << 16) | (k3 << 24)) >>> 0 : ((k0 << 24) | (k1 << 16) | (k2 << 8) | k3) >>> 0;
}

/**
 * data[start + i] ^= [k0, k1, k2, k3][i & 3] for i < length: bytes up to a
 * word boundary, then 32-bit words, then the tail. No allocation below
 * WORD_LOOP_MIN bytes.
 */
function xorRange(data: Uint8Array, start: number, length: number, k0: number, k1: number, k2: number, k3: number): void {
  const end = start + length;
  let i = start;
  if (length >= WORD_LOOP_MIN) {
    // Rotate the key as the head bytes are consumed, so the words line up.
    while (((data.byteOffset + i) & 3) !== 0) {
      data[i] = data[i]! ^ k0;
      const t = k0;
      k0 = k1;
      k1 = k2;
      k2 = k3;
      k3 = t;
      i++;
    }
    const words = (end - i) >>> 2;
    // Int32: ^ yields int32, so no conversion on the store; eight words per iteration (twice as fast as one at 64 KiB).
    const view = new Int32Array(data.buffer, data.byteOffset + i, words);
    const k = keyWord(k0, k1, k2, k3) | 0;
    let w = 0;
    for (; w + 8 <= words; w += 8) {
      view[w] ^= k;
      view[w + 1] ^= k;
      view[w + 2] ^= k;
      view[w + 3] ^= k;
      view[w + 4] ^= k;
      view[w + 5] ^= k;
      view[w + 6] ^= k;
      view[w + 7] ^= k;
    }
    for (; w < words; w++) view[w] ^= k;
    i += words << 2;
  } else {
    for (; i + 4 <= end; i += 4) {
      data[i] = data[i]! ^ k0;
      data[i + 1] = data[i + 1]! ^ k1;
      data[i + 2] = data[i + 2]! ^ k2;
      data[i + 3] = data[i + 3]! ^ k3;
    }
  }
  const tail = end - i; // 0..3 bytes, starting at key byte k0
  if (tail > 0) data[i] = data[i]! ^ k0;
  if (tail > 1) data[i + 1] = data[i + 1]! ^ k1;
  if (tail > 2) data[i + 2] = data[i + 2]! ^ k2;
}

/** output[offset + i] = source[i] ^ key[i & 3]. */
export function mask(source: Uint8Array, key: Uint8Array, output: Uint8Array, offset: number, length: number): void {
  if (typeof offset !== 'number' || typeof length !== 'number') throw argTypeError('mask(): offset and length must be numbers');
  const sourceLength = bytesLength(source);
  const keyLength = bytesLength(key);
  const outputLength = bytesLength(output);
  if (sourceLength < 0 || keyLength < 0 || outputLength < 0) {
    throw argTypeError('mask(source, key, output, offset, length): source, key and output must be Uint8Arrays');
  }
  if (keyLength < 4) throw argRangeError('mask(): the key must have 4 bytes');
  if (!isIndex(offset) || !isIndex(length) || offset + length > outputLength || length > sourceLength) {
    throw argRangeError('mask(): offset and length must be integers within source and output');
  }
  const k0 = key[0]!;
  const k1 = key[1]!;
  const k2 = key[2]!;
  const k3 = key[3]!;
  if (length >= WORD_LOOP_MIN && source.buffer !== output.buffer) {
    // Copy, then XOR words in place: xorRange() aligns on the output, so the source's alignment does not matter
    // (a frame's payload starts 2 to 14 bytes into a read; byte by byte, this loop ran at 1.8 GB/s on the 64 KiB echo).
    output.set(source.subarray(0, length), offset);
    xorRange(output, offset, length, k0, k1, k2, k3);
    return;
  }
  let i = 0;
  for (; i + 4 <= length; i += 4) {
    output[offset + i] = source[i]! ^ k0;
    output[offset + i + 1] = source[i + 1]! ^ k1;
    output[offset + i + 2] = source[i + 2]! ^ k2;
    output[offset + i + 3] = source[i + 3]! ^ k3;
  }
  for (; i < length; i++) output[offset + i] = source[i]! ^ key[i & 3]!;
}

export function unmask(buffer: Uint8Array, key: Uint8Array, phase = 0): number {
  if (typeof phase !== 'number') throw argTypeError('unmask(): phase must be a number');
  const length = bytesLength(buffer);
  const keyLength = bytesLength(key);
  if (length < 0 || keyLength < 0) throw argTypeError('unmask(buffer, key, phase): buffer and key must be Uint8Arrays');
  if (keyLength < 4) throw argRangeError('unmask(): the key must have 4 bytes');
  phase &= 3;
  xorRange(buffer, 0, length, key[phase]!, key[(phase + 1) & 3]!, key[(phase + 2) & 3]!, key[(phase + 3) & 3]!);
  return (phase + length) & 3;
}

function isKnownOpcode(opcode: number): boolean {
  return opcode <= 2 || (opcode >= 8 && opcode <= 10);
}

export function scanFrames(chunk: Uint8Array, offset: number, out: Float64Array, flags: number, maxPayload: number): number {
  if (typeof offset !== 'number' || typeof flags !== 'number' || typeof maxPayload !== 'number') {
    throw argTypeError('scanFrames(): offset, flags and maxPayload must be numbers');
  }
  const end = bytesLength(chunk);
  const outLength = float64Length(out);
  if (end < 0 || outLength < 0) {
    throw argTypeError('scanFrames(chunk, offset, out, flags, maxPayload): chunk must be a Uint8Array, out a Float64Array');
  }
  // Without room for a record, a complete frame could never be consumed: the caller would loop on SCAN_FULL.
  if (outLength < OUT_RECORDS + RECORD_SIZE) throw argRangeError('scanFrames(): out must have room for a record (11 doubles)');
  // NaN or at/after the end is fine: nothing to scan.
  if (offset < end && !isIndex(offset)) throw argRangeError('scanFrames(): offset must be a non-negative integer');
  const expectMasked = (flags & SCAN_EXPECT_MASKED) !== 0;
  const allowedRsv = flags & SCAN_RSV_MASK;
  const capacity = Math.floor((outLength - OUT_RECORDS) / RECORD_SIZE);
  out[OUT_CODE] = 0;
  out[OUT_HEADER_LENGTH] = 0;
  out[OUT_PAYLOAD_LENGTH] = 0;
  out[OUT_BITS] = 0;
  out[OUT_MASK_KEY] = 0;
  out[OUT_FAULT] = FAULT_NONE;
  let count = 0;
  let p = offset;

  const stop = (status: number): number => {
    out[OUT_STATUS] = status;
    out[OUT_STOP] = p;
    return count;
  };
  const reject = (fault: number, code = CLOSE_PROTOCOL_ERROR): number => {
    out[OUT_CODE] = code;
    out[OUT_FAULT] = fault;
    return stop(SCAN_ERROR);
  };

  while (p < end) {
    const avail = end - p;
    const b0 = chunk[p]!;
    const opcode = b0 & 0x0f;
    const rsv = b0 & 0x70;
    const control = opcode >= 8;
    // The rules of RFC 6455 §5.2, each as soon as its bytes are here; the C++ scanner (native/scan.h) checks them in this order.
    if (!isKnownOpcode(opcode)) return reject(FAULT_OPCODE);
    const unclaimedRsv = control ? rsv : rsv & ~allowedRsv; // control frames may not carry any
    if (unclaimedRsv !== 0) return reject((unclaimedRsv & 0x40) !== 0 ? FAULT_RSV1 : FAULT_RSV23);
    if (control && (b0 & 0x80) === 0) return reject(FAULT_CONTROL_FIN);
    if (avail < 2) return stop(SCAN_INCOMPLETE);

    const b1 = chunk[p + 1]!;
    const masked = (b1 & 0x80) !== 0;
    const len7 = b1 & 0x7f;
    if (masked !== expectMasked) return reject(masked ? FAULT_MASK_UNEXPECTED : FAULT_MASK_EXPECTED);
    if (control && len7 > 125) return reject(FAULT_CONTROL_LENGTH);

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
      if (high >= 0x80000000) return reject(FAULT_LENGTH_MSB);
      // Above 2^53 a double loses precision, but such a length exceeds any maxPayload anyway.
      length = high >= 0x200000 ? Number.MAX_VALUE : high * 0x100000000 + low;
      headerLength = 10;
    }
    if (length > maxPayload) return reject(FAULT_TOO_BIG, CLOSE_MESSAGE_TOO_BIG);
    if (masked) headerLength += 4;
    if (avail < headerLength) return stop(SCAN_INCOMPLETE);

    const key = masked
      ? ((chunk[p + headerLength - 4]! << 24) | (chunk[p + headerLength - 3]! << 16) | (chunk[p + headerLength - 2]! << 8) | chunk[p + headerLength - 1]!) >>> 0
      : 0;
    if (avail - headerLength < length) {
      out[OUT_HEADER_LENGTH] = headerLength;
      out[OUT_PAYLOAD_LENGTH] = length;
      out[OUT_BITS] = b0;
      out[OUT_MASK_KEY] = key;
      return stop(SCAN_INCOMPLETE);
    }
    if (count === capacity) return stop(SCAN_FULL);

    const payloadStart = p + headerLength;
    if (masked && length > 0) xorRange(chunk, payloadStart, length, key >>> 24, (key >>> 16) & 0xff, (key >>> 8) & 0xff, key & 0xff);
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

export function utf8Step(buffer: Uint8Array, state = 0): number {
  if (typeof state !== 'number') throw argTypeError('utf8Step(): state must be a number');
  const length = bytesLength(buffer);
  if (length < 0) throw argTypeError('utf8Step(buffer, state): buffer must be a Uint8Array');
  state |= 0; // an integer state (ToInt32), as the addon reads it
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

export const reference: Backend = Object.freeze({ name: 'js', mask, unmask, scanFrames, utf8Step });
