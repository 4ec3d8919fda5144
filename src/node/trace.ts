/**
 * NODE_DEBUG=wsbolt: handshakes and every frame in and out, like WebSockex's
 * :sys.trace. The check is made once; without the variable nothing is traced.
 */
import { debuglog } from 'node:util';

const log = debuglog('wsbolt');
export const traceEnabled: boolean = log.enabled;

const OPCODES: Record<number, string> = { 0: 'continuation', 1: 'text', 2: 'binary', 8: 'close', 9: 'ping', 10: 'pong' };

export function traceFrame(role: string, direction: 'in' | 'out', bits: number, length: number): void {
  const rsv = (bits >> 4) & 7;
  log('%s %s %s len=%d fin=%d rsv=%d', role, direction === 'in' ? '<-' : '->', OPCODES[bits & 0x0f] ?? `op${bits & 0x0f}`, length, bits >> 7, rsv);
}

export function trace(format: string, ...args: unknown[]): void {
  if (traceEnabled) log(format, ...args);
}
