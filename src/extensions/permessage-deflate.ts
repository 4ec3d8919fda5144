/**
 * The permessage-deflate codec (RFC 7692 §7.2). Every message is compressed
 * and decompressed on its own (no context takeover, negotiated in both
 * directions), synchronously, as uWebSockets and Bun do: messages cannot be
 * reordered, nothing waits on zlib's thread pool, and no zlib state lives on
 * an idle connection. Inflation is bounded as it runs: zlib stops one chunk
 * past maxPayload, and the message is refused with 1009, never truncated.
 */
import { constants as bufferConstants } from 'node:buffer';
import { constants, deflateRawSync, inflateRawSync } from 'node:zlib';
import type { DeflateOptions, DeflateParams } from './negotiation.js';

/** The empty stored block a sync flush ends with; removed by the sender, restored by the receiver (§7.2.1, §7.2.2). */
const TAIL = Buffer.from([0x00, 0x00, 0xff, 0xff]);

export type InflateResult = Buffer | 'too-big' | 'invalid';

export class PerMessageDeflate {
  /** Messages below this many bytes go out uncompressed. */
  readonly threshold: number;
  /** The window our compressor uses: what the peer agreed to decompress. */
  readonly sendWindowBits: number;
  private readonly level: number;
  private readonly memLevel: number;

  constructor(
    readonly params: DeflateParams,
    role: 'server' | 'client',
    options: DeflateOptions = {},
  ) {
    validateDeflateOptions(options);
    this.threshold = options.threshold ?? 1024;
    this.level = options.level ?? constants.Z_DEFAULT_COMPRESSION;
    this.memLevel = options.memLevel ?? 8;
    const bits = role === 'server' ? params.serverMaxWindowBits : params.clientMaxWindowBits;
    // zlib cannot make raw deflate streams with an 8-bit window; 9 is what it uses for 8 anyway.
    this.sendWindowBits = Math.max(9, bits);
  }

  /** The compressed payload of a message (the trailing 00 00 ff ff removed). */
  compress(data: Buffer | string): Buffer {
    const out = deflateRawSync(data, {
      finishFlush: constants.Z_SYNC_FLUSH,
      windowBits: this.sendWindowBits,
      level: this.level,
      memLevel: this.memLevel,
    });
    const end = out.length - 4;
    return end >= 0 && out[end] === 0 && out[end + 1] === 0 && out[end + 2] === 0xff && out[end + 3] === 0xff ? out.subarray(0, end) : out;
  }

  /** Decompresses a message, producing at most limit bytes. */
  inflate(compressed: Buffer, limit: number): InflateResult {
    try {
      const out = inflateRawSync(Buffer.concat([compressed, TAIL]), {
        finishFlush: constants.Z_SYNC_FLUSH,
        windowBits: 15, // any window the peer used fits in the largest one
        // zlib takes at most the largest Buffer; a larger (or infinite) maxPayload means that.
        maxOutputLength: Math.max(1, Math.min(limit, bufferConstants.MAX_LENGTH)),
      });
      return out.length > limit ? 'too-big' : out;
    } catch (error) {
      return (error as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE' ? 'too-big' : 'invalid';
    }
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
}
