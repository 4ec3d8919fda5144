/**
 * Fuzz engine for the sans-I/O core (src/core/protocol.ts), shared by the
 * short run in `npm test` (test/fuzz/core.fuzz.test.ts, on src/) and the long
 * run `npm run fuzz` (scripts/fuzz/core-fuzz.mjs, on the built dist/).
 * Plain JavaScript so that both can load it; the modules under test are passed
 * in, never imported here. Frames are built and parsed by code written here,
 * independently of src/.
 *
 * One case = one byte stream (a generated frame sequence, mutated or not, or
 * random bytes), a random configuration and a random chunking. The stream is
 * fed to fresh Protocol instances on every backend available (the TypeScript
 * fallback, the raw addon, the addon behind its size thresholds), and on the
 * fallback once more with another chunking. Checked:
 *   - receive() never throws;
 *   - bufferedInput <= maxPayload + 14 + 125 after every chunk (a message, a header, and a control
 *     frame arriving between its fragments);
 *   - every failure sends exactly one close frame, last, with 1002, 1007 or
 *     1009, the code the error carries; a peer's close is echoed (its code, or
 *     an empty payload for none); no close frame otherwise (unless the handler
 *     closed); nothing is reported after the close or the failure;
 *   - pongs echo the pings in order; output frames are well formed and masked
 *     exactly in the client role;
 *   - text messages are valid UTF-8, messages are at most maxPayload bytes;
 *   - all backends and chunkings give the same events and the same output;
 *   - for an unmutated sequence, the events and the output are exactly those
 *     of a model of RFC 6455/7692 (limits, fragmentation, UTF-8, close).
 */
/** Beyond maxPayload a reader may hold one header (14 bytes) and one control frame (125) that arrives between fragments. */
export const BUFFERED_SLACK = 14 + 125;
import { createHash } from 'node:crypto';
import { constants as zlibConstants, deflateRawSync } from 'node:zlib';

// ---- randomness -------------------------------------------------------------

/** xorshift32, seeded: a case is replayed from its seed alone. */
export function rng(seed) {
  // Scramble the seed (murmur3 finalizer) so that neighbouring seeds start far apart.
  let s = seed >>> 0;
  s = Math.imul(s ^ (s >>> 16), 0x85ebca6b) >>> 0;
  s = Math.imul(s ^ (s >>> 13), 0xc2b2ae35) >>> 0;
  s = (s ^ (s >>> 16)) >>> 0 || 0x9e3779b9;
  const next = () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
  const r = {
    next,
    int: (n) => (n <= 0 ? 0 : next() % n),
    chance: (p) => next() / 0x100000000 < p,
    pick: (list) => list[next() % list.length],
    bytes: (n) => {
      const b = Buffer.allocUnsafe(n);
      let i = 0;
      for (; i + 4 <= n; i += 4) b.writeUInt32LE(next(), i);
      for (; i < n; i++) b[i] = next() & 0xff;
      return b;
    },
  };
  return r;
}

// ---- frames -----------------------------------------------------------------

/** Builds one frame. `claim` (bigint) overrides the length field; `form` forces 7, 16 or 64 bits. */
export function buildFrame({ opcode, payload = EMPTY, fin = true, rsv = 0, mask = false, key = [0, 0, 0, 0], form, claim }) {
  const n = payload.length;
  const big = claim ?? null;
  const f = form ?? (big !== null ? (big < 126n ? 7 : big < 65536n ? 16 : 64) : n < 126 ? 7 : n < 65536 ? 16 : 64);
  const hl = (f === 7 ? 2 : f === 16 ? 4 : 10) + (mask ? 4 : 0);
  const out = Buffer.allocUnsafe(hl + n);
  out[0] = (fin ? 0x80 : 0) | rsv | opcode;
  const m = mask ? 0x80 : 0;
  if (f === 7) out[1] = m | (big !== null ? Number(big & 0x7fn) : n);
  else if (f === 16) {
    out[1] = m | 126;
    out.writeUInt16BE(big !== null ? Number(big & 0xffffn) : n, 2);
  } else {
    out[1] = m | 127;
    out.writeBigUInt64BE(big !== null ? big & 0xffffffffffffffffn : BigInt(n), 2);
  }
  const at = hl;
  if (mask) {
    out[hl - 4] = key[0];
    out[hl - 3] = key[1];
    out[hl - 2] = key[2];
    out[hl - 1] = key[3];
  }
  out.set(payload, at);
  if (mask && n > 0) xorKey(out, at, n, key);
  return { bytes: out, headerLength: hl };
}

/** data[at + i] ^= key[i & 3]: whole words through an aligned copy, then the tail. */
function xorKey(data, at, n, key) {
  const words = n >>> 2;
  if (words > 16) {
    const tmp = new Uint8Array(words * 4);
    tmp.set(data.subarray(at, at + words * 4));
    const view = new Uint32Array(tmp.buffer);
    const k = new Uint32Array(new Uint8Array(key).buffer)[0];
    for (let w = 0; w < words; w++) view[w] ^= k;
    data.set(tmp, at);
  } else {
    for (let i = 0; i < words * 4; i++) data[at + i] ^= key[i & 3];
  }
  for (let i = words * 4; i < n; i++) data[at + i] ^= key[i & 3];
}

