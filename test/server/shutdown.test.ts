/** Graceful shutdown: server.close() with many clients, custom code, peers that never answer, pending upgrades. */
import * as net from 'node:net';
import { describe, expect, it } from 'vitest';
import { type CloseCause } from '../../src/index.js';
import { closePayload, deferred, handshakeRequest, HOST, once, rawConnect, rawHttp, startServer, useCleanup, withTimeout, wsConnect } from '../kit/index.js';

const defer = useCleanup();

describe('server.close()', () => {
  it('closes 100 open clients with 1001, resolves, and leaves no socket behind', async () => {
    const causes: string[] = [];
    const server = await startServer(defer, { close: (_ws, _code, _reason, cause) => causes.push(cause.kind) });
    const clients = await Promise.all(Array.from({ length: 100 }, () => wsConnect(defer, `ws://${HOST}:${server.port}/`)));
    expect(server.connections.size).toBe(100);
    const start = Date.now();
    await withTimeout(server.close(), 5000, 'server.close()');
    expect(Date.now() - start).toBeLessThan(4000); // the closing handshakes completed, no timeout was needed
    const results = await withTimeout(Promise.all(clients.map((c) => c.closed)), 5000, 'client close events');
    expect(results.every((r) => r.code === 1001)).toBe(true);
    expect(new Set(results.map((r) => r.reason)).size).toBe(1);
    expect(server.connections.size).toBe(0);
    expect(causes).toHaveLength(100);
    expect(causes.every((k) => k === 'local')).toBe(true);
    expect(server.httpServer!.listening).toBe(false);
    // Nothing listens any more.
    const refused = net.connect({ host: HOST, port: server.port });
    const [error] = await once<[NodeJS.ErrnoException]>(refused, 'error');
    expect(error.code).toBe('ECONNREFUSED');
  });

  it('sends the given code and reason', async () => {
    const server = await startServer(defer);
    const c = await wsConnect(defer, `ws://${HOST}:${server.port}/`);
    await withTimeout(server.close({ code: 4100, reason: 'maintenance' }), 5000, 'server.close()');
    expect(await c.closed).toEqual({ code: 4100, reason: 'maintenance' });
  });

  it('destroys a peer that never answers at the timeout', async () => {
    const closed = deferred<{ code: number; cause: CloseCause }>();
    const server = await startServer(defer, { close: (_ws, code, _reason, cause) => closed.resolve({ code, cause }) });
    const raw = await rawConnect(defer, server.port);
    const start = Date.now();
    const closing = server.close({ timeout: 300 });
    const f = await raw.frames.next();
    expect(f.opcode).toBe(8);
    expect(closePayload(f.payload).code).toBe(1001);
    await withTimeout(closing, 3000, 'server.close()');
    const elapsed = Date.now() - start;
    expect(elapsed).toBeGreaterThanOrEqual(290);
    expect(elapsed).toBeLessThan(2000);
    await withTimeout(raw.closed, 1000, 'raw socket destroyed');
    expect(server.connections.size).toBe(0);
    const result = await withTimeout(closed.promise);
    expect(result.code).toBe(1006);
    // The peer did not answer the close frame: that is a timeout (see CloseCause).
    expect(result.cause.kind).toBe('timeout');
  });

  it('does not wait for the timeout when everyone answers', async () => {
    const server = await startServer(defer);
    const clients = await Promise.all(Array.from({ length: 5 }, () => wsConnect(defer, `ws://${HOST}:${server.port}/`)));
    const start = Date.now();
    await withTimeout(server.close({ timeout: 3000 }), 5000, 'server.close()');
    expect(Date.now() - start).toBeLessThan(2000);
    for (const c of clients) expect((await c.closed).code).toBe(1001);
  });

  it('drops upgrades still in their hook', async () => {
    const entered = deferred();
    const never = deferred();
    defer(() => never.resolve());
    const opens: string[] = [];
    const server = await startServer(defer, {
      upgrade: async (req) => {
        if (req.query === 'slow') {
          entered.resolve();
          await never.promise;
        }
        return {};
      },
      open: (ws) => opens.push(ws.protocol),
    });
    const socket = net.connect({ host: HOST, port: server.port });
    socket.on('error', () => {});
    defer(() => socket.destroy());
    await once(socket, 'connect');
    socket.write(handshakeRequest('/?slow'));
    await withTimeout(entered.promise);
    const socketClosed = once(socket, 'close', 3000);
    await withTimeout(server.close({ timeout: 300 }), 3000, 'server.close()');
    await socketClosed;
    never.resolve();
    expect(opens).toEqual([]);
    expect(server.connections.size).toBe(0);
  });

  it('a plain HTTP keep-alive connection does not hold the shutdown', async () => {
    const server = await startServer(defer);
    const res = await rawHttp(server.port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n', 2000, false);
    expect(res.status).toBe(426);
    await withTimeout(server.close(), 3000, 'server.close()');
  });
});
