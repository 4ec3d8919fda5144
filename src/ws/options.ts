/**
 * ws's options as the engine's: which limits and defaults the engine
 * enforces for a wsbolt/ws connection (ResolvedOptions), what the ws layer
 * enforces itself (WsPolicy), and permessage-deflate.
 */
import type { DeflateOptions } from '../extensions/negotiation.js';
import { type ResolvedOptions, resolveOptions } from '../node/connection-options.js';
import { setZlibConcurrency } from '../node/zlib/limiter.js';
import { CLOSE_TIMEOUT, DEFAULT_MAX_BUFFERED_CHUNKS, DEFAULT_MAX_FRAGMENTS, DEFAULT_MAX_PAYLOAD, DEFAULT_MAX_PENDING_AUTO_PONGS } from './constants.js';
import type { WebSocket } from './websocket.js';

/** The ws options that shape a connection. */
export interface ConnectionSettings {
  maxPayload?: number | undefined;
  skipUTF8Validation?: boolean | undefined;
  autoPong?: boolean | undefined;
  closeTimeout?: number | undefined;
  maxFragments?: number | undefined;
  maxPendingAutoPongs?: number | undefined;
  maxBufferedChunks?: number | undefined;
  allowSynchronousEvents?: boolean | undefined;
}

/** What the ws layer itself enforces on a connection (the engine does the rest). */
export interface WsPolicy {
  allowSynchronousEvents: boolean;
  autoPong: boolean;
  /** 0: no limit. */
  maxPendingAutoPongs: number;
  /** Milliseconds to wait for the peer once this side ended the connection. */
  closeTimeout: number;
}

/** ws's own per-connection behaviour, with ws's defaults (ws reads them with `| 0` and `!== false`). */
export function wsPolicy(settings: ConnectionSettings): WsPolicy {
  return {
    allowSynchronousEvents: settings.allowSynchronousEvents !== false,
    autoPong: settings.autoPong !== false,
    maxPendingAutoPongs: (settings.maxPendingAutoPongs ?? DEFAULT_MAX_PENDING_AUTO_PONGS) | 0,
    closeTimeout: settings.closeTimeout ?? CLOSE_TIMEOUT,
  };
}

const UNLIMITED = Number.MAX_SAFE_INTEGER;

/**
 * Engine options with ws semantics: maxPayload 100 MiB and maxFragments 16,384
 * by default (0 means no limit; too many fragments close with 1008), automatic
 * pongs left to the ws layer (maxPendingAutoPongs), no idle or message timeout
 * and no keepalive pings, sends never
 * refused for backpressure, 30 s to finish the closing handshake. Reading from
 * the peer still pauses while more than the engine's default maxBackpressure
 * waits to be written: a peer that provokes output (pings, messages an app
 * echoes) but does not read cannot grow the server's memory.
 */
export function engineOptions(settings: ConnectionSettings): ResolvedOptions {
  const maxPayload = settings.maxPayload ?? DEFAULT_MAX_PAYLOAD;
  const options = resolveOptions({
    maxPayload: maxPayload > 0 ? maxPayload : UNLIMITED,
    maxFragments: (settings.maxFragments ?? DEFAULT_MAX_FRAGMENTS) > 0 ? (settings.maxFragments ?? DEFAULT_MAX_FRAGMENTS) : UNLIMITED,
    idleTimeout: 0,
    messageTimeout: 0,
    sendPings: false,
    autoPong: false,
    closeOnBackpressureLimit: false,
    closeTimeout: settings.closeTimeout ?? CLOSE_TIMEOUT,
    skipUtf8Validation: settings.skipUTF8Validation === true,
  });
  return {
    ...options,
    queueOverBackpressure: true,
    fragmentsCloseCode: 1008,
    maxBufferedChunks: (settings.maxBufferedChunks ?? DEFAULT_MAX_BUFFERED_CHUNKS) | 0,
  };
}

/**
 * ws's perMessageDeflate option as the engine's DeflateOptions, or null when
 * off. ws's defaults: context takeover kept in both directions unless
 * `serverNoContextTakeover` / `clientNoContextTakeover` is true (so the offer
 * and the agreed parameters are ws's, and each connection holds a zlib stream
 * per direction, as in ws). `concurrencyLimit` sets the process-wide zlib
 * limit (in ws it is process-wide too, fixed by the first connection that sets it).
 */
export function deflateOptionsFrom(value: unknown): DeflateOptions | null {
  if (!value) return null;
  const o = (value === true ? {} : value) as WebSocket.PerMessageDeflateOptions;
  const out: DeflateOptions = { serverNoContextTakeover: o.serverNoContextTakeover === true, clientNoContextTakeover: o.clientNoContextTakeover === true };
  if (typeof o.serverMaxWindowBits === 'number') out.serverMaxWindowBits = o.serverMaxWindowBits;
  if (typeof o.clientMaxWindowBits === 'number') out.clientMaxWindowBits = o.clientMaxWindowBits;
  if (typeof o.threshold === 'number') out.threshold = o.threshold;
  if (typeof o.zlibDeflateOptions?.level === 'number') out.level = o.zlibDeflateOptions.level;
  if (typeof o.zlibDeflateOptions?.memLevel === 'number') out.memLevel = o.zlibDeflateOptions.memLevel;
  if (typeof o.concurrencyLimit === 'number' && Number.isInteger(o.concurrencyLimit) && o.concurrencyLimit >= 1) {
    setZlibConcurrency(o.concurrencyLimit);
  }
  return out;
}
