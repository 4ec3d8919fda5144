/**
 * The upgrade pipeline: an HTTP upgrade request in, an open connection or an HTTP refusal out. In order: request
 * checks (RFC 6455 §4.2.1, in core/handshake), admission, route (404), origin (403), subprotocol, the route's
 * upgrade hook (with its time limit and the client's early data), the 101, and the connection. The server it runs
 * for is seen through UpgradeHost, so that this file holds the order of the steps and the server holds their state.
 */
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { HandlerError } from '../../core/errors.js';
import { buildAcceptResponse, type HandshakeRejection, isRejection, type ValidRequest, validateRequest } from '../../core/handshake.js';
import { acceptOffer } from '../../extensions/negotiation.js';
import { PerMessageDeflate } from '../../extensions/permessage-deflate.js';
import { WebSocket } from '../connection.js';
import type { ResolvedOptions } from '../connection-options.js';
import { reportHandlerError } from '../handler-errors.js';
import type { TopicHub } from '../pubsub.js';
import { openTransport } from '../open-transport.js';
import type { Transport } from '../transport.js';
import { trace, traceEnabled } from '../trace.js';
import type { ServerCounters } from '../stats.js';
import type { AcceptOptions, UpgradeRequest, UpgradeResult } from '../types.js';
import type { Admission } from './admission.js';
import { EarlyData } from './early-data.js';
import type { HandshakeDeadlines } from './handshake-deadline.js';
import { DEFAULT_HANDSHAKE_TIMEOUT, type RouteOptions } from './options.js';
import { noteRefusal, refuse as refuseHttp1 } from './refuse.js';
import type { RefusalReason } from '../stats.js';
import { type HookOutcome, TIMED_OUT, readHookResult, withTimeout } from './upgrade-hook.js';
import { headerValue, type RequestHead, selectProtocol, upgradeRequest } from './upgrade-request.js';

/** What the pipeline needs of the server it runs for (the Server: these are its internals). */
export interface UpgradeHost {
  /** close() has begun: every new upgrade gets 503. */
  readonly closing: boolean;
  /** serve() only: accept times of connections still without their request. */
  readonly deadlines: HandshakeDeadlines | null;
  readonly admission: Admission;
  /** Sockets whose upgrade hook is running: close() destroys them. */
  readonly pendingSockets: Set<Duplex>;
  readonly hub: TopicHub;
  readonly connections: Set<WebSocket<any>>;
  /** What server.stats() reports: every connection of the server adds to them, and every refusal. */
  readonly counters: ServerCounters;
  /** One callback shared by every connection of the server: it gives back the connection's place. */
  readonly onConnectionFinished: (ws: WebSocket<any>) => void;
  /** The handler serving path, or null. */
  route(path: string): RouteOptions<any> | null;
  /** Whether a path no route serves is this server's to answer with 404 (several may share an HTTP server). */
  answersNotFound(path: string): boolean;
  /** The route's resolved connection options, built once per route. */
  optionsFor(route: RouteOptions<any>): ResolvedOptions;
}

/**
 * What differs between an HTTP/1.1 upgrade and an HTTP/2 extended CONNECT (RFC 8441): how the request is checked,
 * refused and accepted. Everything between (admission, route, origin, subprotocol, hook, deflate) is the same.
 */
/** Extra headers of a refusal (Retry-After, Sec-WebSocket-Version, the hook's own). */
type RefusalHeaders = Record<string, string | number | readonly string[]>;

export interface UpgradeDialect {
  validate(req: RequestHead): ValidRequest | HandshakeRejection;
  /** Answers with an error status and ends the exchange; always null. */
  refuse(socket: Duplex, status: number, body: string | Buffer, headers?: RefusalHeaders): null;
  /** Sends the acceptance, before any frame: through the transport (a 101) or as the stream's response headers (200). */
  accept(
    transport: Transport,
    socket: Duplex,
    valid: ValidRequest,
    protocol: string | undefined,
    extensions: string | undefined,
    headers: AcceptOptions<unknown>['headers'],
  ): void;
}

