/**
 * The client: connect(url, options) runs the opening handshake over Node's
 * http/https request machinery (so agents, proxies via createConnection and
 * every TLS option work as they do for HTTP) and hands the socket to the same
 * connection engine as the server.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import type { Socket } from 'node:net';
import type { ConnectionOptions as TlsConnectionOptions } from 'node:tls';
import { WsboltError } from '../core/errors.js';
import { clientRequestHeaders, generateKey, validateResponse } from '../core/handshake.js';
import { type DeflateOptions, acceptResponse, buildOffer } from '../extensions/negotiation.js';
import { PerMessageDeflate } from '../extensions/permessage-deflate.js';
import { collectRefusal, displayUrl, explainConnectError } from './client-errors.js';
import { connectHttp2 } from './client-http2.js';
import { WebSocket } from './connection.js';
import { resolveOptions } from './connection-options.js';
import { type OpenedTransport, type TransportChoice, openTransport } from './open-transport.js';
import { checkOptions } from './options/check.js';
import { CONNECT_SCHEMA } from './options/client.js';
import { clientCounters } from './stats.js';
import { trace } from './trace.js';
import type { ConnectionCallbacks } from './types.js';

/** The TLS options connect() passes to tls.connect() for wss:// (rejectUnauthorized defaults to true). */
export type TlsOptions = Pick<
  TlsConnectionOptions,
  'ca' | 'cert' | 'key' | 'passphrase' | 'pfx' | 'servername' | 'rejectUnauthorized' | 'ciphers' | 'minVersion' | 'maxVersion' | 'checkServerIdentity'
>;

/** connect()'s options: the handshake, the connection's limits and timers, its callbacks and TLS. */
export interface ConnectOptions<T = unknown> extends ConnectionCallbacks<T>, TlsOptions {
  /** Subprotocols to offer, in order of preference. */
  protocols?: string | string[];
  /** The Origin header (browsers always send one; Node clients only when asked). */
  origin?: string;
  /** Extra request headers. */
  headers?: Record<string, string>;
  /** Milliseconds for the whole opening handshake. Default 10,000. */
  handshakeTimeout?: number;
  /** Follow 3xx redirects (off by default). Authorization and Cookie are dropped when a redirect leaves the origin. */
  followRedirects?: boolean;
  /** Default 10. */
  maxRedirects?: number;
  /** An http.Agent (for example a proxy agent). */
  agent?: http.Agent;
  /** Creates the socket (for proxies and tunnels), as in http.request. */
  createConnection?: http.RequestOptions['createConnection'];
  /** Initial ws.data. */
  data?: T;
  /** Largest response body kept for an unexpected (non-101) response. Default 64 KiB. */
  maxResponseBody?: number;
  /** Offer permessage-deflate (RFC 7692). Default true; false to not offer it. */
  perMessageDeflate?: boolean | DeflateOptions;
  /**
   * What carries the connection after the handshake. 'native' (the default, unless the environment sets
   * WSBOLT_TRANSPORT=stream): the addon reads and writes the TCP socket itself; where it cannot (wss://, a
   * createConnection that gives something other than a TCP socket, WSBOLT_NO_NATIVE=1, Windows) the connection falls
   * back to 'stream', as `ws.transport` shows. 'stream': Node's socket streams, always.
   */
  transport?: TransportChoice;
  /**
   * Aborts the opening handshake: connect() rejects with an AbortError (code 'ERR_ABORTED', `cause` the signal's
   * reason) and the socket is let go. It has no effect once the connection is open (close it with ws.close()).
   */
  signal?: AbortSignal;
  /**
   * WebSockets over HTTP/2 (RFC 8441): true sends an extended CONNECT on an HTTP/2 session shared by the connections
   * to this origin (with these TLS options), and fails with ERR_HTTP2_EXTENDED_CONNECT_UNSUPPORTED when the server
   * does not advertise SETTINGS_ENABLE_CONNECT_PROTOCOL; 'prefer' falls back to HTTP/1.1 then. The connection runs on
   * the stream transport. agent, createConnection, followRedirects and transport do not apply. Default false.
   */
  http2?: boolean | 'prefer';
}

interface Target {
  url: URL;
  secure: boolean;
}

