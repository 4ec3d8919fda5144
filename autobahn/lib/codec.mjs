/**
 * The harness's own minimal RFC 6455 frame codec. It never imports the
 * library under test: a bug there must not be able to hide itself here.
 *
 * Encoding deliberately allows invalid frames (any opcode, RSV bits, FIN on
 * control frames, oversized control payloads), because the fuzzer's job is
 * to send them.
 */
import { randomBytes } from 'node:crypto';

export const OPCODE = Object.freeze({ CONTINUATION: 0, TEXT: 1, BINARY: 2, CLOSE: 8, PING: 9, PONG: 10 });

export const CLOSE = Object.freeze({
  NORMAL: 1000,
  GOING_AWAY: 1001,
  PROTOCOL_ERROR: 1002,
  UNSUPPORTED_DATA: 1003,
  NULL: 1005,
  ABNORMAL: 1006,
  INVALID_PAYLOAD: 1007,
  POLICY_VIOLATION: 1008,
  MESSAGE_TOO_BIG: 1009,
  MANDATORY_EXTENSION: 1010,
  INTERNAL_ERROR: 1011,
});

/** Codes Autobahn's own protocol engine accepts in the 1000-2999 range (anything else there is a violation). */
export const CLOSE_CODES_ALLOWED = Object.freeze([1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011]);

const EMPTY = Buffer.alloc(0);

/** Repeats `payload` until it is `length` bytes long (Autobahn's payload_len). */
export function repeatPayload(payload, length) {
  if (payload.length === 0) throw new Error('cannot repeat an empty payload');
  const out = Buffer.allocUnsafe(length);
  let filled = Math.min(payload.length, length);
  payload.copy(out, 0, 0, filled);
  // Double the filled prefix: log2(length) copies instead of length/payload.length.
  while (filled < length) {
    const n = Math.min(filled, length - filled);
    out.copy(out, filled, 0, n);
    filled += n;
  }
  return out;
}

/** XORs `data` with the 4-byte key in place, starting at key phase `phase`. */
export function applyMask(data, key, phase = 0) {
  const n = data.length;
  let i = 0;
  // Byte loop until the key phase is 0, then 4 bytes at a time.
  for (; i < n && (phase + i) % 4 !== 0; i++) data[i] ^= key[(phase + i) & 3];
  const k0 = key[0],
    k1 = key[1],
    k2 = key[2],
    k3 = key[3];
  const end4 = i + ((n - i) & ~3);
  for (; i < end4; i += 4) {
    data[i] ^= k0;
    data[i + 1] ^= k1;
    data[i + 2] ^= k2;
    data[i + 3] ^= k3;
  }
  for (; i < n; i++) data[i] ^= key[(phase + i) & 3];
  return data;
}

export function randomMask() {
  return randomBytes(4);
}

/**
 * Builds one frame's wire bytes.
 * @param {object} f
 * @param {number} f.opcode any 0-15
 * @param {Buffer} [f.payload]
 * @param {boolean} [f.fin]
 * @param {number} [f.rsv] 0-7 (RSV1 is 4, as Autobahn numbers them)
 * @param {Buffer|null} [f.mask] 4-byte key, or null for an unmasked frame
 * @param {number} [f.payloadLen] repeat payload to this length
 * @returns {{ raw: Buffer, length: number }}
 */
export function encodeFrame({ opcode, payload = EMPTY, fin = true, rsv = 0, mask = null, payloadLen }) {
  const body = payloadLen !== undefined && payloadLen !== null ? repeatPayload(payload, payloadLen) : payload;
  const length = body.length;
  const headerLen = 2 + (length <= 125 ? 0 : length <= 0xffff ? 2 : 8) + (mask ? 4 : 0);
  const raw = Buffer.allocUnsafe(headerLen + length);
  raw[0] = (fin ? 0x80 : 0) | ((rsv & 7) << 4) | (opcode & 0x0f);
  let i = 2;
  if (length <= 125) {
    raw[1] = length;
  } else if (length <= 0xffff) {
    raw[1] = 126;
    raw.writeUInt16BE(length, 2);
    i = 4;
  } else {
    raw[1] = 127;
    raw.writeBigUInt64BE(BigInt(length), 2);
    i = 10;
  }
  if (mask) {
    raw[1] |= 0x80;
    mask.copy(raw, i);
    i += 4;
  }
  body.copy(raw, i);
  if (mask && length > 0) applyMask(raw.subarray(i), mask);
  return { raw, length };
}

/** Header bytes alone, for a frame whose payload is streamed afterwards (beginMessageFrame). */
export function encodeHeader({ opcode, fin = false, rsv = 0, mask = null, length }) {
  const headerLen = 2 + (length <= 125 ? 0 : length <= 0xffff ? 2 : 8) + (mask ? 4 : 0);
  const raw = Buffer.allocUnsafe(headerLen);
  raw[0] = (fin ? 0x80 : 0) | ((rsv & 7) << 4) | (opcode & 0x0f);
  let i = 2;
  if (length <= 125) raw[1] = length;
  else if (length <= 0xffff) {
    raw[1] = 126;
    raw.writeUInt16BE(length, 2);
    i = 4;
  } else {
    raw[1] = 127;
    raw.writeBigUInt64BE(BigInt(length), 2);
    i = 10;
  }
  if (mask) {
    raw[1] |= 0x80;
    mask.copy(raw, i);
  }
  return raw;
}

/** A close frame body: optional code, optional raw reason bytes (not validated: the fuzzer sends bad ones on purpose). */
export function closePayload(code, reason) {
  const parts = [];
  if (code !== null && code !== undefined) {
    const c = Buffer.allocUnsafe(2);
    c.writeUInt16BE(code & 0xffff);
    parts.push(c);
  }
  if (reason !== null && reason !== undefined) parts.push(Buffer.isBuffer(reason) ? reason : Buffer.from(reason, 'utf8'));
  return Buffer.concat(parts);
}

/**
 * A FIFO of received chunks that hands out exact byte counts without
 * concatenating everything (a 16 MiB echo arrives in hundreds of chunks).
 */
export class ByteQueue {
  constructor() {
    this.chunks = [];
    this.length = 0;
  }

  push(chunk) {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.length += chunk.length;
  }

  /** Copies the first n bytes without consuming them (n is small: headers). */
  peek(n) {
    if (this.chunks.length > 0 && this.chunks[0].length >= n) return this.chunks[0].subarray(0, n);
    const out = Buffer.allocUnsafe(n);
    let off = 0;
    for (const c of this.chunks) {
      const take = Math.min(c.length, n - off);
      c.copy(out, off, 0, take);
      off += take;
      if (off === n) break;
    }
    return out;
  }

  /** Removes and returns up to n bytes as a list of buffers. */
  take(n) {
    const out = [];
    while (n > 0 && this.chunks.length > 0) {
      const c = this.chunks[0];
      if (c.length <= n) {
        out.push(c);
        this.chunks.shift();
        n -= c.length;
        this.length -= c.length;
      } else {
        out.push(c.subarray(0, n));
        this.chunks[0] = c.subarray(n);
        this.length -= n;
        n = 0;
      }
    }
    return out;
  }

  /** Removes and returns everything left. */
  drain() {
    const out = this.chunks;
    this.chunks = [];
    this.length = 0;
    return out;
  }
}