/** RFC 6455 over HTTP/1.1: GET with Upgrade, answered by 101 with Sec-WebSocket-Accept. */
export const HTTP1: UpgradeDialect = {
  validate: (req) => validateRequest(req.method, req.httpVersion, req.headers),
  refuse: refuseHttp1,
  // Written through the transport, so that nothing of Node's is pending once the addon owns the socket.
  accept: (transport, _socket, valid, protocol, extensions, headers) =>
    transport.write([Buffer.from(buildAcceptResponse(valid.key, protocol, extensions, headers))]),
};

/** Socket errors are ignored until the connection owns the socket: a refusal or a destroy follows anyway. */
function ignore(): void {}

/**
 * Runs the opening handshake on an upgrade request. Resolves with the open
 * connection, or null when it was refused (the HTTP answer already sent).
 */
export async function upgrade<T>(
  host: UpgradeHost,
  req: RequestHead,
  socket: Duplex,
  head: Buffer,
  dialect: UpgradeDialect = HTTP1,
): Promise<WebSocket<T> | null> {
  socket.on('error', ignore); // until the connection owns the socket
  const spent = host.deadlines?.take(socket) ?? 0;
  const refuse = (reason: RefusalReason, status: number, body: string | Buffer, headers?: RefusalHeaders): null => {
    noteRefusal(host, req, socket, reason, status, body);
    return dialect.refuse(socket, status, body, headers);
  };
  if (host.closing) return refuse('shutting_down', 503, 'the server is shutting down');
  const valid = dialect.validate(req);
  if (isRejection(valid)) return refuse('invalid_request', valid.status, valid.reason, valid.headers);
  const ip = host.admission.keyOf(socket);
  if (!host.admission.admit(ip)) {
    return refuse('too_many_connections', 503, 'too many connections', { 'Retry-After': host.admission.retryAfter });
  }
  let ws: WebSocket<T> | null = null;
  try {
    ws = await upgradeAdmitted<T>(host, req, socket, head, valid, ip, spent, dialect);
    return ws;
  } finally {
    // An open connection gives its place back when it finishes (onConnectionFinished).
    if (!ws) host.admission.release(ip);
  }
}

