/**
 * WebSockets over HTTP/2 (RFC 8441): a server attached to node:http2's secure server advertises
 * SETTINGS_ENABLE_CONNECT_PROTOCOL, and each extended CONNECT stream with :protocol websocket runs the same upgrade
 * pipeline as an HTTP/1.1 upgrade, with the stream as its socket: refusals become response statuses, the acceptance
 * is :status 200, and the stream then carries RFC 6455 frames over StreamTransport. The session is never ours to end.
 */
import type * as http from 'node:http';
import * as http2 from 'node:http2';
import type { Duplex } from 'node:stream';
import { buildExtendedConnectResponse, validateExtendedConnect } from '../../core/handshake.js';
import { trace } from '../trace.js';
import type { Server } from './server.js';
import type { UpgradeDialect } from './upgrade.js';

/** Headers of HTTP/1.1's connection management, which HTTP/2 forbids (RFC 9113 §8.2.2): dropped from a hook's headers. */
const HTTP1_ONLY = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade']);

function lowerCased(headers: Record<string, string | number | readonly string[]> | undefined): Record<string, string | number | readonly string[]> {
  const out: Record<string, string | number | readonly string[]> = {};
  for (const name of Object.keys(headers ?? {})) if (!HTTP1_ONLY.has(name.toLowerCase())) out[name.toLowerCase()] = headers![name]!;
  return out;
}

/** Refuses an extended CONNECT with an HTTP/2 response status and a short text body, ending the stream (not the session). */
function refuseStream(socket: Duplex, status: number, body: string | Buffer, headers?: Record<string, string | number | readonly string[]>): null {
  trace('server refused extended CONNECT: %d %s', status, typeof body === 'string' ? body : '');
  const stream = socket as http2.ServerHttp2Stream;
  if (stream.destroyed || stream.headersSent || !stream.writable) {
    stream.destroy();
    return null;
  }
  const text = typeof body === 'string' && body.length > 0 && !body.endsWith('\n') ? `${body}\n` : body;
  const extra = lowerCased(headers);
  if (text.length > 0 && extra['content-type'] === undefined) extra['content-type'] = 'text/plain; charset=utf-8';
  try {
    stream.respond({ ...extra, ':status': status } as http2.OutgoingHttpHeaders);
  } catch {
    stream.respond({ ':status': status }); // a header HTTP/2 cannot carry: the status alone
  }
  stream.end(text);
  return null;
}

export const HTTP2: UpgradeDialect = {
  validate: (req) => validateExtendedConnect(req.headers),
  refuse: refuseStream,
  accept: (_transport, socket, _valid, protocol, extensions, headers) =>
    (socket as http2.ServerHttp2Stream).respond(buildExtendedConnectResponse(protocol, extensions, lowerCased(headers)) as http2.OutgoingHttpHeaders),
};

/** Whether an HTTP server is node:http2's (Http2Server or Http2SecureServer): only those have updateSettings(). */
export function isHttp2Server(server: object): server is http2.Http2SecureServer | http2.Http2Server {
  return typeof (server as Partial<http2.Http2SecureServer>).updateSettings === 'function';
}

/** Is this stream an extended CONNECT for a WebSocket (RFC 8441 §4)? Other CONNECTs are not ours. */
function isExtendedConnect(headers: http2.IncomingHttpHeaders): boolean {
  return headers[':method'] === 'CONNECT' && headers[':protocol'] !== undefined;
}

/**
 * Serves extended CONNECT streams of an HTTP/2 server with server's routes. Advertises the setting to sessions that
 * start from now on (and to those already open), and keeps node:http2's compatibility layer from answering our
 * streams with 405: with a 'request' listener it emits 'connect' for every CONNECT, and answers 405 when nobody listens.
 */
export function mountHttp2(httpServer: http2.Http2SecureServer | http2.Http2Server, server: Server<any>): void {
  httpServer.updateSettings({ enableConnectProtocol: true });
  httpServer.on('session', (session: http2.ServerHttp2Session) => {
    server.sessions.add(session);
    session.once('close', () => server.sessions.delete(session));
  });
  httpServer.on('stream', (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => {
    if (!isExtendedConnect(headers)) return;
    let raw: http2.Http2ServerRequest | undefined;
    const req = {
      method: 'CONNECT',
      url: headers[':path'],
      httpVersion: '2.0',
      headers: headers as http.IncomingHttpHeaders,
      // Built once, when first read: it adds listeners to the stream, which most upgrades never need.
      get raw() {
        return (raw ??= new http2.Http2ServerRequest(stream, headers, {}, []));
      },
    };
    server.handleStream(req, stream).catch((error: unknown) => {
      console.error(error);
      stream.destroy();
    });
  });
  httpServer.on('connect', (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => {
    if (isExtendedConnect(req.headers)) return; // ours
    if (httpServer.listenerCount('connect') === 1) {
      res.statusCode = 405;
      res.end();
    }
  });
}
