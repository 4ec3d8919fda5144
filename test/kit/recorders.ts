/**
 * Recorders turn callbacks into data a test can compare or await: a sans-I/O
 * Protocol's events (compared as a list) and a connection handler's
 * callbacks (awaited through queues).
 */
import { Protocol, type ProtocolOptions, type Role } from '../../src/core/index.js';
import type { WsboltError } from '../../src/core/errors.js';
import type { CloseCause, WebSocket } from '../../src/index.js';
import { Queue } from './wait.js';

export type Event =
  | { type: 'message'; data: string; binary: boolean }
  | { type: 'ping'; data: string }
  | { type: 'pong'; data: string }
  | { type: 'close'; code: number; reason: string }
  | { type: 'error'; code: string; closeCode: number | undefined };

/** A protocol wired to a recorder of its events (payloads as hex, so every byte is compared). */
export function protocolRecorder(role: Role, options: Partial<ProtocolOptions> = {}) {
  const events: Event[] = [];
  const protocol = new Protocol(
    { role, ...options },
    {
      onMessage: (data, binary) => events.push({ type: 'message', data: data.toString('hex'), binary }),
      onPing: (data) => events.push({ type: 'ping', data: data.toString('hex') }),
      onPong: (data) => events.push({ type: 'pong', data: data.toString('hex') }),
      onCloseFrame: (code, reason) => events.push({ type: 'close', code, reason }),
      onProtocolError: (error: WsboltError) => events.push({ type: 'error', code: String(error.code), closeCode: error.closeCode }),
    },
  );
  return { protocol, events };
}

/** Feeds bytes split at the given offsets (each piece a fresh copy, as a socket would deliver). */
export function feed(protocol: Protocol, bytes: Buffer, splits: number[] = []): void {
  let last = 0;
  for (const at of [...splits, bytes.length]) {
    if (at > last) protocol.receive(Buffer.from(bytes.subarray(last, at)));
    last = Math.max(last, at);
  }
}

export interface Closed {
  code: number;
  reason: string;
  cause: CloseCause;
}

/** A handler (server or client) that records every callback in a queue. */
export function handlerRecorder<T = unknown>() {
  const opens = new Queue<WebSocket<T>>('open');
  const messages = new Queue<{ data: Buffer; isBinary: boolean }>('message');
  const pings = new Queue<Buffer>('ping');
  const pongs = new Queue<Buffer>('pong');
  const drains = new Queue<WebSocket<T>>('drain');
  const closes = new Queue<Closed>('close');
  const handler = {
    open: (ws: WebSocket<T>) => opens.push(ws),
    message: (_ws: WebSocket<T>, data: Buffer, isBinary: boolean) => messages.push({ data, isBinary }),
    ping: (_ws: WebSocket<T>, data: Buffer) => pings.push(Buffer.from(data)),
    pong: (_ws: WebSocket<T>, data: Buffer) => pongs.push(Buffer.from(data)),
    drain: (ws: WebSocket<T>) => drains.push(ws),
    close: (_ws: WebSocket<T>, code: number, reason: string, cause: CloseCause) => closes.push({ code, reason, cause }),
  };
  return { handler, opens, messages, pings, pongs, drains, closes };
}
