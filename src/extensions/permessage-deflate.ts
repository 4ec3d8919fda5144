/**
 * The permessage-deflate codec (RFC 7692 §7.2), one per connection.
 *
 * Where the work runs:
 * - Without context takeover (the default, both ways) a message below
 *   `asyncThreshold` bytes is compressed or inflated inline, synchronously,
 *   as uWebSockets and Bun do: nothing waits, nothing is allocated besides
 *   zlib's own buffers, no zlib state lives on an idle connection, and one
 *   compressed frame can go to every subscriber of a topic.
 * - Larger messages, and every message of a direction that keeps its context
 *   (a zlib stream only runs on the thread pool), are offloaded: the job goes
 *   through the process-wide limiter (zlib-limiter.ts) and the connection
 *   keeps its order around it (the core holds later frames, see protocol.ts).
 *
 * Inflation is bounded as it runs: zlib stops one chunk past maxPayload, and
 * the message is refused with 1009, never truncated.
 */
import { constants as bufferConstants } from 'node:buffer';
import { constants, deflateRaw, deflateRawSync, inflateRawSync } from 'node:zlib';
import type { DeflateOptions, DeflateParams } from './negotiation.js';
import { ContextDeflater, ContextInflater, TAIL } from './zlib-context.js';
import { zlibLimiter } from './zlib-limiter.js';

export type InflateResult = Buffer | 'too-big' | 'invalid';
/** inflate() could not finish inline: run inflateAsync() and hand its result back to the core. */
export const DEFER = 'defer';

/** Default asyncThreshold: below this many bytes of input, zlib runs inline. */
export const DEFAULT_ASYNC_THRESHOLD = 64 * 1024;
/**
 * An inline inflate may produce at most this many times asyncThreshold (1 MiB
 * by default, about a millisecond of work); past that the message is inflated
 * again off the main thread. A small input can stand for maxPayload of output.
 */
const INLINE_OUTPUT_FACTOR = 16;

export class PerMessageDeflate {
  /** Messages below this many bytes go out uncompressed. */
  readonly threshold: number;
  /** Messages (compressed or to compress) of at least this many bytes are offloaded to the thread pool. */
  readonly asyncThreshold: number;
  /** The window our compressor uses: what the peer agreed to decompress. */
  readonly sendWindowBits: number;
  /** The window of the peer's compressor, which our inflater must hold when the peer keeps its context. */
  readonly receiveWindowBits: number;
  /** We keep our compression context between messages (allowed by our options and the agreement). */
  readonly sendContext: boolean;
  /** The peer may keep its context: our inflater keeps its window too. */
  readonly receiveContext: boolean;
  private readonly level: number;
  private readonly memLevel: number;
  private deflater: ContextDeflater | null = null;
  private inflater: ContextInflater | null = null;
  private closedFlag = false;

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

  /** True once close() ran: pending jobs are dropped, no callback follows. */
  get closed(): boolean {
    return this.closedFlag;
  }

  /** May a message of this many bytes be compressed inline (compress()) rather than with compressAsync()? */
  compressesInline(size: number): boolean {
    return !this.sendContext && size < this.asyncThreshold;
  }

  /** The compressed payload of a message (the trailing 00 00 ff ff removed), inline; only without send context. */
  compress(data: Buffer | string): Buffer {
    return stripTail(deflateRawSync(data, this.deflateOptions()));
  }

  /**
   * Compresses on the thread pool, through the limiter; done is not called
   * once the codec is closed. One call at a time per codec (the core waits).
   */
  compressAsync(data: Buffer | string, done: (result: Buffer | Error) => void): void {
    zlibLimiter.add((release) => {
      if (this.closedFlag) return release();
      const finish = (result: Buffer | Error) => {
        release();
        if (!this.closedFlag) done(result instanceof Error ? result : stripTail(result));
      };
      if (this.sendContext) {
        (this.deflater ??= new ContextDeflater(this.sendWindowBits, this.level, this.memLevel)).compress(data, finish);
      } else {
        deflateRaw(data, this.deflateOptions(), (error, out) => finish(error ?? out));
      }
    });
  }

  /**
   * Decompresses a message, producing at most limit bytes. With mayDefer
   * (the driver can run inflateAsync), returns DEFER when the work belongs
   * off the main thread: a large input, a large output, or a kept context.
   */
  inflate(compressed: Buffer, limit: number, mayDefer = false): InflateResult | typeof DEFER {
    if (mayDefer && (this.receiveContext || compressed.length >= this.asyncThreshold)) return DEFER;
    if (this.receiveContext) return 'invalid'; // unreachable: the core refuses a context without a driver that defers
    const inlineLimit = mayDefer ? Math.min(limit, this.asyncThreshold * INLINE_OUTPUT_FACTOR) : limit;
    const out = inflateOnce(compressed, inlineLimit);
    return out === 'too-big' && inlineLimit < limit ? DEFER : out;
  }

  /** Inflates on the thread pool, through the limiter; done is not called once the codec is closed. */
  inflateAsync(compressed: Buffer, limit: number, done: (result: InflateResult) => void): void {
    zlibLimiter.add((release) => {
      if (this.closedFlag) return release();
      const finish = (result: InflateResult) => {
        release();
        if (!this.closedFlag) done(result);
      };
      if (this.receiveContext) {
        (this.inflater ??= new ContextInflater(this.receiveWindowBits)).inflate(compressed, limit, finish);
      } else {
        // A stream of its own, closed after this message: it stops zlib the moment the output passes the limit, where
        // the one-shot inflateRaw() ran on to maxOutputLength and then joined; 5 bombs grew RSS by ~40 MiB, not ~71.
        const once = new ContextInflater(15);
        once.inflate(compressed, limit, (result) => {
          once.close();
          finish(result);
        });
      }
    });
  }

  /** The connection is gone: free the zlib streams now; jobs still queued or running end without a callback. */
  close(): void {
    if (this.closedFlag) return;
    this.closedFlag = true;
    this.deflater?.close();
    this.inflater?.close();
    this.deflater = null;
    this.inflater = null;
  }

  private deflateOptions() {
    return { finishFlush: constants.Z_SYNC_FLUSH, windowBits: this.sendWindowBits, level: this.level, memLevel: this.memLevel };
  }
}

function stripTail(out: Buffer): Buffer {
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

function inflateError(error: Error): 'too-big' | 'invalid' {
  return (error as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE' ? 'too-big' : 'invalid';
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
