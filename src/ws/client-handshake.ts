/**
 * The client's opening handshake, as ws's initAsClient does it: on
 * http.request, so that the `upgrade`, `unexpected-response` and `redirect`
 * events and `finishRequest` behave exactly as in ws. Once the socket is
 * upgraded, the engine's connection takes it over (WebSocket._setSocket), as
 * on the server side.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import type { Duplex } from 'node:stream';
import * as tls from 'node:tls';
import { acceptKey, chosenProtocolProblem, generateKey, protocolOfferProblem } from '../core/handshake.js';
import { acceptResponse, buildOffer, parseExtensions } from '../extensions/negotiation.js';
import { PerMessageDeflate } from '../extensions/permessage-deflate.js';
import {
  CLOSE_TIMEOUT,
  CONNECTING,
  DEFAULT_MAX_BUFFERED_CHUNKS,
  DEFAULT_MAX_FRAGMENTS,
  DEFAULT_MAX_PAYLOAD,
  DEFAULT_MAX_PENDING_AUTO_PONGS,
} from './constants.js';
import { deflateOptionsFrom, engineOptions, wsPolicy } from './options.js';
import type { WebSocket } from './websocket.js';

/** Marks a request this side aborted, so that its 'error' is not reported. */
const kAborted = Symbol('kAborted');