/**
 * Parses frames (the protocol's output). Returns the frames, or a string
 * saying what is malformed. Output is never truncated, so a partial frame
 * at the end is malformed too.
 */
export function parseFrames(bytes) {
  const frames = [];
  let p = 0;
  while (p < bytes.length) {
    if (bytes.length - p < 2) return `a frame header cut short at ${p}`;
    const b0 = bytes[p];
    const b1 = bytes[p + 1];
    let length = b1 & 0x7f;
    let hl = 2;
    if (length === 126) {
      if (bytes.length - p < 4) return `a 16-bit length cut short at ${p}`;
      length = bytes.readUInt16BE(p + 2);
      hl = 4;
      if (length < 126) return `a non-minimal 16-bit length at ${p}`;
    } else if (length === 127) {
      if (bytes.length - p < 10) return `a 64-bit length cut short at ${p}`;
      const big = bytes.readBigUInt64BE(p + 2);
      if (big >= 2n ** 63n) return `a 64-bit length with the top bit set at ${p}`;
      if (big < 65536n) return `a non-minimal 64-bit length at ${p}`;
      length = Number(big);
      hl = 10;
    }
    const masked = (b1 & 0x80) !== 0;
    const keyAt = p + hl;
    if (masked) hl += 4;
    if (bytes.length - p < hl + length) return `a frame payload cut short at ${p}`;
    const payload = Buffer.from(bytes.subarray(p + hl, p + hl + length));
    if (masked && length > 0) xorKey(payload, 0, length, [bytes[keyAt], bytes[keyAt + 1], bytes[keyAt + 2], bytes[keyAt + 3]]);
    frames.push({ fin: (b0 & 0x80) !== 0, rsv: b0 & 0x70, opcode: b0 & 0x0f, masked, payload });
    p += hl + length;
  }
  return frames;
}

const EMPTY = Buffer.alloc(0);

/** Short payloads verbatim, long ones by length and digest. */
export function show(data) {
  return data.length <= 48 ? data.toString('hex') : `${data.length}#${createHash('sha1').update(data).digest('hex').slice(0, 20)}`;
}

// ---- UTF-8 reference (WHATWG decoder: rejects at the first bad byte) ----------

/** 'valid' | 'incomplete' | 'invalid' for the concatenation of parts, and the index of the part where it turned invalid. */
function utf8Verdicts(parts) {
  const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  const verdicts = [];
  let broken = false;
  for (const part of parts) {
    if (broken) {
      verdicts.push('invalid');
      continue;
    }
    try {
      decoder.decode(part, { stream: true });
      verdicts.push('ok');
    } catch {
      broken = true;
      verdicts.push('invalid');
    }
  }
  let complete = !broken;
  if (!broken) {
    try {
      decoder.decode();
    } catch {
      complete = false;
    }
  }
  return { verdicts, complete };
}

const isUtf8 = (b) => {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(b);
    return true;
  } catch {
    return false;
  }
};

// ---- generation ---------------------------------------------------------------

const TEXTS = ['', 'a', 'Hello', 'κόσμε', '€', '𝄞 music', 'ascii only ascii only ascii only', '\u{10FFFF}', 'é'.repeat(40), '日本語テキスト'];
const BAD_UTF8 = [
  [0xc0, 0xaf],
  [0xed, 0xa0, 0x80],
  [0xf4, 0x90, 0x80, 0x80],
  [0xff],
  [0x80],
  [0xe0, 0x80, 0x80],
  [0xf8, 0x88, 0x80, 0x80, 0x80],
  [0xce, 0xba, 0xe1], // cut short (only invalid at the end of the message)
];
const VALID_CLOSE = [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999];
const INVALID_CLOSE = [0, 999, 1004, 1005, 1006, 1015, 1016, 2000, 2999, 5000, 65535];

function payloadSize(r, maxPayload) {
  const c = r.int(100);
  if (c < 55) return r.int(24);
  if (c < 80) return r.int(300);
  if (c < 85) return r.pick([125, 126, 127, 0, 1]);
  if (c < 87) return r.pick([65535, 65536, 2000, 4096, 1023, 1024]);
  if (c < 95 && maxPayload <= 70000) return Math.max(0, maxPayload + r.int(3) - 1); // around the limit
  return 1000 + r.int(8000);
}

function textPayload(r, size) {
  const parts = [];
  let have = 0;
  while (have < size) {
    const t = Buffer.from(r.pick(TEXTS) || 'x');
    parts.push(t);
    have += t.length;
  }
  const b = Buffer.concat(parts, have);
  // Cutting may split a code point: fine inside a fragmented message, invalid at its end.
  return r.chance(0.5) ? b.subarray(0, size) : b;
}

/** Splits bytes into n parts at random points (parts may be empty). */
function splitInto(r, bytes, n) {
  const cuts = Array.from({ length: n - 1 }, () => r.int(bytes.length + 1)).sort((a, b) => a - b);
  const parts = [];
  let last = 0;
  for (const c of [...cuts, bytes.length]) {
    parts.push(bytes.subarray(last, c));
    last = c;
  }
  return parts;
}

