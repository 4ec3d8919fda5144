/**
 * What the server's callbacks see of an upgrade request (UpgradeRequest), built from Node's IncomingMessage and the
 * socket, and the route's subprotocol choice among those the client offered (RFC 6455 §4.2.2).
 */
import type * as http from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import type { UpgradeRequest } from '../types.js';
import type { RouteOptions } from './options.js';

/** A request header as one string: repeated ones joined with ', ' (RFC 9110 §5.3). */
export function headerValue(req: http.IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v.join(', ') : v;
}

export function upgradeRequest(
  req: http.IncomingMessage,
  socket: Duplex,
  path: string,
  query: string,
  origin: string | undefined,
  protocols: string[],
): UpgradeRequest {
  const tlsSocket = (socket as TLSSocket).encrypted ? (socket as TLSSocket) : null;
  return {
    method: req.method ?? 'GET',
    url: req.url ?? '/',
    path,
    query,
    headers: req.headers,
    header: (name: string) => headerValue(req, name.toLowerCase()),
    origin,
    protocols,
    // Getters: the address costs a getpeername() call, and most hooks never look.
    get remoteAddress() {
      return (socket as Partial<Socket>).remoteAddress ?? '';
    },
    get remotePort() {
      return (socket as Partial<Socket>).remotePort ?? 0;
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
    raw: req,
  };
}

/** The route's subprotocol for this request, or '' for none; a choice the client did not offer counts as none. */
export function selectProtocol(route: RouteOptions<any>, offered: string[], request: UpgradeRequest): string {
  const { protocols } = route;
  if (!protocols || offered.length === 0) return '';
  if (typeof protocols === 'function') {
    const chosen = protocols(offered, request);
    return chosen && offered.includes(chosen) ? chosen : '';
  }
  return offered.find((p) => protocols.includes(p)) ?? '';
}
