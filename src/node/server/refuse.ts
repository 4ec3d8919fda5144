/**
 * Refusing an upgrade: an HTTP error answer, then the socket closes. One function so that every refusal of the
 * pipeline (400s, 403, 404, 426, 500, 503) is traced, counted by reason (server.stats()) and published on
 * diagnostics_channel, and one from a client already gone is just a destroy.
 */
import type * as http from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { buildRejectResponse } from '../../core/handshake.js';
import { refusedChannel } from '../diagnostics.js';
import type { RefusalReason, ServerCounters } from '../stats.js';
import { trace } from '../trace.js';

/** Answers with an HTTP error and closes the socket; always resolves to null. */
export function refuse(
  host: { readonly counters: ServerCounters },
  req: http.IncomingMessage,
  socket: Duplex,
  reason: RefusalReason,
  status: number,
  body: string | Buffer,
  headers?: Record<string, string | number | readonly string[]>,
): null {
  const message = typeof body === 'string' ? body : '';
  trace('server refused upgrade: %d %s', status, message);
  host.counters.refused(reason);
  if (refusedChannel.hasSubscribers) {
    const remoteAddress = (socket as Partial<Socket>).remoteAddress ?? '';
    refusedChannel.publish({ role: 'server', status, reason, message, url: req.url ?? '/', remoteAddress });
  }
  if (!socket.destroyed && socket.writable) {
    const text = typeof body === 'string' && body.length > 0 && !body.endsWith('\n') ? `${body}\n` : body;
    socket.end(buildRejectResponse(status, text, headers));
  } else {
    socket.destroy();
  }
  return null;
}
