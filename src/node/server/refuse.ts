/**
 * Refusing an upgrade: an HTTP error answer, then the socket closes. One function so that every refusal of the
 * pipeline (400s, 403, 404, 426, 500, 503) is traced, counted by reason (server.stats()) and published on
 * diagnostics_channel, and one from a client already gone is just a destroy.
 */
import type { Duplex } from 'node:stream';
import { buildRejectResponse } from '../../core/handshake.js';
import { refusedChannel } from '../diagnostics.js';
import type { RefusalReason, ServerCounters } from '../stats.js';
import { trace } from '../trace.js';
import { peerSocket, type RequestHead } from './upgrade-request.js';

/**
 * Records a refusal of any dialect (HTTP/1.1 or HTTP/2): traced, counted by reason for server.stats() and published
 * on diagnostics_channel. The dialect then answers it.
 */
export function noteRefusal(
  host: { readonly counters: ServerCounters },
  req: RequestHead,
  socket: Duplex,
  reason: RefusalReason,
  status: number,
  body: string | Buffer,
): void {
  const message = typeof body === 'string' ? body : '';
  trace('server refused upgrade: %d %s', status, message);
  host.counters.refused(reason);
  if (refusedChannel.hasSubscribers) {
    const remoteAddress = peerSocket(socket).remoteAddress ?? '';
    refusedChannel.publish({ role: 'server', status, reason, message, url: req.url ?? '/', remoteAddress, httpVersion: req.httpVersion });
  }
}

/** The HTTP/1.1 answer: an HTTP error response, then the socket closes; a client already gone is just destroyed. Always null. */
export function refuse(socket: Duplex, status: number, body: string | Buffer, headers?: Record<string, string | number | readonly string[]>): null {
  if (!socket.destroyed && socket.writable) {
    const text = typeof body === 'string' && body.length > 0 && !body.endsWith('\n') ? `${body}\n` : body;
    socket.end(buildRejectResponse(status, text, headers));
  } else {
    socket.destroy();
  }
  return null;
}
