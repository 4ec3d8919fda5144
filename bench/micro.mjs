// Micro-benchmark of the hot paths: mask, unmask, scanFrames and UTF-8
// validation at 16 B .. 1 MiB, native vs fallback vs bufferutil/utf-8-validate.
// Reports the median of repeats (ns/call and GB/s) and the crossover sizes
// that justify the JS-below-threshold constants in src/native/index.ts.
// Uses the built package (npm run build:ts) through its public entry points.
import { createRequire } from 'node:module';
import { isUtf8 } from 'node:buffer';

const require = createRequire(import.meta.url);
const { implementations, mask, unmask } = require('../dist/native/public.js');
const { native, js } = implementations;

const optional = (id) => {
  try {
    return require(id);
  } catch {
    return null;
  }
};
const bufferutil = optional('bufferutil');
const utf8Validate = optional('utf-8-validate');

const SIZES = [16, 125, 1024, 64 * 1024, 1024 * 1024];
const REPEATS = Number(process.env.REPEATS ?? 9);
const TARGET_NS = 15e6; // each repeat runs about 15 ms

function measure(fn, bytesPerCall, repeats = REPEATS, targetNs = TARGET_NS) {
  // Calibrate the iteration count so one repeat takes about TARGET_NS.
  let iterations = 1;
  for (;;) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < iterations; i++) fn();
    const elapsed = Number(process.hrtime.bigint() - t0);
    if (elapsed > targetNs / 4 || iterations > 1e8) {
      iterations = Math.max(1, Math.round((iterations * targetNs) / Math.max(elapsed, 1)));
      break;
    }
    iterations *= 4;
  }
  const samples = [];
  for (let r = 0; r < repeats; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < iterations; i++) fn();
    samples.push(Number(process.hrtime.bigint() - t0) / iterations);
  }
  samples.sort((a, b) => a - b);
  const ns = samples[samples.length >> 1];
  return { ns, gbps: bytesPerCall / ns, min: samples[0], max: samples[samples.length - 1] };
}

const key = Buffer.from([0x12, 0x34, 0x56, 0x78]);
const fmtSize = (n) => (n >= 1 << 20 ? `${n >> 20} MiB` : n >= 1024 ? `${n >> 10} KiB` : `${n} B`);
const rows = [];
function row(op, size, impl, result) {
  rows.push({ op, size: fmtSize(size), impl, 'ns/call': result.ns.toFixed(1), 'GB/s': result.gbps.toFixed(2) });
}

function maskedFrame(payloadLength) {
  const hl = payloadLength < 126 ? 2 : payloadLength < 65536 ? 4 : 10;
  const f = Buffer.alloc(hl + 4 + payloadLength, 0x61);
  f[0] = 0x82;
  if (hl === 2) f[1] = 0x80 | payloadLength;
  else if (hl === 4) {
    f[1] = 0x80 | 126;
    f.writeUInt16BE(payloadLength, 2);
  } else {
    f[1] = 0x80 | 127;
    f.writeUInt32BE(0, 2);
    f.writeUInt32BE(payloadLength, 6);
  }
  key.copy(f, hl);
  return f;
}

const impls = [
  ['native', native],
  ['fallback', js],
];

for (const size of SIZES) {
  const data = Buffer.alloc(size, 0x61);
  const out = Buffer.alloc(size + 16);
  for (const [name, impl] of impls)
    if (impl)
      row(
        'unmask',
        size,
        name,
        measure(() => impl.unmask(data, key, 0), size),
      );
  row(
    'unmask',
    size,
    'facade',
    measure(() => unmask(data, key, 0), size),
  );
  if (bufferutil)
    row(
      'unmask',
      size,
      'bufferutil',
      measure(() => bufferutil.unmask(data, key), size),
    );

  for (const [name, impl] of impls)
    if (impl)
      row(
        'mask',
        size,
        name,
        measure(() => impl.mask(data, key, out, 2, size), size),
      );
  row(
    'mask',
    size,
    'facade',
    measure(() => mask(data, key, out, 2, size), size),
  );
  if (bufferutil)
    row(
      'mask',
      size,
      'bufferutil',
      measure(() => bufferutil.mask(data, key, out, 2, size), size),
    );

  const chunk = maskedFrame(size);
  const records = new Float64Array(8 + 3 * 512);
  for (const [name, impl] of impls)
    if (impl)
      row(
        'scanFrames (1 frame)',
        size,
        name,
        measure(() => impl.scanFrames(chunk, 0, records, 1, 2 ** 53), chunk.length),
      );

  const text = Buffer.from('wsbolt ünïcødé € '.repeat(Math.ceil(size / 20))).subarray(0, size);
  while (!isUtf8(text)) text[text.length - 1] = 0x61; // keep the cut valid
  row(
    'utf8 whole (buffer.isUtf8)',
    size,
    'node',
    measure(() => isUtf8(text), size),
  );
  for (const [name, impl] of impls)
    if (impl)
      row(
        'utf8Step (incremental)',
        size,
        name,
        measure(() => impl.utf8Step(text, 0), size),
      );
  if (utf8Validate)
    row(
      'utf8 whole',
      size,
      'utf-8-validate',
      measure(() => utf8Validate(text), size),
    );
}

// Many small frames in one 64 KiB chunk: the batch path of a busy echo server.
{
  const frames = [];
  let total = 0;
  while (total < 65536 - 38) {
    const f = maskedFrame(32);
    frames.push(f);
    total += f.length;
  }
  const chunk = Buffer.concat(frames);
  const records = new Float64Array(8 + 3 * 2048);
  for (const [name, impl] of impls) {
    if (!impl) continue;
    const r = measure(() => impl.scanFrames(chunk, 0, records, 1, 2 ** 53), chunk.length);
    rows.push({
      op: `scanFrames (${frames.length} × 32 B frames)`,
      size: fmtSize(chunk.length),
      impl: name,
      'ns/call': r.ns.toFixed(1),
      'GB/s': r.gbps.toFixed(2),
      'ns/frame': (r.ns / frames.length).toFixed(1),
    });
  }
}

console.log(`wsbolt micro-benchmark: median of ${REPEATS} repeats, Node ${process.version}, native ${native ? 'loaded' : 'NOT loaded'}`);
console.table(rows);

// Crossovers: the smallest size from which native beats the JS fallback.
if (native) {
  const crossover = (op, run) => {
    // The first size where native wins three sizes in a row (one win can be noise).
    let streak = 0;
    for (let n = 4; n <= 512; n += 4) {
      const data = Buffer.alloc(n, 0x61);
      const out = Buffer.alloc(n);
      const a = measure(() => run(native, data, out), n, 5, 3e6).ns;
      const b = measure(() => run(js, data, out), n, 5, 3e6).ns;
      streak = a < b ? streak + 1 : 0;
      if (streak === 3) return n - 8;
    }
    return '> 512';
  };
  console.log('crossover (native faster from):', {
    unmask: crossover('unmask', (impl, d) => impl.unmask(d, key, 0)),
    mask: crossover('mask', (impl, d, o) => impl.mask(d, key, o, 0, d.length)),
  });
}