/** @internal The URL checks of connect(), also made by reconnecting() at the call (a bad URL would be retried for ever). */
export function parseTarget(input: string | URL): Target {
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    throw new WsboltError('ERR_INVALID_URL', `invalid URL: ${String(input)}`);
  }
  const scheme = url.protocol;
  if (scheme !== 'ws:' && scheme !== 'wss:' && scheme !== 'http:' && scheme !== 'https:') {
    throw new WsboltError('ERR_INVALID_URL', `the URL scheme must be ws:, wss:, http: or https:, not ${scheme}`);
  }
  if (url.hash) throw new WsboltError('ERR_INVALID_URL', 'a WebSocket URL cannot have a fragment');
  return { url, secure: scheme === 'wss:' || scheme === 'https:' };
}

const sameOrigin = (a: URL, b: URL) => a.protocol.replace('ws', 'http') === b.protocol.replace('ws', 'http') && a.host === b.host;

/** Opens a WebSocket connection; resolves once it is open (after open() ran). */
export function connect<T = unknown>(url: string | URL, options: ConnectOptions<T> = {}): Promise<WebSocket<T>> {
  try {
    checkOptions('connect()', options, CONNECT_SCHEMA);
  } catch (error) {
    return Promise.reject(error);
  }
  return openConnection(url, options);
}

/** @internal connect() for callers that checked the options already, against a wider schema (reconnecting()). */
export function openConnection<T>(url: string | URL, options: ConnectOptions<T>): Promise<WebSocket<T>> {
  let target: Target;
  try {
    target = parseTarget(url);
  } catch (error) {
    return Promise.reject(error);
  }
  if (options.signal?.aborted) return Promise.reject(abortError(target.url, options.signal));
  const deadline = Date.now() + (options.handshakeTimeout ?? 10_000);
  const overHttp1 = () => attempt(target, options, { ...(options.headers ?? {}) }, 0, deadline);
  if (options.http2) return connectHttp2(target.url, target.secure, options, deadline, options.http2 === 'prefer' ? overHttp1 : null);
  return overHttp1();
}

