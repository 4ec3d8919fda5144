/**
 * Test helpers. The frame builder is written independently of src/ so that an
 * encoder bug cannot hide a decoder bug.
 */
import { Protocol, type ProtocolOptions, type Role } from '../src/core/index.js';
import type { WsboltError } from '../src/core/errors.js';

export interface FrameSpec {
  opcode: number;
  payload?: Buffer | string;
  fin?: boolean;
  rsv?: number; // 0x40, 0x20, 0x10 bits
  mask?: boolean;
  key?: number[];
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
  if (spec.mask) parts.push(...key);
  const body = Buffer.from(payload);
  if (spec.mask) for (let i = 0; i < n; i++) body[i] = body[i]! ^ key[i & 3]!;
  return Buffer.concat([Buffer.from(parts), body]);
}

export type Event =
  | { type: 'message'; data: string; binary: boolean }
  | { type: 'ping'; data: string }
  | { type: 'pong'; data: string }
  | { type: 'close'; code: number; reason: string }
  | { type: 'error'; code: string; closeCode: number | undefined };

/** A protocol wired to a recorder of its events (payloads as hex, so every byte is compared). */
export function recorder(role: Role, options: Partial<ProtocolOptions> = {}) {
  const events: Event[] = [];
  const protocol = new Protocol(
    { role, ...options },
    {
      onMessage: (data, binary) => events.push({ type: 'message', data: data.toString('hex'), binary }),
      onPing: (data) => events.push({ type: 'ping', data: data.toString('hex') }),
      onPong: (data) => events.push({ type: 'pong', data: data.toString('hex') }),
      onCloseFrame: (code, reason) => events.push({ type: 'close', code, reason }),
      onProtocolError: (error: WsboltError) => events.push({ type: 'error', code: String(error.code), closeCode: error.closeCode }),
    },
  );
  return { protocol, events };
}

/** Feeds bytes split at the given offsets (each piece a fresh copy, as a socket would deliver). */
export function feed(protocol: Protocol, bytes: Buffer, splits: number[] = []): void {
  let last = 0;
  for (const at of [...splits, bytes.length]) {
    if (at > last) protocol.receive(Buffer.from(bytes.subarray(last, at)));
    last = Math.max(last, at);
  }
}

export interface ParsedFrame {
  fin: boolean;
  rsv1: boolean;
  rsv: number;
  opcode: number;
  masked: boolean;
  payload: Buffer;
}

/** Parses whole frames (masked or not) from bytes a protocol produced; written independently of src/. */
export function parseFrames(chunks: Buffer | Buffer[]): ParsedFrame[] {
  const bytes = Buffer.isBuffer(chunks) ? chunks : Buffer.concat(chunks);
  const out: ParsedFrame[] = [];
  let p = 0;
  while (p + 2 <= bytes.length) {
    const b0 = bytes[p]!;
    const b1 = bytes[p + 1]!;
    let len = b1 & 0x7f;
    let hl = 2;
    if (len === 126) {
      len = bytes.readUInt16BE(p + 2);
      hl = 4;
    } else if (len === 127) {
      len = Number(bytes.readBigUInt64BE(p + 2));
      hl = 10;
    }
    const masked = (b1 & 0x80) !== 0;
    const keyAt = p + hl;
    if (masked) hl += 4;
    if (p + hl + len > bytes.length) throw new Error('truncated frame');
    const payload = Buffer.from(bytes.subarray(p + hl, p + hl + len));
    if (masked) for (let i = 0; i < len; i++) payload[i] = payload[i]! ^ bytes[keyAt + (i & 3)]!;
    out.push({ fin: (b0 & 0x80) !== 0, rsv1: (b0 & 0x40) !== 0, rsv: (b0 >> 4) & 7, opcode: b0 & 0x0f, masked, payload });
    p += hl + len;
  }
  if (p !== bytes.length) throw new Error('trailing bytes after the last frame');
  return out;
}

/** The close frame's code as sent by the protocol (from its output), or null. */
export function sentCloseCode(output: Buffer[]): number | null {
  const close = parseFrames(output).find((f) => f.opcode === 8);
  if (!close) return null;
  return close.payload.length >= 2 ? close.payload.readUInt16BE(0) : 1005;
}

/** A small deterministic PRNG (xorshift32) so failures can be replayed from the seed. */
export function rng(seed: number) {
  let s = seed >>> 0 || 1;
  const next = () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
  return {
    next,
    int: (n: number) => next() % n,
    chance: (p: number) => next() / 0x100000000 < p,
    bytes: (n: number) => {
      const b = Buffer.allocUnsafe(n);
      for (let i = 0; i < n; i++) b[i] = next() & 0xff;
      return b;
    },
  };
}