const bombCache = new Map();
function compress(data) {
  const out = deflateRawSync(data, { finishFlush: zlibConstants.Z_SYNC_FLUSH });
  const e = out.length - 4;
  return e >= 0 && out[e] === 0 && out[e + 1] === 0 && out[e + 2] === 0xff && out[e + 3] === 0xff ? out.subarray(0, e) : out;
}
function bomb(size) {
  let b = bombCache.get(size);
  if (!b) {
    b = compress(Buffer.alloc(size, 0x61));
    if (bombCache.size > 64) bombCache.clear();
    bombCache.set(size, b);
  }
  return b;
}

/**
 * A frame sequence, as logical items: data messages (possibly fragmented,
 * possibly compressed, with control frames between fragments) and control
 * frames. Returns the frames to emit, each with what the model needs.
 */
function generateItems(r, cfg) {
  const items = [];
  const count = 1 + r.int(r.chance(0.1) ? 40 : 6);
  for (let i = 0; i < count; i++) {
    const k = r.int(100);
    if (k < 55) {
      const binary = r.chance(0.4);
      const size = payloadSize(r, cfg.maxPayload);
      let data = binary ? r.bytes(size) : textPayload(r, size);
      if (!binary && r.chance(0.08)) {
        // Invalid UTF-8 somewhere in the message.
        const bad = Buffer.from(r.pick(BAD_UTF8));
        const at = r.int(data.length + 1);
        data = Buffer.concat([data.subarray(0, at), bad, data.subarray(at)]);
      }
      let compressed = false;
      let wire = data;
      if (cfg.deflate && r.chance(0.5)) {
        compressed = true;
        if (r.chance(0.08)) {
          // A compression bomb: far more inflated bytes than maxPayload (or just around it).
          const target = r.chance(0.7) ? cfg.maxPayload + 1 + r.int(Math.max(1, cfg.maxPayload)) : Math.max(0, cfg.maxPayload - r.int(3));
          data = Buffer.alloc(Math.min(target, 20 * 1024 * 1024), 0x61);
          wire = bomb(data.length);
        } else {
          wire = compress(data);
        }
      }
      const nFrames = r.chance(0.6) ? 1 : r.chance(0.85) ? 2 + r.int(4) : Math.min(1 + r.int(3000), 1 + wire.length + r.int(50));
      const parts = splitInto(r, wire, nFrames);
      const frames = [];
      parts.forEach((part, j) => {
        frames.push({ opcode: j === 0 ? (binary ? 2 : 1) : 0, payload: part, fin: j === parts.length - 1, rsv: compressed && j === 0 ? 0x40 : 0 });
        if (j < parts.length - 1 && r.chance(0.15)) frames.push(controlFrame(r, true));
      });
      items.push({ kind: 'message', binary, data, compressed, frames });
    } else if (k < 90) {
      items.push({ kind: 'control', frames: [controlFrame(r, false)] });
    } else {
      items.push({ kind: 'control', frames: [closeFrame(r)] });
      if (r.chance(0.5)) break;
    }
  }
  return items;
}

function controlFrame(r, between) {
  const payload = r.chance(0.3) ? EMPTY : r.bytes(r.chance(0.1) ? 125 : r.int(30));
  if (between && r.chance(0.05)) return closeFrame(r);
  return { opcode: r.chance(0.6) ? 9 : 10, payload, fin: true, rsv: 0 };
}

function closeFrame(r) {
  const c = r.int(100);
  let payload;
  if (c < 15) payload = EMPTY;
  else if (c < 20)
    payload = Buffer.from([r.int(256)]); // 1 byte: invalid
  else {
    const code = c < 28 ? r.pick(INVALID_CLOSE) : r.pick(VALID_CLOSE);
    let reason = Buffer.from(r.pick(['', 'bye', 'going away', 'κόσμε', 'x'.repeat(123)]));
    if (c >= 95) reason = Buffer.from(r.pick(BAD_UTF8));
    payload = Buffer.concat([Buffer.from([code >> 8, code & 0xff]), reason]).subarray(0, 125);
  }
  return { opcode: 8, payload, fin: true, rsv: 0 };
}

/** Serializes the items; records where every frame starts (for mutations). */
function serialize(r, items, masked) {
  const chunks = [];
  const marks = [];
  let at = 0;
  for (const item of items) {
    for (const f of item.frames) {
      const key = [r.int(256), r.int(256), r.int(256), r.int(256)];
      const n = f.payload.length;
      // Non-minimal length encodings (accepted by wsbolt) on data frames only: a control frame's must be 7 bits (§5.5).
      const form = f.opcode >= 8 ? undefined : r.chance(0.05) ? 64 : r.chance(0.05) && n < 65536 ? 16 : undefined;
      const { bytes, headerLength } = buildFrame({ ...f, mask: masked, key, form });
      marks.push({ start: at, headerLength, payloadLength: n, masked, frame: f });
      chunks.push(bytes);
      at += bytes.length;
    }
  }
  return { bytes: Buffer.concat(chunks), marks };
}

// ---- the model (unmutated sequences) ---------------------------------------------

