/**
 * What the server's callbacks see of an upgrade request (UpgradeRequest), built from Node's IncomingMessage and the
 * socket (HTTP/1.1) or from an HTTP/2 stream's headers and its session's socket (RFC 8441), and the route's
 * subprotocol choice among those the client offered (RFC 6455 §4.2.2).
 */
import type * as http from 'node:http';
import type { Http2ServerRequest, ServerHttp2Stream } from 'node:http2';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import type { UpgradeRequest } from '../types.js';
import type { RouteOptions } from './options.js';

/** What the pipeline reads of a request: Node's IncomingMessage, or its equivalent built from an HTTP/2 stream's headers. */
export interface RequestHead {
  method?: string | undefined;
  url?: string | undefined;
  /** '1.1', or '2.0' for an extended CONNECT. */
  httpVersion: string;
  headers: http.IncomingHttpHeaders;
  /** The object the hook sees as req.raw (built when first read: an Http2ServerRequest adds listeners to its stream). */
  readonly raw?: http.IncomingMessage | Http2ServerRequest;
}

/** The socket that holds the peer's address and TLS state: an HTTP/2 stream's is its session's. */
export function peerSocket(socket: Duplex): Partial<TLSSocket> {
  const session = (socket as Partial<ServerHttp2Stream>).session;
  return (session?.socket as TLSSocket | undefined) ?? (socket as Partial<TLSSocket>);
}

/** A request header as one string: repeated ones joined with ', ' (RFC 9110 §5.3). */
export function headerValue(req: RequestHead, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v.join(', ') : v;
}

export function upgradeRequest(req: RequestHead, socket: Duplex, path: string, query: string, origin: string | undefined, protocols: string[]): UpgradeRequest {
  const peer = peerSocket(socket);
  const tlsSocket = peer.encrypted ? (peer as TLSSocket) : null;
  return {
    method: req.method ?? 'GET',
    httpVersion: req.httpVersion,
    url: req.url ?? '/',
    path,
    query,
    headers: req.headers,
    header: (name: string) => headerValue(req, name.toLowerCase()),
    origin,
    protocols,
    // Getters: the address costs a getpeername() call, and most hooks never look.
    get remoteAddress() {
      return peer.remoteAddress ?? '';
    },
    get remotePort() {
      return peer.remotePort ?? 0;
    },
    secure: tlsSocket !== null,
    ...(tlsSocket
      ? {
          tls: {
            authorized: tlsSocket.authorized,
            ...(tlsSocket.authorizationError ? { authorizationError: String(tlsSocket.authorizationError) } : {}),
            ...((tlsSocket as TLSSocket & { servername?: string }).servername
              ? { servername: (tlsSocket as TLSSocket & { servername?: string }).servername! }
              : {}),
            alpnProtocol: tlsSocket.alpnProtocol ?? false,
            protocol: tlsSocket.getProtocol(),
          },
        }
      : {}),
    get raw() {
      return req.raw ?? (req as http.IncomingMessage);
    },
  };
}

/** The route's subprotocol for this request, or '' for none; a choice the client did not offer counts as none. request is asked for only when a protocols function is called. */
export function selectProtocol(route: RouteOptions<any>, offered: string[], request: () => UpgradeRequest): string {
  const { protocols } = route;
  if (!protocols || offered.length === 0) return '';
  if (typeof protocols === 'function') {
    const chosen = protocols(offered, request());
    return chosen && offered.includes(chosen) ? chosen : '';
  }
  return offered.find((p) => protocols.includes(p)) ?? '';
}
