#!/usr/bin/env node
/**
 * Writes the seed corpus of the libFuzzer target (test/fuzz/corpus/seed-*).
 * Each file is the 6-byte parameter prefix native_fuzz.cc reads, then bytes:
 *   [0] scan flags (0x01 expect masked, 0x40/0x20/0x10 RSV bits allowed)
 *   [1] maxPayload selector (13 = DBL_MAX, 14 = Infinity, 3 = 125, 6 = 65535, ...)
 *   [2] offset selector (< 128: 0)   [3] record capacity selector (>= 16: records)
 *   [4] src/dst misalignment for the mask kernels   [5] key phase and split
 * Idempotent: rerun after changing the seeds. Files named finding-* (inputs
 * that once crashed) are left alone.
 */
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const dir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'test', 'fuzz', 'corpus');
mkdirSync(dir, { recursive: true });
for (const f of readdirSync(dir)) if (f.startsWith('seed-')) rmSync(join(dir, f));

const KEY = [0x37, 0xfa, 0x21, 0x3d];

/** One frame; length may be a bigint to claim more than is sent. */
function frame({ opcode, payload = Buffer.alloc(0), fin = true, rsv = 0, mask = true, form, length }) {
  const n = length ?? BigInt(payload.length);
  const f = form ?? (n < 126n ? 7 : n < 65536n ? 16 : 64);
  const head = [(fin ? 0x80 : 0) | rsv | opcode];
  const m = mask ? 0x80 : 0;
  if (f === 7) head.push(m | Number(n));
  else if (f === 16) head.push(m | 126, Number(n >> 8n) & 0xff, Number(n) & 0xff);
  else {
    head.push(m | 127);
    for (let i = 7; i >= 0; i--) head.push(Number((n >> BigInt(i * 8)) & 0xffn));
  }
  if (mask) head.push(...KEY);
  const body = Buffer.from(payload);
  if (mask) for (let i = 0; i < body.length; i++) body[i] ^= KEY[i & 3];
  return Buffer.concat([Buffer.from(head), body]);
}

const prefix = (flags, max = 13, offset = 0, cap = 0x40, align = 0x00, phase = 0x00) => Buffer.from([flags, max, offset, cap, align, phase]);
const seeds = {};
const add = (name, pre, ...parts) => (seeds[name] = Buffer.concat([pre, ...parts]));
const S = prefix(0x01); // server: masked frames
const C = prefix(0x00); // client: unmasked frames
const text = (s, o = {}) => frame({ opcode: 1, payload: Buffer.from(s), ...o });
const closeBody = (code, reason = '') => Buffer.concat([Buffer.from([code >> 8, code & 0xff]), Buffer.from(reason)]);