const LOGICAL_ERROR = (code, closeCode) => `error:${code}:${closeCode}`;

/**
 * The events and output bytes an unmutated sequence must produce, following
 * RFC 6455 (§5.4 fragmentation, §5.5 control frames, §7.4 close codes, §8.1
 * UTF-8) and RFC 7692, with wsbolt's limits: maxPayload per message (and per
 * frame, checked in the header) and maxFragments frames per message.
 */
function model(items, cfg) {
  const log = [];
  const out = [];
  let outKey = 0;
  const emit = (opcode, payload) => {
    const mask = cfg.role === 'client';
    const key = [outKey & 0xff, 0x5a, 0xa5, 0x3c];
    if (mask) outKey++;
    out.push(buildFrame({ opcode, payload, mask, key }).bytes);
  };
  const fail = (code, closeCode) => {
    log.push(LOGICAL_ERROR(code, closeCode));
    emit(8, Buffer.from([closeCode >> 8, closeCode & 0xff]));
  };
  let open = null; // { opcode, fragments, declared, compressed, parts }
  const frames = items.flatMap((item) => item.frames);
  for (const f of frames) {
    if (f.payload.length > cfg.maxPayload) return finish(fail('WS_ERR_UNSUPPORTED_MESSAGE_LENGTH', 1009));
    if (f.opcode === 9) {
      if (cfg.autoPong) emit(10, f.payload);
      log.push(`ping:${show(f.payload)}`);
      continue;
    }
    if (f.opcode === 10) {
      log.push(`pong:${show(f.payload)}`);
      continue;
    }
    if (f.opcode === 8) {
      const p = f.payload;
      if (p.length === 1) return finish(fail('WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH', 1002));
      if (p.length === 0) {
        log.push('close:1005:');
        emit(8, EMPTY);
        return finish();
      }
      const code = p.readUInt16BE(0);
      if (!VALID_CLOSE.includes(code)) return finish(fail('WS_ERR_INVALID_CLOSE_CODE', 1002));
      if (!isUtf8(p.subarray(2))) return finish(fail('WS_ERR_INVALID_UTF8', 1007));
      log.push(`close:${code}:${p.subarray(2).toString()}`);
      // §5.5.1: the echo carries the code; whether the reason goes back too is the implementation's choice.
      const echoAt = out.length;
      emit(8, p.subarray(0, 2));
      if (p.length > 2) {
        const codeOnly = finish();
        out[echoAt] = buildFrame({
          opcode: 8,
          payload: p,
          mask: cfg.role === 'client',
          key: [(outKey - (cfg.role === 'client' ? 1 : 0)) & 0xff, 0x5a, 0xa5, 0x3c],
        }).bytes;
        const withReason = [...codeOnly.slice(0, -1), `out:${show(Buffer.concat(out))}`];
        codeOnly.alternative = withReason;
        return codeOnly;
      }
      return finish();
    }
    // Data frames (§5.4).
    if (f.opcode === 0 && open === null) return finish(fail('WS_ERR_INVALID_OPCODE', 1002));
    if (f.opcode !== 0 && open !== null) return finish(fail('WS_ERR_INVALID_OPCODE', 1002));
    const declared = (open?.declared ?? 0) + f.payload.length;
    if (declared > cfg.maxPayload) return finish(fail('WS_ERR_UNSUPPORTED_MESSAGE_LENGTH', 1009));
    if ((open?.fragments ?? 0) + 1 > cfg.maxFragments) return finish(fail('WS_ERR_TOO_MANY_FRAGMENTS', 1009));
    if (open === null) open = { opcode: f.opcode, fragments: 0, declared: 0, compressed: cfg.deflate && (f.rsv & 0x40) !== 0, parts: [], item: f.item };
    open.fragments++;
    open.declared = declared;
    open.parts.push(f.payload);
    if (open.opcode === 1 && !open.compressed) {
      const { verdicts, complete } = utf8Verdicts(open.parts);
      if (verdicts[verdicts.length - 1] === 'invalid') return finish(fail('WS_ERR_INVALID_UTF8', 1007));
      if (f.fin && !complete) return finish(fail('WS_ERR_INVALID_UTF8', 1007));
    }
    if (!f.fin) continue;
    let data = Buffer.concat(open.parts);
    const binary = open.opcode === 2;
    if (open.compressed) {
      const original = open.item.data;
      if (original.length > cfg.maxPayload) return finish(fail('WS_ERR_UNSUPPORTED_MESSAGE_LENGTH', 1009));
      data = original;
      if (!binary && !isUtf8(data)) return finish(fail('WS_ERR_INVALID_UTF8', 1007));
    }
    log.push(`m${binary ? 'b' : 't'}:${show(data)}`);
    open = null;
  }
  return finish();

  function finish() {
    log.push(`out:${show(Buffer.concat(out))}`);
    return log;
  }
}

// ---- mutation ------------------------------------------------------------------

