/**
 * Sends held by reference behind a compression on the thread pool (held-sends.ts) are measured when held and again
 * when their turn comes. A Buffer whose memory the application moved to another thread meanwhile (postMessage's
 * transfer list) reads as empty: framed, it would be an empty message in place of the data, or a header claiming
 * bytes that are no longer there.
 */

/** Bytes of frames on the wire (also what a flush counts and checks). */
export function byteSize(frames: readonly Buffer[]): number {
  let size = 0;
  for (let i = 0; i < frames.length; i++) size += frames[i]!.length;
  return size;
}

/** True while what was held has the size it had then (a string cannot lose its bytes). */
export function stillWhole(held: Buffer | string | readonly Buffer[], size: number): boolean {
  if (typeof held === 'string') return true;
  return (Buffer.isBuffer(held) ? held.length : byteSize(held)) === size;
}
