/**
 * What a delivered message may keep alive. A message is handed over as a view into the bytes it arrived in, which is
 * free; but a view keeps its whole backing buffer. Node's reads retain at most 64 KiB each; the native transport reads
 * a loop turn into one 512 KiB slab, copies each connection's small reads of the turn into pieces of at most 64 KiB
 * and, when one connection read 16 KiB or more, hands the slab itself over rather than copying that. A small message
 * kept by the application (a history, a cache) would then pin the slab: such a message is copied instead, so a message
 * retains at most max(64 KiB, 64 × its size).
 */
import { Buffer } from 'node:buffer';
const NODE_READ_BOUND = 64 * 1024;
const MAX_AMPLIFICATION = 64;

export function detachFromLargeRead(data: Buffer): Buffer {
  const backing = data.buffer.byteLength;
  return backing > NODE_READ_BOUND && backing > data.length * MAX_AMPLIFICATION ? Buffer.from(data) : data;
}