const EDGE_LENGTHS = [
  0n,
  1n,
  124n,
  125n,
  126n,
  127n,
  65535n,
  65536n,
  65537n,
  2n ** 31n - 1n,
  2n ** 31n,
  2n ** 32n - 1n,
  2n ** 32n,
  2n ** 53n - 1n,
  2n ** 53n,
  2n ** 53n + 1n,
  2n ** 63n - 1n,
  2n ** 63n,
  2n ** 64n - 1n,
];
const INTERESTING_BYTES = [0x00, 0x01, 0x7d, 0x7e, 0x7f, 0x80, 0x81, 0x88, 0x89, 0x8a, 0xc1, 0xff, 0x40, 0x70, 0x0f, 0x08];

function mutate(r, bytes, marks, cfg) {
  let b = Buffer.from(bytes);
  const ops = 1 + r.int(3);
  const applied = [];
  for (let i = 0; i < ops; i++) {
    const op = r.int(12);
    applied.push(op);
    const at = r.int(b.length + 1);
    if (op === 0 && b.length > 0) {
      for (let k = 1 + r.int(4); k > 0; k--) b[r.int(b.length)] ^= 1 << r.int(8);
    } else if (op === 1 && b.length > 0) {
      b[r.int(b.length)] = r.chance(0.5) ? r.pick(INTERESTING_BYTES) : r.int(256);
    } else if (op === 2) {
      b = b.subarray(0, at); // truncation
    } else if (op === 3) {
      // Splice: bytes of another valid sequence in the middle.
      const other = serialize(r, generateItems(r, cfg), r.chance(0.9) ? cfg.role === 'server' : cfg.role !== 'server').bytes;
      const from = r.int(other.length + 1);
      b = Buffer.concat([b.subarray(0, at), other.subarray(from, from + r.int(other.length - from + 1)), b.subarray(at + r.int(20))]);
    } else if (op === 4 && b.length > 0) {
      // Duplicate a range (a repeated frame or half of one).
      const len = 1 + r.int(Math.min(b.length - Math.min(at, b.length - 1), 200));
      const from = Math.min(at, b.length - 1);
      b = Buffer.concat([b.subarray(0, from + len), b.subarray(from, from + len), b.subarray(from + len)]);
    } else if (op === 5 && b.length > 0) {
      b = Buffer.concat([b.subarray(0, at), b.subarray(at + 1 + r.int(20))]);
    } else if ((op === 6 || op === 7) && marks.length > 0) {
      // Rewrite a frame's length field to an edge value, keeping its payload bytes.
      const m = r.pick(marks);
      if (m.start >= b.length) continue;
      const edges = [
        ...EDGE_LENGTHS,
        BigInt(cfg.maxPayload) - 1n,
        BigInt(cfg.maxPayload),
        BigInt(cfg.maxPayload) + 1n,
        BigInt(m.payloadLength) + 1n,
        BigInt(Math.max(0, m.payloadLength - 1)),
      ];
      let claim = r.pick(edges);
      if (claim < 0n) claim = 0n;
      const form = claim >= 65536n ? 64 : claim >= 126n ? (r.chance(0.8) ? 16 : 64) : r.pick([7, 7, 16, 64]);
      const head = buildFrame({ opcode: m.frame.opcode, fin: m.frame.fin, rsv: m.frame.rsv, mask: m.masked, key: [1, 2, 3, 4], claim, form });
      const header = head.bytes.subarray(0, head.headerLength);
      const payloadAt = m.start + m.headerLength;
      b = Buffer.concat([b.subarray(0, m.start), header, b.subarray(payloadAt)]);
    } else if (op === 8 && marks.length > 0) {
      const m = r.pick(marks);
      if (m.start + 1 < b.length) b[m.start + 1] ^= 0x80; // toggle the mask bit (the layout shifts by 4)
    } else if (op === 9 && marks.length > 0) {
      const m = r.pick(marks);
      if (m.start < b.length) b[m.start] = (b[m.start] & 0xf0) | r.int(16); // another opcode
      if (m.start < b.length && r.chance(0.3)) b[m.start] ^= r.pick([0x80, 0x40, 0x20, 0x10]);
    } else if (op === 10) {
      // A raw header with an edge length, with or without its payload.
      const claim = r.pick(EDGE_LENGTHS);
      const opcode = r.pick([0, 1, 2, 8, 9, 10, 3]);
      const head = buildFrame({ opcode, fin: r.chance(0.8), mask: cfg.role === 'server', key: [9, 8, 7, 6], claim, form: claim >= 65536n ? 64 : undefined });
      const header = head.bytes.subarray(0, head.headerLength);
      const tail = claim < 300n && r.chance(0.5) ? r.bytes(Number(claim)) : EMPTY;
      b = Buffer.concat([b.subarray(0, at), header, tail, b.subarray(at)]);
    } else {
      b = Buffer.concat([b.subarray(0, at), r.bytes(1 + r.int(16)), b.subarray(at)]);
    }
  }
  return { bytes: b, applied };
}

// ---- chunking -------------------------------------------------------------------