export function initAsClient(websocket: WebSocket, address: string | URL, protocols: string[], options: any): void {
  const opts: any = {
    allowSynchronousEvents: true,
    autoPong: true,
    closeTimeout: CLOSE_TIMEOUT,
    maxBufferedChunks: DEFAULT_MAX_BUFFERED_CHUNKS,
    maxFragments: DEFAULT_MAX_FRAGMENTS,
    maxPendingAutoPongs: DEFAULT_MAX_PENDING_AUTO_PONGS,
    protocolVersion: 13,
    maxPayload: DEFAULT_MAX_PAYLOAD,
    skipUTF8Validation: false,
    perMessageDeflate: true,
    followRedirects: false,
    maxRedirects: 10,
    ...options,
    socketPath: undefined,
    hostname: undefined,
    protocol: undefined,
    protocols: undefined,
    timeout: undefined,
    method: 'GET',
    host: undefined,
    path: undefined,
    port: undefined,
  };

  if (opts.protocolVersion !== 8 && opts.protocolVersion !== 13) {
    throw new RangeError(`Unsupported protocol version: ${opts.protocolVersion} (supported versions: 8, 13)`);
  }

  let parsedUrl: URL;
  if (address instanceof URL) {
    parsedUrl = address;
  } else {
    try {
      parsedUrl = new URL(address);
    } catch {
      throw new SyntaxError(`Invalid URL: ${address}`);
    }
  }
  if (parsedUrl.protocol === 'http:' || parsedUrl.protocol === 'https:') {
    parsedUrl = new URL(parsedUrl);
    parsedUrl.protocol = parsedUrl.protocol === 'http:' ? 'ws:' : 'wss:';
  }
  websocket._url = parsedUrl.href;

  const isSecure = parsedUrl.protocol === 'wss:';
  const isIpcUrl = parsedUrl.protocol === 'ws+unix:';
  let invalidUrlMessage: string | undefined;
  if (parsedUrl.protocol !== 'ws:' && !isSecure && !isIpcUrl) {
    invalidUrlMessage = 'The URL\'s protocol must be one of "ws:", "wss:", "http:", "https:", or "ws+unix:"';
  } else if (isIpcUrl && !parsedUrl.pathname) {
    invalidUrlMessage = "The URL's pathname is empty";
  } else if (parsedUrl.hash) {
    invalidUrlMessage = 'The URL contains a fragment identifier';
  }
  if (invalidUrlMessage) {
    const err = new SyntaxError(invalidUrlMessage);
    if (websocket._redirects === 0) throw err;
    emitErrorAndClose(websocket, err);
    return;
  }

  const defaultPort = isSecure ? 443 : 80;
  const key = generateKey();
  const request = isSecure ? https.request : http.request;

  opts.createConnection = opts.createConnection || (isSecure ? tlsConnect : netConnect);
  opts.defaultPort = opts.defaultPort || defaultPort;
  opts.port = parsedUrl.port || defaultPort;
  opts.host = parsedUrl.hostname.startsWith('[') ? parsedUrl.hostname.slice(1, -1) : parsedUrl.hostname;
  opts.headers = {
    ...opts.headers,
    'Sec-WebSocket-Version': opts.protocolVersion,
    'Sec-WebSocket-Key': key,
    Connection: 'Upgrade',
    Upgrade: 'websocket',
  };
  opts.path = parsedUrl.pathname + parsedUrl.search;
  opts.timeout = opts.handshakeTimeout;
  const deflateOptions = deflateOptionsFrom(opts.perMessageDeflate);
  if (deflateOptions) opts.headers['Sec-WebSocket-Extensions'] = buildOffer(deflateOptions);

  if (protocols.length) {
    if (protocolOfferProblem(protocols) !== null) throw new SyntaxError('An invalid or duplicated subprotocol was specified');
    opts.headers['Sec-WebSocket-Protocol'] = protocols.join(',');
  }
  if (opts.origin) {
    if (opts.protocolVersion < 13) opts.headers['Sec-WebSocket-Origin'] = opts.origin;
    else opts.headers.Origin = opts.origin;
  }
  if (parsedUrl.username || parsedUrl.password) {
    opts.auth = `${decodeURIComponentSafe(parsedUrl.username)}:${decodeURIComponentSafe(parsedUrl.password)}`;
  }
  if (isIpcUrl) {
    const i = opts.path.indexOf(':');
    if (i === -1) {
      opts.socketPath = opts.path;
      opts.path = '';
    } else {
      opts.socketPath = opts.path.slice(0, i);
      opts.path = opts.path.slice(i + 1);
    }
  }

  let req: http.ClientRequest | null;
  if (opts.followRedirects) {
    if (websocket._redirects === 0) {
      websocket._originalIpc = isIpcUrl;
      websocket._originalSecure = isSecure;
      websocket._originalHostOrSocketPath = isIpcUrl ? opts.socketPath : parsedUrl.host;
      const headers = options && options.headers;
      // A copy, so that the headers can change between redirects without touching the caller's object.
      options = { ...options, headers: {} };
      if (headers) {
        for (const [name, value] of Object.entries(headers)) options.headers[name.toLowerCase()] = value;
      }
    } else if (websocket.listenerCount('redirect') === 0) {
      const isSameHost = isIpcUrl
        ? websocket._originalIpc
          ? opts.socketPath === websocket._originalHostOrSocketPath
          : false
        : websocket._originalIpc
          ? false
          : parsedUrl.host === websocket._originalHostOrSocketPath;
      if (!isSameHost || (websocket._originalSecure && !isSecure)) {
        // As curl: credentials stay with the host they were meant for.
        delete opts.headers.authorization;
        delete opts.headers.cookie;
        if (!isSameHost) delete opts.headers.host;
        opts.auth = undefined;
      }
    }
    // As curl: the first Authorization header wins.
    if (opts.auth && !options.headers.authorization) {
      options.headers.authorization = 'Basic ' + Buffer.from(opts.auth).toString('base64');
    }
    req = websocket._req = request(opts);
    if (websocket._redirects) websocket.emit('redirect', websocket.url, req);
  } else {
    req = websocket._req = request(opts);
  }

  if (opts.timeout) {
    req.on('timeout', () => {
      abortHandshake(websocket, req!, 'Opening handshake has timed out');
    });
  }

  req.on('error', (err) => {
    if (req === null || (req as any)[kAborted]) return;
    req = websocket._req = null;
    emitErrorAndClose(websocket, err);
  });

  req.on('response', (res) => {
    const location = res.headers.location;
    const statusCode = res.statusCode!;
    if (location && opts.followRedirects && statusCode >= 300 && statusCode < 400) {
      if (++websocket._redirects > opts.maxRedirects) {
        abortHandshake(websocket, req!, 'Maximum redirects exceeded');
        return;
      }
      (req as any)[kAborted] = true;
      req!.destroy();
      let addr: URL;
      try {
        addr = new URL(location, address);
      } catch {
        emitErrorAndClose(websocket, new SyntaxError(`Invalid URL: ${location}`));
        return;
      }
      initAsClient(websocket, addr, protocols, options);
    } else if (!websocket.emit('unexpected-response', req, res)) {
      abortHandshake(websocket, req!, `Unexpected server response: ${res.statusCode}`);
    }
  });

  req.on('upgrade', (res: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
    websocket.emit('upgrade', res);
    // A listener of 'upgrade' may have closed the connection.
    if (websocket.readyState !== CONNECTING) return;
    req = websocket._req = null;

    const upgrade = res.headers.upgrade;
    if (upgrade === undefined || upgrade.toLowerCase() !== 'websocket') {
      abortHandshake(websocket, socket, 'Invalid Upgrade header');
      return;
    }
    if (res.headers['sec-websocket-accept'] !== acceptKey(key)) {
      abortHandshake(websocket, socket, 'Invalid Sec-WebSocket-Accept header');
      return;
    }
    const serverProt = res.headers['sec-websocket-protocol'] as string | undefined;
    const protocolProblem = chosenProtocolProblem(serverProt, protocols);
    // Stricter than RFC 6455 (which lets the server choose none), as ws is.
    const protocolError =
      protocolProblem === 'none-offered'
        ? 'Server sent a subprotocol but none was requested'
        : protocolProblem === 'not-offered'
          ? 'Server sent an invalid subprotocol'
          : serverProt === undefined && protocols.length > 0
            ? 'Server sent no subprotocol'
            : null;
    if (protocolError !== null) {
      abortHandshake(websocket, socket, protocolError);
      return;
    }
    if (serverProt) websocket._protocol = serverProt;
    const secWebSocketExtensions = res.headers['sec-websocket-extensions'];
    let deflate: PerMessageDeflate | null = null;
    if (secWebSocketExtensions !== undefined) {
      if (!deflateOptions) {
        abortHandshake(websocket, socket, 'Server sent a Sec-WebSocket-Extensions header but no extension was requested');
        return;
      }
      const offers = parseExtensions(secWebSocketExtensions);
      if (offers === null) {
        abortHandshake(websocket, socket, 'Invalid Sec-WebSocket-Extensions header');
        return;
      }
      if (offers.length !== 1 || offers[0]!.name !== 'permessage-deflate') {
        abortHandshake(websocket, socket, 'Server indicated an extension that was not requested');
        return;
      }
      const agreed = acceptResponse(secWebSocketExtensions, deflateOptions);
      if (typeof agreed === 'string') {
        abortHandshake(websocket, socket, 'Invalid Sec-WebSocket-Extensions header');
        return;
      }
      deflate = new PerMessageDeflate(agreed, 'client', deflateOptions);
      websocket._extensions = 'permessage-deflate';
    }
    websocket._setSocket(socket, head, engineOptions(opts), wsPolicy(opts), deflate, secWebSocketExtensions ?? '');
  });

  if (opts.finishRequest) opts.finishRequest(req, websocket);
  else req.end();
}

function decodeURIComponentSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

export function emitErrorAndClose(websocket: WebSocket, err: Error): void {
  websocket._closing = true;
  websocket._errorEmitted = true;
  websocket.emit('error', err);
  websocket.emitClose();
}

function netConnect(options: any): net.Socket {
  options.path = options.socketPath;
  return net.connect(options);
}

function tlsConnect(options: any): tls.TLSSocket {
  options.path = undefined;
  if (!options.servername && options.servername !== '') {
    options.servername = net.isIP(options.host) ? '' : options.host;
  }
  return tls.connect(options);
}

/** Aborts the opening handshake: 'error' with message, then 'close' (1006). */
export function abortHandshake(websocket: WebSocket, stream: http.ClientRequest | Duplex, message: string): void {
  websocket._closing = true;
  const err = new Error(message);
  Error.captureStackTrace(err, abortHandshake);
  if ((stream as http.ClientRequest).setHeader) {
    const req = stream as http.ClientRequest;
    (req as any)[kAborted] = true;
    req.destroy();
    if (req.socket && !req.socket.destroyed) req.socket.destroy();
    process.nextTick(emitErrorAndClose, websocket, err);
  } else {
    stream.destroy(err);
    stream.once('error', websocket.emit.bind(websocket, 'error'));
    stream.once('close', websocket.emitClose.bind(websocket));
  }
}
