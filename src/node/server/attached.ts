/**
 * Servers attached to one HTTP server (attach()), in attach order, beside 'upgrade' listeners of the user's own.
 * Every one of them sees every upgrade request: for a path none of them serves, they must agree on who answers 404,
 * and leave it to a foreign listener when there is one.
 */
import type * as http from 'node:http';
import type * as http2 from 'node:http2';
import type * as https from 'node:https';

/** The servers wsbolt mounts on: node:http's, node:https's, and node:http2's (RFC 8441 streams beside HTTP/1.1 upgrades). */
export type HttpServer = http.Server | https.Server | http2.Http2SecureServer | http2.Http2Server;

/** What the 404 arbitration needs of a server: whether it serves a path. */
interface Routing {
  route(path: string): unknown;
}

const attached = new WeakMap<HttpServer, Routing[]>();

export function addAttached(httpServer: HttpServer, server: Routing): void {
  const list = attached.get(httpServer) ?? [];
  list.push(server);
  attached.set(httpServer, list);
}

/** Whether server, attached to httpServer, is the one to answer 404 for path (which it does not serve). */
export function answersNotFoundAmongAttached(httpServer: HttpServer, server: Routing, path: string): boolean {
  const peers = attached.get(httpServer) ?? [server];
  if (httpServer.listenerCount('upgrade') > peers.length) return false; // a foreign listener may serve it
  if (peers.some((peer) => peer.route(path) !== null)) return false; // another wsbolt server serves it
  return peers[0] === server; // exactly one of us answers
}