function chunking(r, length, marks) {
  const mode = r.int(10);
  if (length === 0 || mode === 0) return [];
  if (mode === 1 && length <= 400) return Array.from({ length: length - 1 }, (_, i) => i + 1); // byte by byte
  if (mode === 2) {
    const step = 1 + r.int(20);
    const cuts = [];
    for (let i = step; i < length && cuts.length < 5000; i += step) cuts.push(i);
    return cuts;
  }
  if (mode === 3 && marks.length > 0) {
    // Around frame boundaries and inside headers.
    const cuts = new Set();
    for (const m of marks)
      for (const d of [-1, 0, 1, 2, m.headerLength - 1, m.headerLength]) if (m.start + d > 0 && m.start + d < length) cuts.add(m.start + d);
    return [...cuts].sort((a, b) => a - b);
  }
  const n = 1 + r.int(8);
  return [...new Set(Array.from({ length: n }, () => 1 + r.int(length - 1 || 1)))].filter((c) => c < length).sort((a, b) => a - b);
}

// ---- running ----------------------------------------------------------------------

/**
 * Feeds bytes (split at cuts) to a fresh Protocol on one backend, with the
 * case's handler actions. Returns its log (events, then the output) and the
 * problems seen on the way.
 */
function runOnce(mods, backend, bytes, cuts, cfg, actions) {
  const { Protocol, PerMessageDeflate } = mods;
  const log = [];
  const problems = [];
  let keyCounter = 0;
  let terminal = null; // 'error' | 'close'
  let localClose = false;
  let maxBuffered = 0;
  let protocol;
  let events = 0;
  const pings = [];
  const deflate = cfg.deflate ? new PerMessageDeflate(DEFLATE_PARAMS, cfg.role) : null;
  const after = () => {
    events++;
    const action = actions.get(events);
    if (!action) return;
    if (action === 'close') {
      if (!protocol.closeSent && protocol.state !== 3) {
        protocol.close(1000, 'handler');
        localClose = true;
      }
    } else if (action === 'send') {
      if (!protocol.closeSent && protocol.state !== 3) protocol.send(Buffer.from('echo'), true);
    } else if (action === 'ping') {
      if (!protocol.closeSent && protocol.state !== 3) protocol.ping('p');
    } else if (action === 'nest') {
      // A re-entrant scan on another connection while this one's records are still in use.
      const nested = runNested(mods, backend, cfg);
      if (nested) problems.push(`nested run: ${nested}`);
    }
  };
  const note = (line) => {
    if (terminal) problems.push(`event after the connection ended (${terminal}): ${line}`);
    log.push(line);
  };
  protocol = new Protocol(
    {
      role: cfg.role,
      backend,
      maxPayload: cfg.maxPayload,
      maxFragments: cfg.maxFragments,
      autoPong: cfg.autoPong,
      skipUtf8Validation: cfg.skipUtf8Validation,
      rsvMask: cfg.rsvMask,
      deflate,
      maskKey: (t, o) => t.set([keyCounter++ & 0xff, 0x5a, 0xa5, 0x3c], o),
    },
    {
      onMessage: (d, binary) => {
        if (d.length > cfg.maxPayload) problems.push(`a message of ${d.length} bytes over maxPayload ${cfg.maxPayload}`);
        if (!binary && !cfg.skipUtf8Validation && !isUtf8(d)) problems.push('a text message that is not valid UTF-8');
        note(`m${binary ? 'b' : 't'}:${show(d)}`);
        after();
      },
      onPing: (d) => {
        if (!protocol.closeSent || !cfg.autoPong) pings.push(Buffer.from(d));
        note(`ping:${show(d)}`);
        after();
      },
      onPong: (d) => {
        note(`pong:${show(d)}`);
        after();
      },
      onCloseFrame: (code, reason) => {
        note(`close:${code}:${reason}`);
        terminal = 'close';
      },
      onProtocolError: (e) => {
        note(LOGICAL_ERROR(e.code, e.closeCode));
        if (![1002, 1007, 1009].includes(e.closeCode)) problems.push(`a failure with close code ${e.closeCode} (${e.code})`);
        terminal = 'error';
      },
    },
  );
  let last = 0;
  for (const at of [...cuts, bytes.length]) {
    if (at > last) {
      try {
        protocol.receive(Buffer.from(bytes.subarray(last, at)));
      } catch (error) {
        problems.push(`receive() threw: ${error && error.stack ? error.stack.split('\n').slice(0, 4).join(' | ') : error}`);
        break;
      }
      const buffered = protocol.bufferedInput;
      if (buffered > maxBuffered) maxBuffered = buffered;
    }
    last = Math.max(last, at);
  }
  if (maxBuffered > cfg.maxPayload + BUFFERED_SLACK)
    problems.push(`bufferedInput reached ${maxBuffered} > maxPayload + ${BUFFERED_SLACK} = ${cfg.maxPayload + BUFFERED_SLACK}`);
  const output = Buffer.concat(protocol.dataToSend());
  log.push(`out:${show(output)}`);
  checkOutput(output, cfg, log, pings, localClose, problems);
  return { log, problems, maxBuffered };
}

const DEFLATE_PARAMS = { serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 15, clientMaxWindowBits: 15 };

