/** Routing: several routes, unknown paths (404, socket closed), the path option, options inherited by routes. */
import * as http from 'node:http';
import type { Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { type WebSocket, attach } from '../../src/index.js';
import { deferred, handshakeRequest, HOST, once, rawHttp, startServer, useCleanup, withTimeout, wsConnect } from '../kit/index.js';

const defer = useCleanup();

const tagged = (tag: string) => ({ message: (ws: WebSocket, data: Buffer) => void ws.send(`${tag}:${data}`) });

describe('routes', () => {
  it('dispatches each path to its own handler', async () => {
    const server = await startServer(defer, { routes: { '/a': tagged('a'), '/b': tagged('b') } });
    const a = await wsConnect(defer, `ws://${HOST}:${server.port}/a`);
    const b = await wsConnect(defer, `ws://${HOST}:${server.port}/b?x=1`);
    a.client.send('1');
    b.client.send('2');
    expect((await a.messages.next()).data.toString()).toBe('a:1');
    expect((await b.messages.next()).data.toString()).toBe('b:2');
    expect(server.connections.size).toBe(2);
  });

  it('answers an unknown path with 404 and closes the socket', async () => {
    const server = await startServer(defer, { routes: { '/a': tagged('a') } });
    const res = await rawHttp(server.port, handshakeRequest('/nope'));
    expect(res.status).toBe(404);
    expect(res.body.toString()).toContain('/nope');
    expect(res.closed).toBe(true);
    expect(server.connections.size).toBe(0);
  });

  it('matches paths exactly (no prefix match, no trailing-slash folding)', async () => {
    const server = await startServer(defer, { routes: { '/a': tagged('a') } });
    for (const path of ['/a/', '/a/b', '/ab', '/A']) {
      expect((await rawHttp(server.port, handshakeRequest(path))).status, path).toBe(404);
    }
    expect((await rawHttp(server.port, handshakeRequest('/a?q=1'))).status).toBe(101);
  });

  it('does not route through Object.prototype names', async () => {
    const server = await startServer(defer, { routes: { '/a': tagged('a') } });
    for (const path of ['/constructor', '/__proto__', '/toString']) {
      expect((await rawHttp(server.port, handshakeRequest(path))).status, path).toBe(404);
    }
  });

  it('routes inherit server-level options and callbacks unless they override them', async () => {
    const closes: { path: string; code: number }[] = [];
    const closed = deferred();
    const server = await startServer(defer, {
      maxPayload: 10,
      close: (ws: WebSocket<string>, code) => {
        closes.push({ path: ws.data, code });
        closed.resolve();
      },
      upgrade: (req) => ({ data: req.path }),
      routes: {
        '/small': tagged('small'),
        '/big': { ...tagged('big'), maxPayload: 1000 },
      },
    });
    const small = await wsConnect(defer, `ws://${HOST}:${server.port}/small`);
    const big = await wsConnect(defer, `ws://${HOST}:${server.port}/big`);
    big.client.send('x'.repeat(500));
    expect((await big.messages.next()).data.toString()).toBe(`big:${'x'.repeat(500)}`);
    small.client.send('x'.repeat(11));
    expect((await withTimeout(small.closed, 3000, 'close')).code).toBe(1009);
    await withTimeout(closed.promise, 3000, 'server close callback');
    expect(closes).toEqual([{ path: '/small', code: 1009 }]);
  });
});

describe('path option', () => {
  it('serves only that path', async () => {
    const server = await startServer(defer, { path: '/ws', ...tagged('p') });
    const c = await wsConnect(defer, `ws://${HOST}:${server.port}/ws?token=1`);
    c.client.send('ok');
    expect((await c.messages.next()).data.toString()).toBe('p:ok');
    const res = await rawHttp(server.port, handshakeRequest('/other'));
    expect(res.status).toBe(404);
    expect(res.closed).toBe(true);
  });

  it('is ignored when routes are given', async () => {
    const server = await startServer(defer, { path: '/ws', routes: { '/r': tagged('r') } });
    expect((await rawHttp(server.port, handshakeRequest('/ws'))).status).toBe(404);
    expect((await rawHttp(server.port, handshakeRequest('/r'))).status).toBe(101);
  });
});

describe('several servers attached to one http server', () => {
  async function twoServers() {
    const httpServer = http.createServer();
    const a = attach(httpServer, { routes: { '/a': tagged('a') } });
    const b = attach(httpServer, { routes: { '/b': tagged('b') } });
    const sockets = new Set<Socket>();
    httpServer.on('connection', (s) => sockets.add(s));
    httpServer.listen(0, HOST);
    await once(httpServer, 'listening');
    defer(
      () =>
        new Promise<void>((resolve) => {
          for (const s of sockets) s.destroy(); // upgraded sockets are no longer the http server's to close
          httpServer.close(() => resolve());
        }),
    );
    defer(() => Promise.all([a.close({ timeout: 200 }), b.close({ timeout: 200 })]));
    return { port: (httpServer.address() as { port: number }).port, a, b };
  }

  it('each serves its own paths on the shared port', async () => {
    const { port, a, b } = await twoServers();
    const ca = await wsConnect(defer, `ws://${HOST}:${port}/a`);
    const cb = await wsConnect(defer, `ws://${HOST}:${port}/b`);
    ca.client.send('1');
    cb.client.send('2');
    expect((await ca.messages.next()).data.toString()).toBe('a:1');
    expect((await cb.messages.next()).data.toString()).toBe('b:2');
    expect(a.connections.size).toBe(1);
    expect(b.connections.size).toBe(1);
  });

  it('a path neither serves still gets an answer (404) and the socket is closed', async () => {
    const { port } = await twoServers();
    const res = await rawHttp(port, handshakeRequest('/neither'), 1000);
    expect(res.status).toBe(404);
    expect(res.closed).toBe(true);
  });
});
