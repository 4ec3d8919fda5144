/**
 * How much permessage-deflate work the core does inline, on the caller's
 * thread, when its driver can run the rest elsewhere (the ProtocolHandler's
 * offload hooks). Without context takeover a message below asyncThreshold
 * bytes is (de)compressed inline, as uWebSockets and Bun do: nothing waits,
 * and no zlib state lives on an idle connection. Larger messages, and every
 * message of a direction that keeps its context, go to the driver; the core
 * keeps its order around them (held-sends.ts, and a paused reader).
 */
import type { InflateResult, PerMessageDeflate } from '../extensions/permessage-deflate.js';

/** inflateInline() could not finish inline: the driver inflates the message and hands the result back. */
export const DEFER = 'defer';

/**
 * An inline inflate may produce at most this many times asyncThreshold (1 MiB
 * by default, about a millisecond of work); past that the message is inflated
 * again by the driver. A small input can stand for maxPayload of output.
 */
const INLINE_OUTPUT_FACTOR = 16;

/** May a message of this many bytes be compressed inline rather than by the driver? */
export function compressesInline(codec: PerMessageDeflate, size: number): boolean {
  return !codec.sendContext && size < codec.asyncThreshold;
}

/**
 * Inflates a message inline, producing at most limit bytes. With mayDefer
 * (the driver can inflate), returns DEFER when the work belongs elsewhere: a
 * large input, a large output, or a kept context.
 */
export function inflateInline(codec: PerMessageDeflate, compressed: Buffer, limit: number, mayDefer: boolean): InflateResult | typeof DEFER {
  if (!mayDefer) return codec.inflate(compressed, limit);
  if (codec.receiveContext || compressed.length >= codec.asyncThreshold) return DEFER;
  const inlineLimit = Math.min(limit, codec.asyncThreshold * INLINE_OUTPUT_FACTOR);
  const out = codec.inflate(compressed, inlineLimit);
  return out === 'too-big' && inlineLimit < limit ? DEFER : out;
}
