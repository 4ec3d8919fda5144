/**
 * The bytes on the wire, written independently of src/ so that an encoder
 * bug there cannot hide a decoder bug (and the reverse): frames (RFC 6455
 * §5.2) built and parsed, close payloads (§5.5.1), accept keys (§4.2.2).
 */
import { createHash, randomBytes } from 'node:crypto';

/** The GUID of RFC 6455 §1.3, appended to the key before hashing. */
export const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
/** The key and accept value of the example in RFC 6455 §1.3. */
export const RFC_KEY = 'dGhlIHNhbXBsZSBub25jZQ==';
export const RFC_ACCEPT = 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=';

/** Sec-WebSocket-Accept for a key, computed here rather than by src/. */
export const acceptFor = (key: string): string =>
  createHash('sha1')
    .update(key + GUID)
    .digest('base64');

export interface FrameSpec {
  opcode: number;
  payload?: Buffer | string;
  fin?: boolean;
  rsv?: number; // 0x40, 0x20, 0x10 bits
  mask?: boolean;
  /** The masking key; a fixed one unless given. */
  key?: ArrayLike<number>;
  /** Force a length encoding: 7, 16 or 64 bits. */
  lengthForm?: 7 | 16 | 64;
}

export function frame(spec: FrameSpec): Buffer {
  const payload = typeof spec.payload === 'string' ? Buffer.from(spec.payload) : (spec.payload ?? Buffer.alloc(0));
  const n = payload.length;
  const form = spec.lengthForm ?? (n < 126 ? 7 : n < 65536 ? 16 : 64);
  const parts: number[] = [((spec.fin ?? true) ? 0x80 : 0) | (spec.rsv ?? 0) | spec.opcode];
  const maskBit = spec.mask ? 0x80 : 0;
  if (form === 7) parts.push(maskBit | n);
  else if (form === 16) parts.push(maskBit | 126, n >> 8, n & 0xff);
  else {
    parts.push(maskBit | 127);
    const big = BigInt(n);
    for (let i = 7; i >= 0; i--) parts.push(Number((big >> BigInt(i * 8)) & 0xffn));
  }
  const key = spec.key ?? [0x37, 0xfa, 0x21, 0x3d];
  if (spec.mask) parts.push(key[0]!, key[1]!, key[2]!, key[3]!);
  const body = Buffer.from(payload);
  if (spec.mask) for (let i = 0; i < n; i++) body[i] = body[i]! ^ key[i & 3]!;
  return Buffer.concat([Buffer.from(parts), body]);
}

/** A client frame: masked (with a fresh random key) unless options.mask is false. */
export function clientFrame(opcode: number, payload: Buffer | string = Buffer.alloc(0), options: { fin?: boolean; rsv?: number; mask?: boolean } = {}): Buffer {
  const mask = options.mask !== false;
  return frame({ opcode, payload, fin: options.fin, rsv: options.rsv, mask, key: mask ? randomBytes(4) : undefined });
}

/** A server frame: unmasked. */
export function serverFrame(opcode: number, payload: Buffer | string = Buffer.alloc(0), fin = true): Buffer {
  return frame({ opcode, payload, fin });
}

/** A masked frame header that claims `length` bytes (a bigint, written as a 64-bit length), without the payload. */
export function claimHeader(opcode: number, length: bigint, fin = true): Buffer {
  const head = Buffer.alloc(14);
  head[0] = (fin ? 0x80 : 0) | opcode;
  head[1] = 0x80 | 127;
  head.writeBigUInt64BE(length, 2);
  head.writeUInt32BE(0x11223344, 10);
  return head;
}

/** A close frame's payload: the code, then the reason in UTF-8. */
export function closeBody(code: number, reason = ''): Buffer {
  const b = Buffer.alloc(2 + Buffer.byteLength(reason));
  b.writeUInt16BE(code, 0);
  b.write(reason, 2);
  return b;
}

/** Code and reason of a close frame payload (1005 when empty). */
export function closePayload(payload: Buffer): { code: number; reason: string } {
  return payload.length >= 2 ? { code: payload.readUInt16BE(0), reason: payload.subarray(2).toString() } : { code: 1005, reason: '' };
}

export interface ParsedFrame {
  fin: boolean;
  rsv1: boolean;
  /** RSV1..3 as a number from 0 to 7. */
  rsv: number;
  opcode: number;
  masked: boolean;
  key: Buffer | null;
  /** Unmasked. */
  payload: Buffer;
}

