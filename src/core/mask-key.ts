/**
 * Masking keys for client frames come from a pool of crypto-random bytes
 * refilled in one call per 2,048 keys: RFC 6455 §5.3 wants keys the server
 * cannot predict, and one randomFillSync per frame would dominate small sends.
 */
import { randomFillSync } from 'node:crypto';

const POOL_SIZE = 8192;
const pool = Buffer.allocUnsafe(POOL_SIZE);
let position = POOL_SIZE;

/** Copies a fresh 4-byte key into target[offset, offset + 4). */
export function writeMaskKey(target: Uint8Array, offset: number): void {
  if (position === POOL_SIZE) {
    randomFillSync(pool);
    position = 0;
  }
  target[offset] = pool[position]!;
  target[offset + 1] = pool[position + 1]!;
  target[offset + 2] = pool[position + 2]!;
  target[offset + 3] = pool[position + 3]!;
  position += 4;
}
