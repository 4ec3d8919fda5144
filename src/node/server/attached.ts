/**
 * Servers attached to one HTTP server (attach()), in attach order, beside 'upgrade' listeners of the user's own.
 * Every one of them sees every upgrade request: for a path none of them serves, they must agree on who answers 404,
 * and leave it to a foreign listener when there is one.
 */
import type * as http from 'node:http';
import type * as https from 'node:https';

/** What the 404 arbitration needs of a server: whether it serves a path. */
interface Routing {
  route(path: string): unknown;
}

const attached = new WeakMap<http.Server | https.Server, Routing[]>();

export function addAttached(httpServer: http.Server | https.Server, server: Routing): void {
  const list = attached.get(httpServer) ?? [];
  list.push(server);
  attached.set(httpServer, list);
}

/** Whether server, attached to httpServer, is the one to answer 404 for path (which it does not serve). */
export function answersNotFoundAmongAttached(httpServer: http.Server | https.Server, server: Routing, path: string): boolean {
  const peers = attached.get(httpServer) ?? [server];
  if (httpServer.listenerCount('upgrade') > peers.length) return false; // a foreign listener may serve it
  if (peers.some((peer) => peer.route(path) !== null)) return false; // another wsbolt server serves it
  return peers[0] === server; // exactly one of us answers
}
