/**
 * A delivered message is a view of the memory it was read into (see retention.ts), and the other messages of the
 * same read share that memory: a Node read, the native transport's slab or a piece of its small reads, the bytes that
 * came with the upgrade request. An application may pass a message to another thread with
 * postMessage(data, [data.buffer]). Moving that memory would empty the other messages, delivered or still to come
 * (the engine's own views of them included), so it is marked untransferable, as Node's own Buffer pool is: Node 20
 * clones the message instead, Node 21 and later throw a DataCloneError from postMessage(). A message read into a
 * buffer of its own (a large frame, a joined or inflated message) stays transferable.
 */
import { markAsUntransferable } from 'node:worker_threads';

export function markSharedReadMemory(memory: ArrayBufferLike): void {
  markAsUntransferable(memory);
}