function attempt<T>(
  target: Target,
  options: ConnectOptions<T>,
  extraHeaders: Record<string, string>,
  redirects: number,
  deadline: number,
): Promise<WebSocket<T>> {
  const { url, secure } = target;
  const protocols = options.protocols === undefined ? [] : Array.isArray(options.protocols) ? options.protocols : [options.protocols];
  const key = generateKey();
  const deflateOptions =
    options.perMessageDeflate === false ? null : options.perMessageDeflate === true || options.perMessageDeflate === undefined ? {} : options.perMessageDeflate;
  const offer = deflateOptions ? buildOffer(deflateOptions) : undefined;
  const headers = { ...extraHeaders, ...clientRequestHeaders({ key, protocols, origin: options.origin, extensions: offer }) };
  const requestOptions: https.RequestOptions = {
    host: url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname,
    port: url.port || (secure ? 443 : 80),
    path: (url.pathname || '/') + url.search,
    method: 'GET',
    headers,
    ...(options.agent ? { agent: options.agent } : {}),
    ...(options.createConnection ? { createConnection: options.createConnection } : {}),
    ...(secure ? tlsOptions(options, url) : {}),
  };
  trace('client connecting to %s', displayUrl(url));

  return new Promise<WebSocket<T>>((resolve, fail) => {
    let settled = false;
    const settle = (error: Error | null, ws?: WebSocket<T>) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      if (error) fail(error);
      else resolve(ws!);
    };
    const request = (secure ? https : http).request(requestOptions);
    const timer = setTimeout(
      () => {
        request.destroy();
        settle(new WsboltError('ERR_HANDSHAKE_TIMEOUT', `${displayUrl(url)}: the opening handshake timed out`));
      },
      Math.max(0, deadline - Date.now()),
    );

    request.on('error', (error) => settle(explainConnectError(error, url, secure)));
    const onAbort = () => {
      request.destroy();
      settle(abortError(url, options.signal!));
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });

    request.on('response', (response) => {
      const status = response.statusCode ?? 0;
      const location = response.headers.location;
      if (options.followRedirects && status >= 300 && status < 400 && location) {
        response.resume();
        if (redirects >= (options.maxRedirects ?? 10)) {
          settle(new WsboltError('ERR_TOO_MANY_REDIRECTS', `more than ${options.maxRedirects ?? 10} redirects`));
          return;
        }
        let next: Target;
        try {
          next = parseTarget(new URL(location, url.href.replace(/^ws/, 'http')));
        } catch (error) {
          settle(error as Error);
          return;
        }
        const carried = { ...extraHeaders };
        if (!sameOrigin(url, next.url)) {
          // Credentials belong to the origin that was asked for.
          for (const name of Object.keys(carried)) {
            const lower = name.toLowerCase();
            if (lower === 'authorization' || lower === 'cookie') delete carried[name];
          }
        }
        trace('client redirected %d to %s', status, displayUrl(next.url));
        attempt(next, options, carried, redirects + 1, deadline).then(
          (ws) => settle(null, ws),
          (error) => settle(error),
        );
        return;
      }
      if (status === 101) {
        // A 101 that Node did not treat as an upgrade lacks the Upgrade/Connection tokens.
        response.resume();
        const checked = validateResponse(response.headers, key, protocols, offer !== undefined);
        settle(new WsboltError('ERR_INVALID_HANDSHAKE', typeof checked === 'string' ? checked : 'the 101 response is not an upgrade'));
        request.destroy();
        return;
      }
      // Any other answer is a refusal: report it with its status, headers and (bounded) body.
      const limit = options.maxResponseBody ?? 64 * 1024;
      collectRefusal(response, ['end', 'error', 'aborted'], limit, { status, headers: response.headers, url }, settle, () => settled);
    });

    request.on('upgrade', (response, socket: Socket, head: Buffer) => {
      const checked =
        response.statusCode === 101 ? validateResponse(response.headers, key, protocols, offer !== undefined) : `unexpected status ${response.statusCode}`;
      const agreed = typeof checked === 'string' || !checked.extensions ? null : acceptResponse(checked.extensions, deflateOptions!);
      const problem = typeof checked === 'string' ? checked : typeof agreed === 'string' ? agreed : null;
      if (problem !== null || typeof checked === 'string') {
        socket.destroy();
        settle(new WsboltError('ERR_INVALID_HANDSHAKE', problem ?? 'invalid handshake'));
        return;
      }
      if (settled) {
        socket.destroy(); // timed out meanwhile
        return;
      }
      trace('client connected to %s protocol=%s', displayUrl(url), checked.protocol || '-');
      const open = (opened: OpenedTransport) => {
        if (settled) {
          opened.transport.destroy(); // timed out meanwhile
          return;
        }
        const ws = new WebSocket<T>({
          io: opened.transport,
          role: 'client',
          handler: options,
          options: resolveOptions(options),
          data: options.data as T,
          protocol: checked.protocol,
          extensions: checked.extensions,
          hub: null,
          counters: clientCounters,
          deflate: agreed && typeof agreed !== 'string' ? new PerMessageDeflate(agreed, 'client', deflateOptions!) : null,
        });
        settle(null, ws);
        ws.invoke('open');
        if (ws.readyState === 1) ws.receiveHead(opened.head);
      };
      const opening = openTransport(socket, head, options.transport);
      if (opening instanceof Promise) opening.then(open, (error: Error) => settle(error));
      else open(opening);
    });

    request.end();
  });
}

export function abortError(url: URL, signal: AbortSignal): WsboltError {
  const error = new WsboltError('ERR_ABORTED', `the connection to ${displayUrl(url)} was aborted`, undefined, { cause: signal.reason });
  error.name = 'AbortError'; // as fetch() and Node's own APIs name it
  return error;
}

export function tlsOptions(options: TlsOptions, url: URL): TlsOptions {
  const out: Record<string, unknown> = {};
  for (const name of [
    'ca',
    'cert',
    'key',
    'passphrase',
    'pfx',
    'servername',
    'rejectUnauthorized',
    'ciphers',
    'minVersion',
    'maxVersion',
    'checkServerIdentity',
  ] as const) {
    if (options[name] !== undefined) out[name] = options[name];
  }
  // SNI needs a host name; an IP literal must not be sent as servername.
  if (out.servername === undefined && !/^[\d.]+$|:/.test(url.hostname.replace(/^\[|\]$/g, ''))) out.servername = url.hostname;
  return out as TlsOptions;
}
