/**
 * The permessage-deflate codec (RFC 7692 §7.2), one per connection: the
 * agreed parameters and the synchronous work on one message, compress() and
 * a bounded inflate(). Synchronous, so the sans-I/O core can call it; it
 * knows nothing of threads. When a message is small enough to run inline is
 * the core's choice (core/inline-budget.ts); the work that runs on the thread
 * pool, and the zlib streams that keep a context between messages (a Node
 * zlib stream only runs there), are the node side's (node/zlib/).
 *
 * Inflation is bounded as it runs: zlib stops one chunk past the limit, and
 * the message is refused with 1009, never truncated.
 */
import { constants as bufferConstants } from 'node:buffer';
import { constants, deflateRawSync, inflateRawSync } from 'node:zlib';
import type { DeflateOptions, DeflateParams } from './negotiation.js';

/** The inflated message, 'too-big' past the limit, or zlib's error for data that is not valid DEFLATE. */
export type InflateResult = Buffer | 'too-big' | InflateError;

/** zlib's error (its message, code and errno) for data that is not valid DEFLATE. */
export interface InflateError {
  readonly zlibError: Error;
}

/** The empty stored block a sync flush ends with (§7.2.1): removed from what is sent, put back before inflating. */
export const TAIL = Buffer.from([0x00, 0x00, 0xff, 0xff]);

/** Default asyncThreshold: below this many bytes of input, zlib runs inline. */
export const DEFAULT_ASYNC_THRESHOLD = 64 * 1024;

export class PerMessageDeflate {
  /** Messages below this many bytes go out uncompressed. */
  readonly threshold: number;
  /** Messages (compressed or to compress) of at least this many bytes are not (de)compressed inline. */
  readonly asyncThreshold: number;
  /** The window our compressor uses: what the peer agreed to decompress. */
  readonly sendWindowBits: number;
  /** The window of the peer's compressor, which our inflater must hold when the peer keeps its context. */
  readonly receiveWindowBits: number;
  /** We keep our compression context between messages (allowed by our options and the agreement). */
  readonly sendContext: boolean;
  /** The peer may keep its context: our inflater keeps its window too. */
  readonly receiveContext: boolean;
  readonly level: number;
  readonly memLevel: number;

  constructor(
    readonly params: DeflateParams,
    role: 'server' | 'client',
    options: DeflateOptions = {},
  ) {
    validateDeflateOptions(options);
    this.threshold = options.threshold ?? 1024;
    this.asyncThreshold = options.asyncThreshold ?? DEFAULT_ASYNC_THRESHOLD;
    this.level = options.level ?? constants.Z_DEFAULT_COMPRESSION;
    this.memLevel = options.memLevel ?? 8;
    const server = role === 'server';
    // zlib cannot make raw deflate streams with an 8-bit window and uses 9 instead (§7.2.3.2): so must the inflater.
    this.sendWindowBits = Math.max(9, server ? params.serverMaxWindowBits : params.clientMaxWindowBits);
    this.receiveWindowBits = Math.max(9, server ? params.clientMaxWindowBits : params.serverMaxWindowBits);
    const ownReset = server ? params.serverNoContextTakeover : params.clientNoContextTakeover;
    const ownOption = server ? options.serverNoContextTakeover : options.clientNoContextTakeover;
    this.sendContext = !ownReset && ownOption === false;
    this.receiveContext = !(server ? params.clientNoContextTakeover : params.serverNoContextTakeover);
  }

  /** The compressed payload of a message (the trailing 00 00 ff ff removed), on its own: only without send context. */
  compress(data: Buffer | string): Buffer {
    return stripTail(deflateRawSync(data, this.deflateOptions()));
  }

  /**
   * Decompresses a message on its own, producing at most limit bytes; only
   * without receive context (a kept window lives in a zlib stream, which
   * runs on the thread pool).
   */
  inflate(compressed: Buffer, limit: number): InflateResult {
    if (this.receiveContext) return inflateFailure(new Error('a kept context cannot inflate inline')); // unreachable: the core hands such messages to its driver
    return inflateOnce(compressed, limit);
  }

  /** zlib options for a one-shot compression with the agreed window (the thread-pool job uses them too). */
  deflateOptions() {
    return { finishFlush: constants.Z_SYNC_FLUSH, windowBits: this.sendWindowBits, level: this.level, memLevel: this.memLevel };
  }
}

/** zlib's error as an inflate result. */
export function inflateFailure(zlibError: Error): InflateError {
  return { zlibError };
}

/** Removes the sync flush's 00 00 ff ff from a compressed message (§7.2.1). */
export function stripTail(out: Buffer): Buffer {
  const end = out.length - 4;
  return end >= 0 && out[end] === 0 && out[end + 1] === 0 && out[end + 2] === 0xff && out[end + 3] === 0xff ? out.subarray(0, end) : out;
}

function inflateOptions(limit: number) {
  return {
    finishFlush: constants.Z_SYNC_FLUSH,
    windowBits: 15, // any window the peer used fits in the largest one
    // zlib takes at most the largest Buffer; a larger (or infinite) maxPayload means that.
    maxOutputLength: Math.max(1, Math.min(limit, bufferConstants.MAX_LENGTH)),
  };
}

function inflateError(error: Error): 'too-big' | InflateError {
  return (error as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE' ? 'too-big' : inflateFailure(error);
}

/** One message inflated on its own, inline. */
function inflateOnce(compressed: Buffer, limit: number): InflateResult {
  try {
    const out = inflateRawSync(Buffer.concat([compressed, TAIL]), inflateOptions(limit));
    return out.length > limit ? 'too-big' : out;
  } catch (error) {
    return inflateError(error as Error);
  }
}

/** Refuses options zlib or the RFC would only reject later, at the first message or handshake. */
export function validateDeflateOptions(options: DeflateOptions): void {
  const bits = (name: 'serverMaxWindowBits' | 'clientMaxWindowBits') => {
    const v = options[name];
    if (v !== undefined && !(Number.isInteger(v) && v >= 8 && v <= 15)) throw new RangeError(`perMessageDeflate.${name} must be an integer from 8 to 15`);
  };
  bits('serverMaxWindowBits');
  bits('clientMaxWindowBits');
  if (options.level !== undefined && !(Number.isInteger(options.level) && options.level >= -1 && options.level <= 9)) {
    throw new RangeError('perMessageDeflate.level must be an integer from -1 to 9');
  }
  if (options.memLevel !== undefined && !(Number.isInteger(options.memLevel) && options.memLevel >= 1 && options.memLevel <= 9)) {
    throw new RangeError('perMessageDeflate.memLevel must be an integer from 1 to 9');
  }
  if (options.threshold !== undefined && !(options.threshold >= 0)) throw new RangeError('perMessageDeflate.threshold must be >= 0');
  if (options.asyncThreshold !== undefined && !(options.asyncThreshold >= 0)) throw new RangeError('perMessageDeflate.asyncThreshold must be >= 0');
  for (const name of ['serverNoContextTakeover', 'clientNoContextTakeover'] as const) {
    if (options[name] !== undefined && typeof options[name] !== 'boolean') throw new TypeError(`perMessageDeflate.${name} must be a boolean`);
  }
}