/** The header of the frame at the start of bytes: its length and the payload's, or null while incomplete. */
function header(bytes: Buffer): { headerLength: number; payloadLength: number } | null {
  if (bytes.length < 2) return null;
  let payloadLength = bytes[1]! & 0x7f;
  let headerLength = 2;
  if (payloadLength === 126) {
    if (bytes.length < 4) return null;
    payloadLength = bytes.readUInt16BE(2);
    headerLength = 4;
  } else if (payloadLength === 127) {
    if (bytes.length < 10) return null;
    payloadLength = Number(bytes.readBigUInt64BE(2));
    headerLength = 10;
  }
  if (bytes[1]! & 0x80) headerLength += 4;
  return { headerLength, payloadLength };
}

function decode(head: Buffer, rawPayload: Buffer): ParsedFrame {
  const masked = (head[1]! & 0x80) !== 0;
  const key = masked ? Buffer.from(head.subarray(head.length - 4)) : null;
  const payload = Buffer.from(rawPayload);
  if (key) for (let i = 0; i < payload.length; i++) payload[i] = payload[i]! ^ key[i & 3]!;
  const b0 = head[0]!;
  return { fin: (b0 & 0x80) !== 0, rsv1: (b0 & 0x40) !== 0, rsv: (b0 >> 4) & 7, opcode: b0 & 0x0f, masked, key, payload };
}

/** Parses whole frames (masked or not); throws on a truncated frame or trailing bytes. */
export function parseFrames(chunks: Buffer | Buffer[]): ParsedFrame[] {
  const bytes = Buffer.isBuffer(chunks) ? chunks : Buffer.concat(chunks);
  const out: ParsedFrame[] = [];
  let p = 0;
  while (p < bytes.length) {
    const h = header(bytes.subarray(p));
    if (!h) break;
    const end = p + h.headerLength + h.payloadLength;
    if (end > bytes.length) throw new Error('truncated frame');
    out.push(decode(bytes.subarray(p, p + h.headerLength), bytes.subarray(p + h.headerLength, end)));
    p = end;
  }
  if (p !== bytes.length) throw new Error('trailing bytes after the last frame');
  return out;
}

/** The close frame's code in a protocol's output, or null when it sent none. */
export function sentCloseCode(output: Buffer[]): number | null {
  const close = parseFrames(output).find((f) => f.opcode === 8);
  if (!close) return null;
  return close.payload.length >= 2 ? close.payload.readUInt16BE(0) : 1005;
}

/**
 * Frames parsed as the bytes arrive, in any split. Chunks are kept as they
 * come and joined once per frame; payloads longer than keepPayloadUpTo are
 * counted but not kept (so a flood does not fill the test's memory).
 */
export class FrameParser {
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** Payload bytes of every frame parsed. */
  payloadBytes = 0;

  constructor(
    private readonly onFrame: (f: ParsedFrame) => void,
    private readonly keepPayloadUpTo = Infinity,
  ) {}

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    for (;;) {
      const h = header(this.peek(Math.min(14, this.buffered)));
      if (!h || this.buffered < h.headerLength + h.payloadLength) return;
      const head = Buffer.from(this.take(h.headerLength));
      const payload = this.take(h.payloadLength);
      this.payloadBytes += h.payloadLength;
      this.onFrame(decode(head, h.payloadLength <= this.keepPayloadUpTo ? payload : Buffer.alloc(0)));
    }
  }

  private peek(n: number): Buffer {
    if (n === 0) return Buffer.alloc(0);
    if (this.chunks[0]!.length >= n) return this.chunks[0]!.subarray(0, n);
    const parts: Buffer[] = [];
    let have = 0;
    for (const c of this.chunks) {
      if (have >= n) break;
      parts.push(c);
      have += c.length;
    }
    return Buffer.concat(parts).subarray(0, n);
  }

  private take(n: number): Buffer {
    this.buffered -= n;
    if (n === 0) return Buffer.alloc(0);
    const first = this.chunks[0]!;
    if (first.length >= n) {
      const out = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
      return out;
    }
    const parts: Buffer[] = [];
    let need = n;
    while (need > 0) {
      const c = this.chunks[0]!;
      if (c.length <= need) {
        parts.push(c);
        this.chunks.shift();
        need -= c.length;
      } else {
        parts.push(c.subarray(0, need));
        this.chunks[0] = c.subarray(need);
        need = 0;
      }
    }
    return Buffer.concat(parts, n);
  }
}