add('text-masked', S, text('Hello'));
add('text-unmasked', C, text('Hello', { mask: false }));
add('binary-125', S, frame({ opcode: 2, payload: Buffer.alloc(125, 7) }));
add('binary-126', S, frame({ opcode: 2, payload: Buffer.alloc(126, 9) }));
add('binary-300-avx', prefix(0x01, 13, 0, 0x40, 0x85, 0x31), frame({ opcode: 2, payload: Buffer.alloc(300, 0x5c) }));
add('binary-16bit-form-small', S, frame({ opcode: 2, payload: Buffer.from('abc'), form: 16 }));
add('binary-64bit-form-small', S, frame({ opcode: 2, payload: Buffer.from('abc'), form: 64 }));
add('len-65535-header', S, frame({ opcode: 2, length: 65535n }));
add('len-65536-header', S, frame({ opcode: 2, length: 65536n }));
add('len-2p32-header', S, frame({ opcode: 2, length: 2n ** 32n }));
add('len-2p53-header', prefix(0x01, 14), frame({ opcode: 2, length: 2n ** 53n }));
add('len-2p53-minus1-header', prefix(0x01, 14), frame({ opcode: 2, length: 2n ** 53n - 1n }));
add('len-2p63-minus1-header', prefix(0x01, 14), frame({ opcode: 2, length: 2n ** 63n - 1n }));
add('len-2p63-msb-header', S, frame({ opcode: 2, length: 2n ** 63n }));
add('len-over-max-125', prefix(0x01, 3), frame({ opcode: 2, payload: Buffer.alloc(126) }));
add('ping', S, frame({ opcode: 9, payload: Buffer.from('ping!') }));
add('pong', S, frame({ opcode: 10, payload: Buffer.from('pong!') }));
add('ping-125', S, frame({ opcode: 9, payload: Buffer.alloc(125, 1) }));
add('ping-126-invalid', S, frame({ opcode: 9, payload: Buffer.alloc(126, 1) }));
add('ping-not-fin', S, frame({ opcode: 9, fin: false }));
add('close-1000-reason', S, frame({ opcode: 8, payload: closeBody(1000, 'bye') }));
add('close-empty', S, frame({ opcode: 8 }));
add('close-1-byte', S, frame({ opcode: 8, payload: Buffer.from([3]) }));
add('fragments', S, text('Hel', { fin: false }), frame({ opcode: 9, payload: Buffer.from('x') }), frame({ opcode: 0, payload: Buffer.from('lo') }));
add('continuation-alone', S, frame({ opcode: 0, payload: Buffer.from('x') }));
add('rsv1-compressed', prefix(0x41), frame({ opcode: 1, rsv: 0x40, payload: Buffer.from([0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]) }));
add('rsv1-not-allowed', S, frame({ opcode: 1, rsv: 0x40, payload: Buffer.from('x') }));
add('rsv2-rsv3', prefix(0x71), frame({ opcode: 2, rsv: 0x30, payload: Buffer.from('x') }));
add('opcode-3', S, frame({ opcode: 3 }));
add('opcode-11', S, frame({ opcode: 11 }));
add('mask-mismatch', S, text('x', { mask: false }));
add('many-tiny-frames', prefix(0x01, 13, 0, 0x10), ...Array.from({ length: 80 }, () => frame({ opcode: 9 })));
add('offset-inside', prefix(0x01, 13, 130), text('ab'), text('cd'));
add('offset-past-end', prefix(0x01, 13, 250), text('ab'));
add('no-records', prefix(0x01, 13, 0, 3), text('ab'), text('cd'));
add('header-cut-1', S, text('Hello').subarray(0, 1));
add('header-cut-3', S, frame({ opcode: 2, payload: Buffer.alloc(200) }).subarray(0, 3));
add('header-cut-key', S, text('Hello').subarray(0, 4));
add('max-nan', prefix(0x01, 15), text('nan'));
add('max-around-length', prefix(0x01, 242), frame({ opcode: 2, payload: Buffer.alloc(40) }));
// UTF-8 for the validator (and as text payloads for the scanner).
add('utf8-euro-split', prefix(0x01, 13, 0, 0x40, 0, 0), text('a€b'));
add('utf8-emoji', S, text('\u{1F600}\u{10FFFF}'));
add('utf8-raw-split', prefix(0x00, 13, 1, 0x40), Buffer.from('κόσμε €𝄞', 'utf8'));
add('utf8-surrogate', C, Buffer.from([0xed, 0xa0, 0x80, 0x41]));
add('utf8-overlong', C, Buffer.from([0xc0, 0xaf, 0xe0, 0x80, 0xaf]));
add('utf8-above-max', C, Buffer.from([0xf4, 0x90, 0x80, 0x80]));
add('utf8-truncated', C, Buffer.from([0x41, 0xf0, 0x9f, 0x98]));
add('utf8-ascii-run', prefix(0x00, 13, 7, 0x40), Buffer.concat([Buffer.alloc(70, 0x61), Buffer.from('é'), Buffer.alloc(20, 0x62)]));

for (const [name, bytes] of Object.entries(seeds)) writeFileSync(join(dir, `seed-${name}`), bytes);
console.log(`make-corpus: wrote ${Object.keys(seeds).length} seeds to ${dir}`);
