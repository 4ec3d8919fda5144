/**
 * The schema of what server and client share: a connection's options (limits, timers), the handler callbacks, and
 * the nested permessage-deflate and rateLimit objects. Units and floors are decided here, once:
 * - sizes are bytes, integers ≥ 0 (maxPayload 0 refuses every non-empty message, as in Bun);
 * - idleTimeout and messageTimeout are milliseconds, 0 to disable, else at least 1,000: the idle sweep ticks every
 *   250 ms, and a smaller value is the seconds idleTimeout once took (`120` meant two minutes);
 * - every other duration is milliseconds from 0 (or 1) up to setTimeout's ceiling, 2^31 - 1.
 */
import { type Rule, type Schema, boolean, either, func, milliseconds, nullable, number, object, oneOf } from './check.js';

const bytes = number({ min: 0, unit: 'bytes' });
const perSecond = number({ above: 0, integer: false, unit: 'per second' });

export const RATE_LIMIT_SCHEMA: Schema = {
  messagesPerSecond: perSecond,
  framesPerSecond: perSecond,
  bytesPerSecond: perSecond,
  burst: number({ above: 0, integer: false, unit: 'seconds of allowance' }),
};

export const DEFLATE_SCHEMA: Schema = {
  serverMaxWindowBits: number({ min: 8, max: 15 }),
  clientMaxWindowBits: number({ min: 8, max: 15 }),
  serverNoContextTakeover: boolean,
  clientNoContextTakeover: boolean,
  threshold: bytes,
  asyncThreshold: bytes,
  level: number({ min: -1, max: 9 }),
  memLevel: number({ min: 1, max: 9 }),
};

export const deflateRule: Rule = either(boolean, object(DEFLATE_SCHEMA, { what: 'permessage-deflate options' }));

/** ConnectionOptions (src/node/types.ts). */
export const CONNECTION_SCHEMA: Schema = {
  maxPayload: bytes,
  maxFragments: number({ min: 1 }),
  idleTimeout: milliseconds({ zeroDisables: true, floor: 1000 }),
  messageTimeout: milliseconds({ zeroDisables: true, floor: 1000 }),
  sendPings: boolean,
  autoPong: boolean,
  maxBackpressure: bytes,
  closeOnBackpressureLimit: boolean,
  closeTimeout: milliseconds({ positive: true }),
  skipUtf8Validation: boolean,
  rateLimit: nullable(object(RATE_LIMIT_SCHEMA, { what: 'rate limits' })),
};

/** Handler's callbacks, upgrade aside (the server's only). */
export const CALLBACK_SCHEMA: Schema = {
  open: func,
  message: func,
  drain: func,
  ping: func,
  pong: func,
  close: func,
  error: func,
};

export const transportRule: Rule = oneOf('native', 'stream');