function checkOutput(output, cfg, log, pings, localClose, problems) {
  const frames = parseFrames(output);
  if (typeof frames === 'string') {
    problems.push(`malformed output: ${frames}`);
    return;
  }
  const closes = frames.filter((f) => f.opcode === 8);
  if (closes.length > 1) problems.push(`${closes.length} close frames sent`);
  if (closes.length === 1 && frames[frames.length - 1].opcode !== 8) problems.push('a frame sent after the close frame');
  for (const f of frames) {
    if (f.masked !== (cfg.role === 'client')) problems.push(`an output frame ${f.masked ? 'masked' : 'unmasked'} in the ${cfg.role} role`);
    if (f.rsv !== 0) problems.push('RSV bits set on an output frame');
    if (f.opcode >= 8 && f.payload.length > 125) problems.push('a control frame over 125 bytes sent');
  }
  const pongs = frames.filter((f) => f.opcode === 10);
  if (cfg.autoPong) {
    if (pongs.length > pings.length) problems.push(`${pongs.length} pongs for ${pings.length} pings`);
    pongs.forEach((p, i) => {
      if (pings[i] && !p.payload.equals(pings[i])) problems.push(`pong ${i} does not echo its ping`);
    });
    if (!localClose && pongs.length !== pings.length) problems.push(`${pongs.length} pongs for ${pings.length} pings`);
  } else if (pongs.length > 0) problems.push('pongs sent with autoPong off');

  const error = log.find((l) => l.startsWith('error:'));
  const close = log.find((l) => l.startsWith('close:'));
  const sent = closes[0];
  const sentCode = sent ? (sent.payload.length >= 2 ? sent.payload.readUInt16BE(0) : 1005) : null;
  if (localClose) {
    if (sentCode !== 1000) problems.push(`the handler closed with 1000 but ${sentCode} was sent`);
    return;
  }
  if (error) {
    const code = Number(error.split(':')[2]);
    if (sentCode !== code) problems.push(`failed with ${code} but sent close ${sentCode}`);
    if (![1002, 1007, 1009].includes(code)) problems.push(`failure close code ${code}`);
  } else if (close) {
    const code = Number(close.split(':')[1]);
    // The echo: the same code (a reason may follow, valid UTF-8, as any close payload), or nothing for none.
    const echoOk =
      code === 1005 ? sent && sent.payload.length === 0 : sent && sent.payload.length >= 2 && sentCode === code && isUtf8(sent.payload.subarray(2));
    if (!echoOk) problems.push(`the peer closed with ${code} but the echo was ${sent ? sent.payload.toString('hex') : 'missing'}`);
  } else if (sent) {
    problems.push(`close ${sentCode} sent without a failure or a peer close`);
  }
}

/** Feeds a small valid sequence to a second protocol from inside a callback; returns a problem or null. */
function runNested(mods, backend, cfg) {
  const r = rng(0x5eed);
  const nestedCfg = { ...cfg, maxPayload: 1 << 20, maxFragments: 1 << 17, deflate: false, skipUtf8Validation: false, autoPong: true, rsvMask: 0 };
  const items = [];
  // Enough frames to fill a record array (512) and take the nested path more than once.
  for (let i = 0; i < 520; i++) items.push({ kind: 'control', frames: [{ opcode: 9, payload: Buffer.from([i & 0xff]), fin: true, rsv: 0 }] });
  items.push({
    kind: 'message',
    binary: false,
    data: Buffer.from('nested'),
    compressed: false,
    frames: [{ opcode: 1, payload: Buffer.from('nested'), fin: true, rsv: 0 }],
  });
  const { bytes } = serialize(r, items, cfg.role === 'server');
  const expected = model(items, nestedCfg);
  const got = runOnce(mods, backend, bytes, [], nestedCfg, new Map()).log;
  if (got.join('\n') === expected.join('\n') || got.join('\n') === expected.alternative?.join('\n')) return null;
  const i = got.findIndex((l, k) => l !== expected[k]);
  return `the nested connection saw other events than the model (at ${i}: ${got[i]} vs ${expected[i]})`;
}

// ---- cases ------------------------------------------------------------------------

function configure(r) {
  const role = r.chance(0.6) ? 'server' : 'client';
  const mp = r.int(100);
  const maxPayload = mp < 35 ? r.int(600) : mp < 50 ? r.pick([0, 1, 125, 126, 65535, 65536]) : mp < 95 ? 1 << 20 : 16 * 1024 * 1024;
  const maxFragments = r.chance(0.3) ? 1 + r.int(8) : r.chance(0.5) ? 128 * 1024 : 1000;
  const deflate = r.chance(0.3);
  return {
    role,
    maxPayload,
    maxFragments,
    deflate,
    rsvMask: deflate ? 0 : r.chance(0.1) ? 0x40 : 0,
    autoPong: r.chance(0.95),
    skipUtf8Validation: r.chance(0.03),
  };
}

