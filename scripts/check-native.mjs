#!/usr/bin/env node
// Dev aid: differential check of the native addon against reference.ts, plus a
// quick unmask speed comparison with bufferutil.
//   npx node-gyp rebuild && node scripts/check-native.mjs [--seed N] [--scan N] [--no-bench]
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const seed = opt('--seed', Date.now() % 1e9);
const scanRuns = opt('--scan', 200_000);

// The reference kernels, compiled standalone (CommonJS) into a scratch directory.
const fbDir = path.join(os.tmpdir(), 'wsbolt-check-reference');
fs.rmSync(fbDir, { recursive: true, force: true });
execFileSync(
  path.join(root, 'node_modules/.bin/tsc'),
  ['src/native/reference.ts', 'src/native/types.ts', '--outDir', fbDir, '--module', 'node16', '--moduleResolution', 'node16', '--target', 'es2022'],
  { cwd: root, stdio: 'inherit' },
);
const js = require(path.join(fbDir, 'reference.js'));
const native = require(path.join(root, 'build/Release/wsbolt.node'));

// mulberry32: reproducible with --seed.
let s0 = seed >>> 0;
function rnd() {
  s0 = (s0 + 0x6d2b79f5) >>> 0;
  let t = s0;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const ri = (n) => Math.floor(rnd() * n); // 0..n-1
const pick = (a) => a[ri(a.length)];
const randBytes = (n) => {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = ri(256);
  return b;
};

let failures = 0;
function fail(what, detail) {
  failures++;
  if (failures <= 20) console.error(`MISMATCH ${what}`, detail);
}
const same = (a, b) => {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return false;
  return true;
};
console.log(`seed ${seed}`);
const doChecks = !args.includes('--bench-only');

// ---- 1. mask / unmask -------------------------------------------------------
if (doChecks) {
  const keys = [new Uint8Array([0x12, 0x34, 0x56, 0x78]), new Uint8Array([0xff, 0, 0x80, 1]), randBytes(4)];
  const G = 40; // guard bytes each side
  let cases = 0;
  const unmaskCase = (size, align, phase, key) => {
    const ab = new Uint8Array(size + 2 * G + 64);
    for (let i = 0; i < ab.length; i++) ab[i] = (i * 7 + size) & 0xff;
    const expect = ab.slice();
    const start = G + align;
    for (let i = 0; i < size; i++) expect[start + i] ^= key[(phase + i) & 3];
    const got = ab.slice();
    const r = native.unmask(got.subarray(start, start + size), key, phase);
    if (r !== ((phase + size) & 3) || !same(got, expect)) fail('unmask', { size, align, phase, r });
    const viaJs = ab.slice();
    js.unmask(viaJs.subarray(start, start + size), key, phase);
    if (!same(viaJs, got)) fail('unmask vs reference', { size, align, phase });
    cases++;
  };
  const maskCase = (size, sAlign, dAlign, key) => {
    const src = randBytes(size + 2 * G + 64);
    const out = new Uint8Array(size + 2 * G + 64);
    for (let i = 0; i < out.length; i++) out[i] = (i * 13) & 0xff;
    const expect = out.slice();
    const srcView = src.subarray(G + sAlign, G + sAlign + size);
    const offset = G + dAlign;
    for (let i = 0; i < size; i++) expect[offset + i] = srcView[i] ^ key[i & 3];
    const got = out.slice();
    native.mask(srcView, key, got, offset, size);
    if (!same(got, expect)) fail('mask', { size, sAlign, dAlign });
    // Through a sub-view of the output, so its byteOffset matters too.
    const sub = out.slice();
    native.mask(srcView, key, sub.subarray(dAlign), G, size);
    if (!same(sub, expect)) fail('mask (output view)', { size, sAlign, dAlign });
    cases += 2;
  };
  for (let size = 0; size <= 1024; size++) {
    for (let align = 0; align < 8; align++) {
      for (let phase = 0; phase < 4; phase++) for (const key of keys) unmaskCase(size, align, phase, key);
      for (const key of keys.slice(0, 2)) maskCase(size, align, (align * 5 + size) & 7, key);
    }
  }
  // Alignments that reach the 32-byte store alignment of the AVX2 path on big sizes.
  for (let k = 0; k < 3000; k++) {
    const size = 1024 + ri(70000);
    unmaskCase(size, ri(64), ri(4), pick(keys));
    maskCase(size, ri(64), ri(64), pick(keys));
  }
  // Phases outside 0..3: both take ToInt32(phase) & 3 (the contract; sources and outputs never overlap).
  const oddPhases = [-1, -5, 4, 7, 2 ** 31, 2 ** 32 + 1, 2 ** 52 + 3, 2 ** 53, NaN, undefined];
  for (let k = 0; k < 20000; k++) {
    const size = ri(300);
    const base = randBytes(size + 16);
    const a = base.slice();
    const b = base.slice();
    const off = ri(16);
    const phase = pick(oddPhases);
    const key = keys[k % 3];
    const ra = js.unmask(a.subarray(off, off + size), key, phase);
    const rb = native.unmask(b.subarray(off, off + size), key, phase);
    if (ra !== rb || !same(a, b)) fail('unmask (odd phase)', { size, off, phase, ra, rb });
    cases++;
  }
  // Range errors must throw, not corrupt memory.
  let threw = 0;
  for (const [o, l] of [[0, 9], [5, 4], [-1, 1], [0.5, 1], [0, 17]]) {
    try {
      native.mask(new Uint8Array(16), keys[0], new Uint8Array(8), o, l);
    } catch (e) {
      if (e instanceof TypeError) threw++;
    }
  }
  if (threw !== 5) fail('mask bounds', { threw });
  console.log(`mask/unmask: ${cases} cases, ${failures} mismatches`);
}

// ---- 2. scanFrames ----------------------------------------------------------
if (doChecks) {
  const before = failures;
  const opcodes = [0, 1, 2, 8, 9, 10];
  function frame(masked, allowedRsv) {
    const r = rnd();
    let opcode = r < 0.9 ? pick(opcodes) : ri(16);
    const control = opcode >= 8;
    let fin = control || rnd() < 0.8 ? 0x80 : 0;
    let rsv = rnd() < 0.7 ? 0 : rnd() < 0.7 ? allowedRsv & pick([0x40, 0x20, 0x10, 0x70]) : pick([0x40, 0x20, 0x10]);
    if (control && rnd() < 0.9) rsv = 0;
    let len;
    const lr = rnd();
    if (control) len = ri(rnd() < 0.95 ? 126 : 128);
    else if (lr < 0.6) len = ri(126);
    else if (lr < 0.9) len = 126 + ri(600);
    else if (lr < 0.97) len = ri(70000);
    else len = ri(300);
    let form = len < 126 ? 0 : len < 65536 ? 126 : 127;
    if (form === 0 && rnd() < 0.05) form = 126; // non-minimal encodings
    if (form !== 127 && rnd() < 0.03) form = 127;
    let declared = len;
    const extra = [];
    if (form === 126) extra.push(len >> 8, len & 0xff);
    if (form === 127) {
      let hi = 0;
      const hr = rnd();
      if (hr < 0.04) hi = ri(0x200000); // up to 2^53
      else if (hr < 0.06) hi = 0x200000 + ri(0x1000000); // beyond 2^53
      else if (hr < 0.08) hi = 0x80000000 + ri(0x7fffffff); // top bit
      if (hi) declared = hi * 2 ** 32 + len;
      extra.push(hi >>> 24, (hi >>> 16) & 0xff, (hi >>> 8) & 0xff, hi & 0xff, len >>> 24, (len >>> 16) & 0xff, (len >>> 8) & 0xff, len & 0xff);
    }
    const b1 = (masked ? 0x80 : 0) | (form === 0 ? len : form);
    const key = masked ? randBytes(4) : [];
    const payload = randBytes(Math.min(len, 70000));
    if (masked) for (let i = 0; i < payload.length; i++) payload[i] ^= key[i & 3];
    void declared;
    return [fin | rsv | opcode, b1, ...extra, ...key, ...payload];
  }
  function stream(flags) {
    const masked = (flags & 1) !== 0;
    const parts = [];
    const n = ri(6);
    for (let i = 0; i < n; i++) {
      const m = rnd() < 0.97 ? masked : !masked;
      parts.push(Uint8Array.from(frame(m, flags & 0x70)));
    }
    let total = parts.reduce((a, p) => a + p.length, 0);
    let buf = new Uint8Array(total);
    let o = 0;
    for (const p of parts) buf.set(p, o), (o += p.length);
    const c = rnd();
    if (c < 0.15 && total > 0) for (let k = 1 + ri(3); k > 0; k--) buf[ri(total)] ^= 1 << ri(8);
    else if (c < 0.3) buf = buf.subarray(0, ri(total + 1));
    else if (c < 0.38) buf = randBytes(ri(40));
    else if (c < 0.45 && total > 0) buf[ri(total)] = ri(256);
    return buf;
  }
  const maxes = () => {
    const r = rnd();
    return r < 0.3 ? ri(200) : r < 0.5 ? ri(70000) : r < 0.7 ? 2 ** 53 : r < 0.8 ? pick([Infinity, NaN, -1, 125.5, 0, 1e300, 2 ** 63]) : 65536 * 16;
  };
  const outLens = () => {
    const r = rnd();
    return r < 0.1 ? ri(8) : r < 0.5 ? 8 + 3 * ri(3) + ri(3) : r < 0.8 ? 8 + 3 * ri(8) : 8 + 3 * 1000;
  };
  let records = 0;
  const statusSeen = [0, 0, 0, 0];
  for (let k = 0; k < scanRuns; k++) {
    const fr = rnd();
    const flags = fr < 0.9 ? pick([0, 1]) | pick([0, 0, 0x40, 0x70]) : ri(2 ** 31) * pick([1, -1]);
    const body = stream(flags);
    const lead = ri(4) === 0 ? ri(12) : 0; // scan from a random offset (junk before it)
    const pad = ri(8); // and view at a random byteOffset
    const backing = randBytes(pad + lead + body.length);
    backing.set(body, pad + lead);
    const chunkA = backing.slice().subarray(pad);
    const chunkB = backing.slice().subarray(pad);
    let offset = lead;
    const orr = rnd();
    if (orr < 0.02) offset = chunkA.length + ri(3);
    else if (orr < 0.03) offset = NaN;
    else if (orr < 0.04) offset = -0;
    else if (orr < 0.1) offset = ri(chunkA.length + 1);
    const n = outLens();
    // Sometimes a view into a bigger array: its neighbours must stay untouched.
    const outBase = new Float64Array(n + 4);
    for (let i = 0; i < n + 4; i++) outBase[i] = rnd() < 0.5 ? -1 : rnd() * 1e6;
    const outBaseB = outBase.slice();
    const viewAt = ri(2) * 2;
    const outA = outBase.subarray(viewAt, viewAt + n);
    const outB = outBaseB.subarray(viewAt, viewAt + n);
    const maxPayload = maxes();
    const ra = js.scanFrames(chunkA, offset, outA, flags, maxPayload);
    const rb = native.scanFrames(chunkB, offset, outB, flags, maxPayload);
    if (ra !== rb || !same(outBase, outBaseB) || !same(chunkA, chunkB)) {
      fail('scanFrames', { k, flags, offset, n, maxPayload, ra, rb, outA: [...outA.slice(0, 12)], outB: [...outB.slice(0, 12)], head: [...chunkA.slice(0, 16)] });
    }
    records += ra;
    if (n > 0) statusSeen[outA[0]] = (statusSeen[outA[0]] ?? 0) + 1;
  }
  console.log(
    `scanFrames: ${scanRuns} inputs, ${records} records, status DONE/INCOMPLETE/FULL/ERROR = ${statusSeen.join('/')}, ${failures - before} mismatches`,
  );
}

// ---- 3. utf8Step ------------------------------------------------------------
if (doChecks) {
  const before = failures;
  let checks = 0;
  const states = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  for (const st of states) {
    for (let b = 0; b < 256; b++) {
      const u = Uint8Array.of(b);
      if (!Object.is(js.utf8Step(u, st), native.utf8Step(u, st))) fail('utf8 single', { st, b });
      checks++;
    }
  }
  for (const st of [0, 2, 3, 4, 5, 6, 7, 8]) {
    for (let b = 0; b < 65536; b++) {
      const u = Uint8Array.of(b >> 8, b & 0xff);
      if (js.utf8Step(u, st) !== native.utf8Step(u, st)) fail('utf8 pair', { st, b });
      checks++;
    }
  }
  for (const st of [-1, 1.5, NaN, -0, Infinity, undefined, null, 8.0000001, 2 ** 32, 2 ** 32 + 3]) {
    for (const u of [new Uint8Array(0), Uint8Array.of(0x41), Uint8Array.of(0x80)]) {
      if (!Object.is(js.utf8Step(u, st), native.utf8Step(u, st))) fail('utf8 odd state', { st, len: u.length });
      checks++;
    }
  }
  // An ASCII run with one non-ASCII byte at every position: the fast path's exits.
  for (let len = 1; len <= 260; len++) {
    for (let at = 0; at <= len; at++) {
      const u = new Uint8Array(len).fill(0x61);
      if (at < len) u[at] = pick([0x80, 0xc3, 0xe2, 0xf0, 0xff]);
      for (const st of [0, 2]) {
        if (js.utf8Step(u, st) !== native.utf8Step(u, st)) fail('utf8 ascii run', { len, at, st });
        checks++;
      }
    }
  }
  const cpRanges = [
    [0, 0x7f], [0x80, 0x7ff], [0x800, 0xffff], [0x10000, 0x10ffff],
    [0xd7f0, 0xd7ff], [0xe000, 0xe00f], [0xfff0, 0xffff], [0x10000, 0x1000f], [0x10fff0, 0x10ffff],
  ];
  const bad = [
    [0x80], [0xbf], [0xc0, 0x80], [0xc1, 0xbf], [0xe0, 0x80, 0x80], [0xe0, 0x9f, 0xbf], [0xed, 0xa0, 0x80], [0xed, 0xbf, 0xbf],
    [0xf0, 0x80, 0x80, 0x80], [0xf0, 0x8f, 0xbf, 0xbf], [0xf4, 0x90, 0x80, 0x80], [0xf5, 0x80, 0x80, 0x80], [0xff], [0xfe], [0xc2], [0xe1, 0x80], [0xf1, 0x80, 0x80],
  ];
  function encode(cp, outArr) {
    if (cp < 0x80) outArr.push(cp);
    else if (cp < 0x800) outArr.push(0xc0 | (cp >> 6), 0x80 | (cp & 63));
    else if (cp < 0x10000) outArr.push(0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 63), 0x80 | (cp & 63));
    else outArr.push(0xf0 | (cp >> 18), 0x80 | ((cp >> 12) & 63), 0x80 | ((cp >> 6) & 63), 0x80 | (cp & 63));
  }
  let strings = 0;
  let splits = 0;
  for (let k = 0; k < 60000; k++) {
    const bytes = [];
    const n = ri(4) === 0 ? ri(400) : ri(40);
    const asciiHeavy = rnd() < 0.5;
    for (let i = 0; i < n; i++) {
      const r = rnd();
      if (asciiHeavy && r < 0.9) {
        for (let j = ri(80); j > 0; j--) bytes.push(0x20 + ri(95));
      } else if (r < 0.97) {
        const [lo, hi] = pick(cpRanges);
        let cp = lo + ri(hi - lo + 1);
        if (cp >= 0xd800 && cp <= 0xdfff) cp = 0xe000;
        encode(cp, bytes);
      } else if (r < 0.99) bytes.push(...pick(bad));
      else bytes.push(ri(256));
    }
    if (rnd() < 0.2 && bytes.length) bytes[ri(bytes.length)] = ri(256);
    if (rnd() < 0.1) bytes.length = ri(bytes.length + 1); // cut inside a code point
    const u = Uint8Array.from(bytes);
    const cuts = [0];
    for (let c = ri(6); c > 0; c--) cuts.push(ri(u.length + 1));
    cuts.push(u.length);
    cuts.sort((x, y) => x - y);
    let sa = 0;
    let sb = 0;
    for (let c = 1; c < cuts.length; c++) {
      const part = u.subarray(cuts[c - 1], cuts[c]);
      sa = js.utf8Step(part, sa);
      sb = native.utf8Step(part, sb);
      splits++;
      if (sa !== sb) {
        fail('utf8 split', { k, c, sa, sb, bytes: Buffer.from(u).toString('hex').slice(0, 200) });
        break;
      }
    }
    strings++;
  }
  console.log(`utf8Step: ${checks} fixed cases, ${strings} random strings / ${splits} parts, ${failures - before} mismatches`);
}

