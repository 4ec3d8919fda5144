/**
 * The schemas of connect()'s and reconnecting()'s options (client.ts, reconnect.ts). A reconnect option added to
 * ReconnectOptions must be added to RECONNECT_SCHEMA too, or reconnecting() refuses it as unknown.
 */
import { protocolOfferProblem } from '../../core/handshake.js';
import { CALLBACK_SCHEMA, CONNECTION_SCHEMA, deflateRule, transportRule } from './connection.js';
import {
  type Rule,
  type Schema,
  anything,
  arrayOf,
  boolean,
  either,
  func,
  milliseconds,
  number,
  object,
  oneOf,
  recordOf,
  string,
  withMethods,
} from './check.js';

const keyMaterial = either(string(), withMethods('a Buffer', 'readUInt8'), arrayOf(anything, 'strings, Buffers or objects'));

const protocolNames = either(string({ nonEmpty: true }), arrayOf(string({ nonEmpty: true }), 'subprotocol names'));

/** Subprotocols to offer: strings, and (RFC 6455 §4.1, the core's check that wsbolt/ws uses too) tokens, each once. */
const subprotocols: Rule = (value, path) => {
  const problem = protocolNames(value, path);
  if (problem !== null || protocolOfferProblem(Array.isArray(value) ? value : [value]) === null) return problem;
  return { path, kind: 'range', expected: 'distinct tokens (RFC 7230: no spaces, commas or other separators)', received: value };
};

/** TlsOptions (client.ts): the TLS options connect() passes on to tls.connect. */
const TLS_SCHEMA: Schema = {
  ca: keyMaterial,
  cert: keyMaterial,
  key: keyMaterial,
  passphrase: string(),
  pfx: keyMaterial,
  servername: string(),
  rejectUnauthorized: boolean,
  ciphers: string(),
  minVersion: string(),
  maxVersion: string(),
  checkServerIdentity: func,
};

export const CONNECT_SCHEMA: Schema = {
  ...CONNECTION_SCHEMA,
  ...CALLBACK_SCHEMA,
  ...TLS_SCHEMA,
  protocols: subprotocols,
  origin: string(),
  headers: recordOf(string(), 'header values (strings)'),
  handshakeTimeout: milliseconds({ positive: true }),
  followRedirects: boolean,
  maxRedirects: number({ min: 0 }),
  agent: withMethods('an http.Agent', 'addRequest'),
  createConnection: func,
  data: anything,
  maxResponseBody: number({ min: 0, unit: 'bytes' }),
  perMessageDeflate: deflateRule,
  transport: transportRule,
  signal: withMethods('an AbortSignal', 'addEventListener'),
  http2: either(boolean, oneOf('prefer')),
};

export const RECONNECT_SCHEMA: Schema = {
  initialDelay: milliseconds(),
  maxDelay: milliseconds(),
  factor: number({ min: 1, integer: false }),
  jitter: number({ min: 0, max: 1, integer: false }),
  maxAttempts: number({ min: 0, infinity: true }),
  stableAfter: milliseconds(),
  finalCodes: arrayOf(number({ min: 1000, max: 4999 }), 'close codes'),
  queueWhileDisconnected: number({ min: 0 }),
  shouldRetry: func,
  beforeAttempt: func,
};

export const RECONNECTING_SCHEMA: Schema = {
  ...CONNECT_SCHEMA,
  reconnect: either(oneOf(true), object(RECONNECT_SCHEMA, { what: 'reconnect options' })),
  reconnecting: func,
  giveUp: func,
};
