/**
 * The schemas of the server's options (options.ts), one per scope: a route's, the server's (attach, handleUpgrade,
 * createServer) and serve()'s. Checked at the call, before anything listens.
 */
import { CALLBACK_SCHEMA, CONNECTION_SCHEMA, deflateRule, transportRule } from '../options/connection.js';
import {
  type Rule,
  type Schema,
  anything,
  arrayOf,
  boolean,
  checkArgument,
  either,
  func,
  milliseconds,
  number,
  object,
  recordOf,
  string,
  withMethods,
  withObjectField,
} from '../options/check.js';

export const ROUTE_SCHEMA: Schema = {
  ...CONNECTION_SCHEMA,
  ...CALLBACK_SCHEMA,
  upgrade: func,
  origins: arrayOf(string(), 'strings'),
  protocols: either(arrayOf(string({ nonEmpty: true }), 'subprotocol names'), func),
  handshakeTimeout: milliseconds({ positive: true }),
  perMessageDeflate: deflateRule,
  transport: transportRule,
};

export const SERVER_SCHEMA: Schema = {
  ...ROUTE_SCHEMA,
  path: string({ startsWith: '/' }),
  routes: recordOf(object(ROUTE_SCHEMA, { what: 'route options' }), 'route options by path', string({ startsWith: '/' })),
  maxConnections: number({ min: 0, infinity: true }),
  maxConnectionsPerIp: number({ min: 0, infinity: true }),
  // Seconds, as the Retry-After header counts them; an hour is the most a client should be told to wait.
  retryAfter: number({ min: 0, max: 3600, unit: 'seconds, as in the Retry-After header' }),
  adapter: withMethods('a pub/sub adapter', 'start', 'publish', 'close'),
};

/** TLS options are Node's: key material is checked for its type, the rest is left to https.createServer. */
const keyMaterial = either(string(), withMethods('a Buffer', 'readUInt8'), arrayOf(anything, 'strings, Buffers or objects'));
const TLS_SCHEMA: Schema = { key: keyMaterial, cert: keyMaterial, ca: keyMaterial, pfx: keyMaterial, passphrase: string(), SNICallback: func };

const tlsShape = object(TLS_SCHEMA, { open: true, what: 'TLS options (key, cert, …)' });
const TLS_EXPECTED = 'TLS options with key and cert (or pfx, or SNICallback)';
/** A TLS server without a certificate accepts connections and fails every handshake: refused here instead. */
const tlsRule: Rule = (v, path) => {
  const problem = tlsShape(v, path);
  if (problem) return problem;
  const tls = v as Record<string, unknown>;
  if (tls.pfx !== undefined || tls.SNICallback !== undefined || (tls.key !== undefined && tls.cert !== undefined)) return null;
  return { path, kind: 'type', expected: TLS_EXPECTED, received: v, receivedText: `an object without ${tls.key === undefined ? 'key' : 'cert'}` };
};

export const SERVE_SCHEMA: Schema = {
  ...SERVER_SCHEMA,
  port: number({ min: 0, max: 65535 }),
  host: string({ nonEmpty: true }),
  backlog: number({ min: 0 }),
  http: func,
  tls: tlsRule,
  http2: boolean,
};

/** attach()'s first argument: left out, it would fail inside as "Invalid value used as weak map key". */
export const HTTP_SERVER_RULE: Rule = withMethods('an http.Server, https.Server or http2 server with allowHTTP1', 'on');

/** handleUpgrade()'s request and socket, checked before the handshake reads them (a missing one named, not a TypeError). */
export function checkUpgradeArguments(call: string, req: unknown, socket: unknown): void {
  checkArgument(call, 'req', req, withObjectField('the upgrade request: an http.IncomingMessage, or any object with method, url and headers', 'headers'));
  checkArgument(call, 'socket', socket, withMethods("the upgrade request's socket (a stream.Duplex)", 'write', 'destroy'));
}