// ---- 4. speed -----------------------------------------------------------------
function loadBufferutil() {
  for (const p of ['node_modules/bufferutil/build/Release/bufferutil.node', 'node_modules/bufferutil/prebuilds/linux-x64/bufferutil.node']) {
    try {
      return { from: p, b: require(path.join(root, p)) };
    } catch {}
  }
  return null;
}
if (!args.includes('--no-bench')) {
  const bu = loadBufferutil();
  const key = new Uint8Array([1, 2, 3, 4]);
  // Rounds alternate between the two so background load hits both alike; best round wins.
  const run = (fn, buf, iters) => {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < iters; i++) fn(buf, key, 0);
    return Number(process.hrtime.bigint() - t0) / iters;
  };
  console.log(`unmask speed, best of 9 alternating rounds (bufferutil: ${bu ? bu.from : 'n/a'})`);
  console.log('size      native ns   GB/s    bufferutil ns   GB/s    ratio');
  for (const size of [16, 125, 1024, 65536, 1 << 20]) {
    const buf = Buffer.alloc(size, 7);
    const iters = Math.max(200, Math.min(1_000_000, Math.floor(2e8 / (size + 200))));
    let a = Infinity;
    let b = Infinity;
    for (let round = 0; round < 11; round++) {
      const x = run(native.unmask, buf, iters);
      const y = bu ? run(bu.b.unmask, buf, iters) : NaN;
      if (round >= 2) (a = Math.min(a, x)), (b = Math.min(b, y));
    }
    const gb = (ns) => (size / ns).toFixed(2).padStart(6);
    console.log(
      `${String(size).padEnd(9)} ${a.toFixed(1).padStart(9)}  ${gb(a)}   ${b.toFixed(1).padStart(12)}  ${gb(b)}   ${(b / a).toFixed(2)}x`,
    );
  }
  const ascii = Buffer.alloc(1 << 20, 0x61);
  const t = (() => {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < 200; i++) native.utf8Step(ascii, 0);
    return Number(process.hrtime.bigint() - t0) / 200;
  })();
  console.log(`utf8Step 1 MiB ASCII: ${(ascii.length / t).toFixed(1)} GB/s`);
}

console.log(failures === 0 ? 'OK: native matches the fallback' : `FAILED: ${failures} mismatches`);
process.exitCode = failures === 0 ? 0 : 1;
