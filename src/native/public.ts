/**
 * `wsbolt/native`: the masking and UTF-8 primitives for reuse, the way other
 * libraries use bufferutil and utf-8-validate.
 */
export { backend, backendError, isValidUtf8, mask, unmask } from './index.js';
export { UTF8_ACCEPT, UTF8_REJECT } from './types.js';
import { active } from './index.js';

/**
 * Incremental UTF-8 validation across pieces: pass the returned state back
 * with the next piece; 0 means a complete, valid run so far, 1 means invalid.
 */
export function utf8Step(buffer: Uint8Array, state = 0): number {
  return active.utf8Step(buffer, state);
}

/**
 * The raw implementations side by side (native is null when the addon is not
 * loaded), for benchmarks and cross-checks. Their contract (types.ts) may
 * change between minor versions; prefer the functions above.
 */
export { backends as implementations } from './index.js';