async function upgradeAdmitted<T>(
  host: UpgradeHost,
  req: RequestHead,
  socket: Duplex,
  head: Buffer,
  valid: ValidRequest,
  ip: string,
  /** Ms since accept (serve()), taken from the hook's time. */
  spent: number,
  dialect: UpgradeDialect,
): Promise<WebSocket<T> | null> {
  const refuse = (reason: RefusalReason, status: number, body: string | Buffer, headers?: RefusalHeaders): null => {
    noteRefusal(host, req, socket, reason, status, body);
    return dialect.refuse(socket, status, body, headers);
  };
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const path = q === -1 ? url : url.slice(0, q);
  const route = host.route(path);
  if (!route) return host.answersNotFound(path) ? refuse('not_found', 404, `no WebSocket endpoint at ${path}`) : null;

  const origin = headerValue(req, 'origin');
  if (route.origins && origin !== undefined && !route.origins.some((o) => o.toLowerCase() === origin.toLowerCase())) {
    return refuse('origin', 403, 'origin not allowed');
  }

  // Made only for what shows it to user code (the upgrade hook, a protocols function) or traces it: most connections
  // never need it, and objects made per handshake are what a burst of handshakes grows the young generation with.
  let made: UpgradeRequest | null = null;
  const request = (): UpgradeRequest => (made ??= upgradeRequest(req, socket, path, q === -1 ? '' : url.slice(q + 1), origin, valid.protocols));
  let protocol: string;
  try {
    protocol = selectProtocol(route, valid.protocols, request);
  } catch (error) {
    reportHandlerError(route, null, new HandlerError('protocols', error));
    return refuse('hook_failed', 500, 'the upgrade failed');
  }

  let result: UpgradeResult<unknown> = undefined;
  /** What the client sent while the hook ran; it goes to the connection if the hook accepted. */
  let sentMeanwhile: Buffer[] = [];
  if (route.upgrade) {
    const early = new EarlyData(socket);
    host.pendingSockets.add(socket);
    let pending = true; // the hook has not returned yet: a throw now is synchronous
    try {
      const returned = route.upgrade(request());
      pending = false;
      result = await withTimeout(returned, Math.max(0, (route.handshakeTimeout ?? DEFAULT_HANDSHAKE_TIMEOUT) - spent));
    } catch (error) {
      if (error === TIMED_OUT) return refuse('hook_timeout', 503, 'the upgrade took too long');
      reportHandlerError(route, null, new HandlerError('upgrade', error, !pending));
      return refuse('hook_failed', 500, 'the upgrade failed');
    } finally {
      host.pendingSockets.delete(socket);
      early.stop();
    }
    if (early.gone) {
      socket.destroy();
      return null;
    }
    sentMeanwhile = early.kept;
  }
  if (socket.destroyed || !socket.writable) return null; // the client went away during the upgrade
  if (host.closing) return refuse('shutting_down', 503, 'the server is shutting down');
  let outcome: HookOutcome;
  try {
    outcome = readHookResult(result);
  } catch (error) {
    reportHandlerError(route, null, new HandlerError('upgrade', error));
    return refuse('hook_failed', 500, 'the upgrade failed');
  }
  if ('reject' in outcome) {
    const { status, body, headers } = outcome.reject;
    return refuse('rejected', status, body, headers);
  }
  const accepted = outcome.accept;
  if (sentMeanwhile.length > 0) head = Buffer.concat([head, ...sentMeanwhile]);
  if (accepted.protocol !== undefined) {
    if (!valid.protocols.includes(accepted.protocol)) return refuse('protocol', 500, 'the server chose a subprotocol the client did not offer');
    protocol = accepted.protocol;
  }

  const deflateOptions = route.perMessageDeflate === true ? {} : route.perMessageDeflate || null;
  const negotiated = deflateOptions ? acceptOffer(valid.extensions, deflateOptions) : null;
  // The peer's address is read from Node's socket, so before the native transport releases it.
  if (traceEnabled) trace('server accepted %s from %s:%d protocol=%s', url, request().remoteAddress, request().remotePort, protocol || '-');
  // Ours go first: the native transport releases Node's socket, which then emits 'close'.
  socket.removeListener('error', ignore);
  // The request the hooks saw reads its address from the socket lazily; Node's socket keeps it once asked (_peername),
  // which it must be before the native transport releases the socket.
  if (route.upgrade || typeof route.protocols === 'function') void (socket as Partial<Socket>).remotePort;
  const opening = openTransport(socket, head, route.transport);
  let opened: Awaited<typeof opening>;
  if (opening instanceof Promise) {
    try {
      opened = await opening;
    } catch {
      return null; // the client went away while Node flushed what it still had to write
    }
    if (host.closing) {
      opened.transport.destroy();
      return null;
    }
  } else {
    opened = opening;
  }
  try {
    dialect.accept(opened.transport, socket, valid, protocol || undefined, negotiated?.response, accepted.headers);
  } catch (error) {
    // Headers the hook returned that the response cannot carry (CR/LF; HTTP/1.1-only names over HTTP/2).
    opened.transport.destroy();
    throw error;
  }
  const ws = new WebSocket<T>({
    io: opened.transport,
    role: 'server',
    handler: route as RouteOptions<T>,
    options: host.optionsFor(route),
    data: accepted.data as T,
    protocol: protocol || '',
    extensions: negotiated?.response ?? '',
    hub: host.hub,
    deflate: negotiated ? new PerMessageDeflate(negotiated.params, 'server', deflateOptions!) : null,
    onFinished: host.onConnectionFinished,
    counters: host.counters,
  });
  ws.admissionKey = ip;
  host.connections.add(ws);
  ws.invoke('open');
  if (ws.readyState === 1) ws.receiveHead(opened.head);
  return ws;
}
