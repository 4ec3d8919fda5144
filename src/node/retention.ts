/**
 * What a delivered message may keep alive. A message is handed over as a view into the bytes it arrived in, which is
 * free; but a view keeps its whole backing buffer. Node's reads retain at most 64 KiB each; the native transport reads
 * a loop turn into one large slab and, when the turn read much, hands that slab over rather than copying it. A small
 * message kept by the application (a history, a cache) would then pin the slab: such a message is copied instead, so a
 * message retains at most max(64 KiB, 64 × its size).
 */
import { Buffer } from 'node:buffer';
const NODE_READ_BOUND = 64 * 1024;
const MAX_AMPLIFICATION = 64;

export function detachFromLargeRead(data: Buffer): Buffer {
  const backing = data.buffer.byteLength;
  return backing > NODE_READ_BOUND && backing > data.length * MAX_AMPLIFICATION ? Buffer.from(data) : data;
}
