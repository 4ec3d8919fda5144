/**
 * Refusing an upgrade: an HTTP error answer, then the socket closes. One function so that every refusal of the
 * pipeline (400s, 403, 404, 426, 500, 503) is traced, and one from a client already gone is just a destroy.
 */
import type { Duplex } from 'node:stream';
import { buildRejectResponse } from '../../core/handshake.js';
import { trace } from '../trace.js';

/** Answers with an HTTP error and closes the socket; always resolves to null. */
export function refuse(socket: Duplex, status: number, body: string | Buffer, headers?: Record<string, string | number | readonly string[]>): null {
  trace('server refused upgrade: %d %s', status, typeof body === 'string' ? body : '');
  if (!socket.destroyed && socket.writable) {
    const text = typeof body === 'string' && body.length > 0 && !body.endsWith('\n') ? `${body}\n` : body;
    socket.end(buildRejectResponse(status, text, headers));
  } else {
    socket.destroy();
  }
  return null;
}
