/**
 * NODE_DEBUG=wsbolt: handshakes, each connection's open and close, and every frame in and out, like WebSockex's
 * :sys.trace. Every line of a connection starts with its role and id (`server #3`), so that one connection can be
 * followed among many. The check is made once; without the variable nothing is traced.
 */
import { debuglog } from 'node:util';

const log = debuglog('wsbolt');
export const traceEnabled: boolean = log.enabled;

const OPCODES: Record<number, string> = { 0: 'continuation', 1: 'text', 2: 'binary', 8: 'close', 9: 'ping', 10: 'pong' };

const arrow = (direction: 'in' | 'out') => (direction === 'in' ? '<-' : '->');

export function traceFrame(role: string, id: number, direction: 'in' | 'out', bits: number, length: number): void {
  const rsv = (bits >> 4) & 7;
  log('%s #%d %s %s len=%d fin=%d rsv=%d', role, id, arrow(direction), OPCODES[bits & 0x0f] ?? `op${bits & 0x0f}`, length, bits >> 7, rsv);
}

/** A permessage-deflate message: wire is its compressed payload's bytes, length its bytes uncompressed. */
export function traceCompressed(role: string, id: number, direction: 'in' | 'out', wire: number, length: number): void {
  log('%s #%d %s compressed message wire=%d len=%d', role, id, arrow(direction), wire, length);
}

export function traceOpen(role: string, id: number, address: string, port: number, transport: string, protocol: string, extensions: string): void {
  // The extensions last: the header value has spaces of its own.
  log('%s #%d open %s:%d transport=%s protocol=%s extensions=%s', role, id, address, port, transport, protocol || '-', extensions || '-');
}

export function traceClose(role: string, id: number, code: number, reason: string, cause: { kind: string; error?: Error }): void {
  const error = cause.error ? ` error=${describe(cause.error)}` : '';
  log('%s #%d closed code=%d reason=%s cause=%s%s', role, id, code, JSON.stringify(reason), cause.kind, error);
}

export function traceProtocolError(role: string, id: number, error: Error & { closeCode?: number }): void {
  log('%s #%d protocol error %s: closing with %d', role, id, describe(error), error.closeCode ?? 1002);
}

/** An error as its stable code (when it has one) and its message. */
function describe(error: Error & { code?: unknown }): string {
  return typeof error.code === 'string' ? `${error.code} (${error.message})` : `${error.name} (${error.message})`;
}

export function trace(format: string, ...args: unknown[]): void {
  if (traceEnabled) log(format, ...args);
}
