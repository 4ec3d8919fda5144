/**
 * The one facade over the native addon and its fallback. Small inputs stay in
 * JavaScript even when the addon is loaded, because crossing into C++ costs
 * more than the work itself; the thresholds come from `npm run bench -- micro`.
 */
import { isUtf8 } from 'node:buffer';
import { fallback } from './fallback.js';
import { loadNative } from './load.js';
import type { Backend } from './types.js';

export type { Backend } from './types.js';

const loaded = loadNative();

/** Below this many bytes mask() runs in JS (measured crossover; see bench/micro). */
export const MASK_NATIVE_MIN = 48;
/** Below this many bytes unmask() runs in JS (measured crossover; see bench/micro). */
export const UNMASK_NATIVE_MIN = 32;

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
      if (length < MASK_NATIVE_MIN) fallback.mask(source, key, output, offset, length);
      else native.mask(source, key, output, offset, length);
    },
    unmask(buffer, key, phase = 0) {
      return buffer.length < UNMASK_NATIVE_MIN ? fallback.unmask(buffer, key, phase) : native.unmask(buffer, key, phase);
    },
    scanFrames: native.scanFrames,
    utf8Step: native.utf8Step,
  };
}

/** The backend the protocol core uses by default. */
export const active: Backend = loaded.binding ? withThresholds(loaded.binding) : fallback;

/** Both implementations, for tests and benchmarks that compare them. */
export const backends: { native: Backend | null; js: Backend } = { native: loaded.binding, js: fallback };

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
