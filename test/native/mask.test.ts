/**
 * Masking, gorilla-style: every size 0..1024 × alignment 0..7 × phase 0..3
 * against a byte-by-byte reference, with guard bytes on both sides, for the
 * facade (thresholds) and each raw implementation.
 */
import { describe, expect, it } from 'vitest';
import { active, backends } from '../../src/native/index.js';
import type { Backend } from '../../src/native/types.js';

const KEY = Uint8Array.from([0x9d, 0x13, 0xe7, 0x42]);
const GUARD = 0xa5;

const implementations: [string, Backend][] = [
  ['facade', active],
  ['reference', backends.js],
  ...(backends.native ? ([['native (raw)', backends.native]] as [string, Backend][]) : []),
];

function pattern(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 131 + seed * 7 + 11) & 0xff;
  return b;
}

describe.each(implementations)('%s', (_name, impl) => {
  it('unmask: every size × alignment × phase matches the byte loop; neighbours untouched', () => {
    const arena = new Uint8Array(1024 + 32);
    for (let size = 0; size <= 1024; size++) {
      const data = pattern(size, size);
      for (let align = 0; align < 8; align++) {
        for (let phase = 0; phase < 4; phase++) {
          arena.fill(GUARD);
          arena.set(data, 8 + align);
          const view = arena.subarray(8 + align, 8 + align + size);
          const next = impl.unmask(view, KEY, phase);
          if (next !== ((phase + size) & 3)) throw new Error(`phase ${next} at size ${size} align ${align} phase ${phase}`);
          for (let i = 0; i < size; i++) {
            if (view[i] !== (data[i]! ^ KEY[(phase + i) & 3]!)) throw new Error(`byte ${i} at size ${size} align ${align} phase ${phase}`);
          }
          for (let i = 0; i < 8 + align; i++) if (arena[i] !== GUARD) throw new Error(`guard before, size ${size}`);
          for (let i = 8 + align + size; i < arena.length; i++) if (arena[i] !== GUARD) throw new Error(`guard after, size ${size}`);
        }
      }
    }
    expect(true).toBe(true);
  });

  it('mask: every size × source alignment × output offset matches the byte loop; source untouched', () => {
    const srcArena = new Uint8Array(1024 + 16);
    const outArena = new Uint8Array(1024 + 32);
    for (let size = 0; size <= 1024; size++) {
      const data = pattern(size, size + 1);
      for (let align = 0; align < 8; align++) {
        for (let offset = 0; offset < 4; offset++) {
          srcArena.fill(GUARD);
          srcArena.set(data, align);
          const source = srcArena.subarray(align, align + size);
          outArena.fill(GUARD);
          const output = outArena.subarray(8);
          impl.mask(source, KEY, output, offset, size);
          for (let i = 0; i < size; i++) {
            if (output[offset + i] !== (data[i]! ^ KEY[i & 3]!)) throw new Error(`byte ${i} size ${size} align ${align} offset ${offset}`);
            if (source[i] !== data[i]) throw new Error('source modified');
          }
          for (let i = 0; i < 8 + offset; i++) if (outArena[i] !== GUARD) throw new Error(`guard before, size ${size}`);
          for (let i = 8 + offset + size; i < outArena.length; i++) if (outArena[i] !== GUARD) throw new Error(`guard after, size ${size}`);
        }
      }
    }
    expect(true).toBe(true);
  });

  it('large buffers (1 MiB + 3) unmask and mask exactly', () => {
    const n = (1 << 20) + 3;
    const data = pattern(n, 5);
    const copy = Uint8Array.from(data);
    expect(impl.unmask(copy, KEY, 1)).toBe((1 + n) & 3);
    const out = new Uint8Array(n + 1);
    impl.mask(data, KEY, out, 1, n);
    for (let i = 0; i < n; i += 4099) {
      expect(copy[i]).toBe(data[i]! ^ KEY[(1 + i) & 3]!);
      expect(out[1 + i]).toBe(data[i]! ^ KEY[i & 3]!);
    }
    expect(copy[n - 1]).toBe(data[n - 1]! ^ KEY[n & 3]!);
    expect(out[0]).toBe(0);
  });
});
