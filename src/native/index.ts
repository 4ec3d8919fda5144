/**
 * The one facade over the native addon and the TypeScript reference kernels
 * (its fallback). Small inputs stay in JavaScript even when the addon is
 * loaded, because crossing into C++ costs more than the work itself; the
 * thresholds come from `npm run bench -- micro`.
 */
import { isUtf8 } from 'node:buffer';
import { reference } from './reference.js';
import { loadNative } from './load.js';
import type { Backend } from './types.js';

export type { Backend } from './types.js';

const loaded = loadNative();

/*
 * Crossovers measured with `npm run bench -- micro` (Node 20, x86-64 with
 * AVX2, 2 shared cores): the first size from which the addon beats the JS
 * loop three sizes in a row. A call into C++ costs about 100 ns here, which
 * the JS loop spends on about 90 bytes.
 */
/** Below this many bytes mask() runs in JS: crossover measured at 64-72 B over two runs. */
export const MASK_NATIVE_MIN = 64;
/** Below this many bytes unmask() runs in JS: crossover measured at 92-100 B over two runs. */
export const UNMASK_NATIVE_MIN = 96;
/** Chunks shorter than this are scanned in JS: one 16 B frame scans in 104 ns in JS, 212 ns native; even at 125 B. */
export const SCAN_NATIVE_MIN = 128;

/** The raw addon, or null when it is not loaded. */
export const nativeBinding: Backend | null = loaded.binding;
/** Why the addon is not loaded (null when it is). */
export const nativeLoadError: string | null = loaded.reason;
/** Which implementation is live. */
export const backend: 'native' | 'js' = loaded.binding ? 'native' : 'js';

/** Wraps a native binding so that tiny inputs take the JS path. */
export function withThresholds(native: Backend): Backend {
  return {
    name: native.name,
    mask(source, key, output, offset, length) {
      if (length < MASK_NATIVE_MIN) reference.mask(source, key, output, offset, length);
      else native.mask(source, key, output, offset, length);
    },
    unmask(buffer, key, phase = 0) {
      return buffer.length < UNMASK_NATIVE_MIN ? reference.unmask(buffer, key, phase) : native.unmask(buffer, key, phase);
    },
    scanFrames(chunk, offset, out, flags, maxPayload) {
      return chunk.length - offset < SCAN_NATIVE_MIN
        ? reference.scanFrames(chunk, offset, out, flags, maxPayload)
        : native.scanFrames(chunk, offset, out, flags, maxPayload);
    },
    utf8Step: native.utf8Step,
  };
}

/** The backend the protocol core uses by default: without the addon, the reference kernels are the fallback. */
export const active: Backend = loaded.binding ? withThresholds(loaded.binding) : reference;

/** Both implementations, for tests and benchmarks that compare them. */
export const backends: { native: Backend | null; js: Backend } = { native: loaded.binding, js: reference };

const hasIsUtf8 = typeof isUtf8 === 'function';

/** Whole-buffer UTF-8 check: Node's SIMD validator where it exists (Node >= 18.14). */
export function isValidUtf8(buffer: Uint8Array): boolean {
  if (hasIsUtf8) return isUtf8(buffer);
  return active.utf8Step(buffer, 0) === 0;
}

/** output[offset + i] = source[i] ^ key[i & 3]; the bufferutil signature. */
export function mask(source: Uint8Array, key: Uint8Array, output: Uint8Array, offset: number, length: number): void {
  if (offset < 0 || length < 0 || offset + length > output.length || length > source.length || key.length < 4) {
    throw new RangeError('mask(): range out of bounds');
  }
  active.mask(source, key, output, offset, length);
}

/** In place buffer[i] ^= key[(phase + i) & 3]; returns the next phase. */
export function unmask(buffer: Uint8Array, key: Uint8Array, phase = 0): number {
  if (key.length < 4) throw new RangeError('unmask(): key must have 4 bytes');
  return active.unmask(buffer, key, phase & 3);
}
