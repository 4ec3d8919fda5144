/**
 * The one facade over the native addon and the TypeScript reference kernels
 * (its fallback). Small inputs stay in JavaScript even when the addon is
 * loaded, because crossing into C++ costs more than the work itself; the
 * thresholds come from `npm run bench -- micro`.
 */
import { isUtf8 } from 'node:buffer';
import { bytesLength } from './args.js';
import { reference } from './reference.js';
import { announceBackend } from './announce.js';
import { loadNative } from './load.js';
import type { Backend } from './types.js';

export type { Backend } from './types.js';

const loaded = loadNative();
announceBackend(loaded);

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
/**
 * Why the native addon is not in use: the loader's error message, or 'WSBOLT_NO_NATIVE is set'; null when
 * {@link backend} is 'native'.
 */
export const backendError: string | null = loaded.reason;
/** Which implementation is live: 'native' (the C++ addon) or 'js' (the TypeScript fallback; {@link backendError} says why). */
export const backend: 'native' | 'js' = loaded.binding ? 'native' : 'js';

/**
 * Wraps a native binding so that tiny inputs take the JS path. The choice
 * reads no argument in a way that runs user code (no coercion, no `length`
 * getter); either side then refuses bad arguments the same way (args.ts).
 */
export function withThresholds(native: Backend): Backend {
  const wrapped: Backend = {
    name: native.name,
    mask(source, key, output, offset, length) {
      if (typeof length === 'number' && length >= MASK_NATIVE_MIN) native.mask(source, key, output, offset, length);
      else reference.mask(source, key, output, offset, length);
    },
    unmask(buffer, key, phase = 0) {
      return bytesLength(buffer) >= UNMASK_NATIVE_MIN ? native.unmask(buffer, key, phase) : reference.unmask(buffer, key, phase);
    },
    scanFrames(chunk, offset, out, flags, maxPayload) {
      return typeof offset === 'number' && bytesLength(chunk) - offset >= SCAN_NATIVE_MIN
        ? native.scanFrames(chunk, offset, out, flags, maxPayload)
        : reference.scanFrames(chunk, offset, out, flags, maxPayload);
    },
    utf8Step: native.utf8Step,
  };
  return Object.freeze(wrapped);
}

/** The backend the protocol core uses by default: without the addon, the reference kernels are the fallback. */
export const active: Backend = loaded.binding ? withThresholds(loaded.binding) : reference;

/** Both implementations, for tests and benchmarks that compare them (frozen: the engine uses the same objects). */
export const backends: { readonly native: Backend | null; readonly js: Backend } = Object.freeze({ native: loaded.binding, js: reference });

const hasIsUtf8 = typeof isUtf8 === 'function';

/** Whole-buffer UTF-8 check: Node's SIMD validator where it exists (Node >= 18.14). */
export function isValidUtf8(buffer: Uint8Array): boolean {
  if (hasIsUtf8) return isUtf8(buffer);
  return active.utf8Step(buffer, 0) === 0;
}

/**
 * output[offset + i] = source[i] ^ key[i & 3]; the bufferutil signature.
 * Throws a TypeError (code ERR_INVALID_ARG_TYPE) for what is not a Uint8Array
 * or a number, a RangeError (ERR_OUT_OF_RANGE) for a short key or a range
 * outside source or output.
 */
export function mask(source: Uint8Array, key: Uint8Array, output: Uint8Array, offset: number, length: number): void {
  active.mask(source, key, output, offset, length);
}

/** In place buffer[i] ^= key[(phase + i) & 3]; returns the next phase. Throws as mask() does. */
export function unmask(buffer: Uint8Array, key: Uint8Array, phase = 0): number {
  return active.unmask(buffer, key, phase);
}