/** Builds case number `seed`: configuration, bytes, chunking, handler actions, and the model's log when it applies. */
export function makeCase(seed) {
  const r = rng(seed);
  const cfg = configure(r);
  const kind = r.int(100);
  let bytes;
  let marks = [];
  let expected = null;
  let mutations = [];
  if (kind < 8) {
    bytes = r.bytes(r.int(r.chance(0.2) ? 4000 : 64));
  } else {
    const items = generateItems(r, cfg);
    // Remember the data of compressed messages for the model.
    for (const item of items) if (item.kind === 'message') item.frames.forEach((f) => (f.item = item));
    const s = serialize(r, items, cfg.role === 'server');
    bytes = s.bytes;
    marks = s.marks;
    if (kind < 45) {
      if (!cfg.skipUtf8Validation) expected = model(items, cfg);
    } else {
      const m = mutate(r, bytes, marks, cfg);
      bytes = m.bytes;
      mutations = m.applied;
    }
  }
  const cuts = chunking(r, bytes.length, marks);
  const other = chunking(r, bytes.length, marks);
  const actions = new Map();
  if (r.chance(0.15)) {
    for (let k = r.int(3); k >= 0; k--) actions.set(1 + r.int(8), r.pick(['close', 'send', 'ping', 'nest', 'nest']));
  }
  if ([...actions.values()].some((a) => a !== 'nest')) expected = null;
  return { seed, cfg, bytes, cuts, other, actions, expected, mutations };
}

/**
 * Runs one case on every backend given. Returns null when it passes, or a
 * finding: what went wrong and everything needed to replay it.
 */
export function runCase(mods, c) {
  const { backends } = mods;
  const runs = [];
  runs.push({ name: 'js', ...runOnce(mods, backends.js, c.bytes, c.cuts, c.cfg, c.actions) });
  runs.push({ name: 'js/other-chunking', ...runOnce(mods, backends.js, c.bytes, c.other, c.cfg, c.actions) });
  if (backends.native) runs.push({ name: 'native', ...runOnce(mods, backends.native, c.bytes, c.cuts, c.cfg, c.actions) });
  if (backends.active && backends.active !== backends.js) runs.push({ name: 'active', ...runOnce(mods, backends.active, c.bytes, c.cuts, c.cfg, c.actions) });
  const problems = [];
  for (const run of runs) for (const p of run.problems) problems.push(`${run.name}: ${p}`);
  const reference = runs[0].log.join('\n');
  for (const run of runs.slice(1)) {
    if (run.log.join('\n') !== reference) problems.push(`${run.name} differs from js:\n  js:  ${runs[0].log.join(' ')}\n  ${run.name}: ${run.log.join(' ')}`);
  }
  if (c.expected && c.expected.join('\n') !== reference && c.expected.alternative?.join('\n') !== reference) {
    problems.push(`differs from the model:\n  model: ${c.expected.join(' ')}\n  js:    ${reference.split('\n').join(' ')}`);
  }
  // Separate the memory bound from the rest, so that one known finding does not hide others.
  const kinds = [...new Set(problems.map((p) => (p.includes('bufferedInput reached') ? 'buffered' : 'behaviour')))];
  if (problems.length === 0) return { finding: null, log: runs[0].log, maxBuffered: Math.max(...runs.map((x) => x.maxBuffered)) };
  return {
    finding: {
      seed: c.seed,
      kinds,
      problems,
      config: c.cfg,
      mutations: c.mutations,
      actions: [...c.actions.entries()],
      cuts: c.cuts,
      otherCuts: c.other,
      bytes: c.bytes.toString('hex'),
    },
    log: runs[0].log,
    maxBuffered: Math.max(...runs.map((x) => x.maxBuffered)),
  };
}

/**
 * Runs cases seed, seed+1, ... until `ms` have passed or `maxCases` ran.
 * Returns counts and the findings: at most `maxFindings` of each kind are
 * kept (all are counted in stats.findings); the run stops early only when
 * `maxFindings` behaviour findings piled up.
 */
export function fuzz(mods, { seed = 1, ms = 10_000, maxCases = Infinity, maxFindings = 20, onFinding } = {}) {
  const start = Date.now();
  const stats = { cases: 0, modelled: 0, messages: 0, errors: 0, closes: 0, codes: {}, worstBufferedRatio: 0, findings: { behaviour: 0, buffered: 0 } };
  const findings = [];
  const kept = { behaviour: 0, buffered: 0 };
  for (let s = seed; stats.cases < maxCases && Date.now() - start < ms; s++) {
    const c = makeCase(s);
    const { finding, log, maxBuffered } = runCase(mods, c);
    stats.cases++;
    if (c.cfg.maxPayload >= 64) stats.worstBufferedRatio = Math.max(stats.worstBufferedRatio, maxBuffered / (c.cfg.maxPayload + BUFFERED_SLACK));
    if (c.expected) stats.modelled++;
    if (log.some((l) => l.startsWith('m'))) stats.messages++;
    const err = log.find((l) => l.startsWith('error:'));
    if (err) {
      stats.errors++;
      const code = err.split(':')[2];
      stats.codes[code] = (stats.codes[code] ?? 0) + 1;
    }
    if (log.some((l) => l.startsWith('close:'))) stats.closes++;
    if (finding) {
      const kind = finding.kinds.includes('behaviour') ? 'behaviour' : 'buffered';
      stats.findings[kind]++;
      onFinding?.(finding);
      if (kept[kind] < maxFindings) {
        kept[kind]++;
        findings.push(finding);
      }
      if (stats.findings.behaviour >= maxFindings) break;
    }
  }
  stats.ms = Date.now() - start;
  return { stats, findings };
}
