/**
 * Helpers for the permessage-deflate tests (kept here rather than shared with
 * test/node so these files depend on nothing that is being edited elsewhere).
 * Nothing sleeps: every wait is for an event, bounded by a timeout that fails
 * the test.
 */
import { createHash } from 'node:crypto';
import * as http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { serve, type ServeOptions, type Server } from '../../src/index.js';

export const HOST = '127.0.0.1';
export const TAIL = Buffer.from([0x00, 0x00, 0xff, 0xff]);

export const acceptFor = (key: string) => createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');

import { Queue, withTimeout, useCleanup } from '../support.js';
export { Queue, withTimeout, useCleanup };



/** serve() on 127.0.0.1 and an ephemeral port, closed after the test. */
export async function startServer<T = unknown>(defer: (fn: () => unknown) => void, options: ServeOptions<T> = {}): Promise<Server<T>> {
  const server = await serve<T>({ host: HOST, ...options, port: 0 });
  defer(() => server.close({ timeout: 200 }));
  return server;
}

/** A plain HTTP server whose 'upgrade' handler is the caller's (for hand-made handshake answers). */
export async function rawUpgradeServer(
  defer: (fn: () => unknown) => void,
  onUpgrade: (req: http.IncomingMessage, socket: Socket) => void,
): Promise<{ port: number; requests: Queue<http.IncomingMessage> }> {
  const requests = new Queue<http.IncomingMessage>();
  const sockets = new Set<Socket>();
  const server = http.createServer((_req, res) => res.writeHead(426).end());
  server.on('upgrade', (req, socket: Socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    requests.push(req);
    onUpgrade(req, socket);
  });
  await new Promise<void>((resolve) => server.listen(0, HOST, resolve));
  defer(
    () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  );
  return { port: (server.address() as AddressInfo).port, requests };
}

// Frame parsing lives in test/helpers.ts with the frame builder.
export { parseFrames, type ParsedFrame } from '../helpers.js';

/** Text that deflates well but is different for every i (so reordering or mixing shows). */
export function compressible(size: number, i = 0): Buffer {
  const unit = Buffer.from(`message ${i} / the quick brown fox jumps over the lazy dog; `);
  const out = Buffer.allocUnsafe(size);
  for (let p = 0; p < size; p += unit.length) unit.copy(out, p, 0, Math.min(unit.length, size - p));
  return out;
}
