/**
 * What a connection is configured with and what it sends: the engine's
 * option defaults, their resolution from layered options (server, route,
 * connection), and the data types send() takes.
 */
import { Buffer } from 'node:buffer';
import { CloseCode } from '../core/constants.js';
import { argTypeError } from '../native/args.js';
import type { ConnectionOptions } from './types.js';

export type SendData = string | Buffer | ArrayBuffer | ArrayBufferView;

/** How ws.send() sends one message. */
export interface SendOptions {
  /** Send as a binary message; defaults to true for buffers, false for strings. */
  binary?: boolean;
  /** Compress this message (when permessage-deflate was negotiated). */
  compress?: boolean;
  /**
   * false: more fragments of this message follow. Until a send with fin (the default) ends it, every send() continues
   * this message as a continuation frame, whatever its type (as ws does); pings and pongs may go between the
   * fragments, and publishes to this connection wait and arrive right after the final one (RFC 6455 §5.4), counted
   * in bufferedAmount meanwhile. A close before the final fragment drops those waiting publishes.
   */
  fin?: boolean;
}

/** Defaults for ConnectionOptions; see types.ts for what each means. */
export const CONNECTION_DEFAULTS = {
  maxPayload: 16 * 1024 * 1024,
  maxFragments: 128 * 1024,
  idleTimeout: 120_000,
  messageTimeout: 120_000,
  sendPings: true,
  autoPong: true,
  maxBackpressure: 16 * 1024 * 1024,
  closeOnBackpressureLimit: false,
  closeTimeout: 30_000,
  skipUtf8Validation: false,
  rateLimit: null,
  queueOverBackpressure: false,
  fragmentsCloseCode: CloseCode.MESSAGE_TOO_BIG,
  maxBufferedChunks: 0,
} satisfies ResolvedOptions;

export type ResolvedOptions = Required<ConnectionOptions> & {
  /**
   * Sends over maxBackpressure are queued rather than refused (ws semantics,
   * for wsbolt/ws). Reading from the peer still pauses above maxBackpressure,
   * so output the peer provokes (pongs, echoes) stays bounded either way.
   */
  queueOverBackpressure: boolean;
  /** The close code for a message over maxFragments (wsbolt/ws: 1008, as ws). */
  fragmentsCloseCode: number;
  /** Most chunks one unfinished frame may arrive in; 0: no limit (wsbolt/ws: ws's maxBufferedChunks). */
  maxBufferedChunks: number;
};

export function resolveOptions(...layers: (ConnectionOptions | undefined)[]): ResolvedOptions {
  const out: Record<string, unknown> = { ...CONNECTION_DEFAULTS };
  for (const layer of layers) {
    if (!layer) continue;
    for (const key of Object.keys(CONNECTION_DEFAULTS)) {
      const value = (layer as Record<string, unknown>)[key];
      if (value !== undefined) out[key] = value;
    }
  }
  return out as ResolvedOptions;
}

export function toPayload(data: SendData): Buffer | string {
  if (typeof data === 'string') return data;
  if (Buffer.isBuffer(data)) {
    // A Buffer over transferred memory reads as empty: sent, it would be an empty message in place of the data.
    if (data.length === 0 && isDetached(data.buffer)) throw detachedError();
    return data;
  }
  if (data instanceof ArrayBuffer) {
    if (isDetached(data)) throw detachedError();
    return Buffer.from(data);
  }
  if (ArrayBuffer.isView(data)) {
    if (isDetached(data.buffer)) throw detachedError(); // before byteLength, which a DataView over one throws on
    return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  }
  throw argTypeError('data must be a string, Buffer, ArrayBuffer or ArrayBufferView');
}

/**
 * Whether memory was transferred away (postMessage's transfer list, structuredClone). Node 20 has no
 * ArrayBuffer.prototype.detached; a detached buffer has length 0 and refuses any view. Only empty ones are tried.
 */
function isDetached(buffer: ArrayBufferLike): boolean {
  if (buffer.byteLength !== 0 || !(buffer instanceof ArrayBuffer)) return false;
  try {
    new Uint8Array(buffer);
    return false;
  } catch {
    return true;
  }
}

/** The payload's memory was transferred before the call: the code the flush uses for a transfer after it. */
function detachedError(): TypeError {
  return Object.assign(new TypeError('data is a detached ArrayBuffer (its memory was transferred)'), { code: 'ERR_SEND_BUFFER_DETACHED' });
}
