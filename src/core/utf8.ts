/**
 * Incremental UTF-8 validation for text that arrives in pieces. Whole runs go
 * to Node's SIMD validator (buffer.isUtf8); only the bytes around a piece's
 * edges, where a code point may be split, go through the backend's state
 * machine, which carries the state to the next piece.
 */
import { isValidUtf8 } from '../native/index.js';
import { type Backend, UTF8_ACCEPT, UTF8_REJECT } from '../native/types.js';

/** Below this, the state machine alone is cheaper than finding a boundary first. */
const BULK_MIN = 64;

export function utf8Continue(backend: Backend, bytes: Uint8Array, state: number): number {
  if (state !== UTF8_ACCEPT || bytes.length < BULK_MIN) return backend.utf8Step(bytes, state);
  // Find where the last code point starts; everything before it must be complete.
  let i = bytes.length - 1;
  let back = 0;
  while (back < 3 && i > 0 && (bytes[i]! & 0xc0) === 0x80) {
    i--;
    back++;
  }
  const cut = bytes[i]! >= 0xc0 ? i : bytes.length;
  if (!isValidUtf8(bytes.subarray(0, cut))) return UTF8_REJECT;
  return cut === bytes.length ? UTF8_ACCEPT : backend.utf8Step(bytes.subarray(cut), UTF8_ACCEPT);
}
