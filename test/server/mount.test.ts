/** The ways to mount the server: serve(), attach(), handleUpgrade() from an 'upgrade' listener, createServer(). */
import * as http from 'node:http';
import type { Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { type WebSocket, attach, createServer, handleUpgrade, serve } from '../../src/index.js';
import { HOST, once, startServer, useCleanup, withTimeout, wsConnect } from '../kit/index.js';

const defer = useCleanup();

const echo = { message: (ws: WebSocket, data: Buffer, isBinary: boolean) => void ws.send(data, { binary: isBinary }) };

/** A plain HTTP GET, answered in full. */
async function get(port: number, path: string): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return withTimeout(
    new Promise((resolve, reject) => {
      http
        .get({ host: HOST, port, path, agent: false }, (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (body += c));
          res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
        })
        .on('error', reject);
    }),
    5000,
    `GET ${path}`,
  );
}

async function listen(server: http.Server): Promise<number> {
  const sockets = new Set<Socket>();
  server.on('connection', (s: Socket) => sockets.add(s));
  server.listen(0, HOST);
  await once(server, 'listening');
  defer(
    () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy(); // upgraded sockets are no longer the http server's to close
        server.close(() => resolve());
      }),
  );
  return (server.address() as { port: number }).port;
}

describe('serve()', () => {
  it('listens on an ephemeral port and echoes', async () => {
    const server = await startServer(defer, echo);
    expect(server.port).toBeGreaterThan(0);
    expect(server.address()).toMatchObject({ address: HOST, port: server.port });
    const { client, messages } = await wsConnect(defer, `ws://${HOST}:${server.port}/`);
    client.send('hello');
    const m = await messages.next();
    expect(m.data.toString()).toBe('hello');
    expect(m.isBinary).toBe(false);
    expect(server.connections.size).toBe(1);
  });

  it('answers a plain HTTP GET with 426 Upgrade Required', async () => {
    const server = await startServer(defer, echo);
    const res = await get(server.port, '/');
    expect(res.status).toBe(426);
    expect(res.headers['upgrade']).toBe('websocket');
    expect(res.headers['sec-websocket-version']).toBe('13');
  });

  it('hands plain HTTP requests to the http option', async () => {
    const server = await startServer(defer, {
      ...echo,
      http: (req, res) => {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end(`plain ${req.url}`);
      },
    });
    expect(await get(server.port, '/status')).toMatchObject({ status: 200, body: 'plain /status' });
    const { client, messages } = await wsConnect(defer, `ws://${HOST}:${server.port}/ws`);
    client.send('x');
    expect((await messages.next()).data.toString()).toBe('x');
  });

  it('rejects when the port is taken', async () => {
    const first = await startServer(defer, echo);
    await expect(serve({ host: HOST, port: first.port })).rejects.toThrow(/EADDRINUSE/);
  });
});

describe('attach()', () => {
  it('serves WebSocket and normal HTTP routes on the same port', async () => {
    const httpServer = http.createServer((req, res) => {
      res.writeHead(req.url === '/hello' ? 200 : 404, { 'content-type': 'text/plain' });
      res.end(req.url === '/hello' ? 'hello over http' : 'not found');
    });
    const wss = attach(httpServer, echo);
    defer(() => wss.close({ timeout: 200 }));
    const port = await listen(httpServer);
    expect(wss.port).toBe(port);
    expect(wss.httpServer).toBe(httpServer);

    const { client, messages } = await wsConnect(defer, `ws://${HOST}:${port}/socket`);
    client.send(Buffer.from([1, 2, 3]));
    const m = await messages.next();
    expect(m.isBinary).toBe(true);
    expect([...m.data]).toEqual([1, 2, 3]);
    expect(await get(port, '/hello')).toMatchObject({ status: 200, body: 'hello over http' });
    expect(await get(port, '/other')).toMatchObject({ status: 404 });
    expect(wss.connections.size).toBe(1);
  });

  it('server.close() leaves the http server it did not create listening', async () => {
    const httpServer = http.createServer((_req, res) => res.end('still here'));
    const wss = attach(httpServer, echo);
    const port = await listen(httpServer);
    const { closed } = await wsConnect(defer, `ws://${HOST}:${port}/`);
    await withTimeout(wss.close(), 3000, 'wss.close()');
    expect((await closed).code).toBe(1001);
    expect(httpServer.listening).toBe(true);
    expect(await get(port, '/')).toMatchObject({ status: 200, body: 'still here' });
  });
});

describe('handleUpgrade()', () => {
  it('upgrades from a custom upgrade listener and resolves with the connection', async () => {
    const options = { ...echo };
    const upgraded: Promise<WebSocket | null>[] = [];
    const httpServer = http.createServer();
    httpServer.on('upgrade', (req, socket: Socket, head: Buffer) => {
      if (req.url === '/ws') upgraded.push(handleUpgrade(req, socket, head, options));
      else socket.destroy();
    });
    const port = await listen(httpServer);
    const { client, messages } = await wsConnect(defer, `ws://${HOST}:${port}/ws`);
    expect(upgraded).toHaveLength(1);
    const ws = await upgraded[0]!;
    expect(ws).not.toBeNull();
    expect(ws!.readyState).toBe(1);
    expect(ws!.remoteAddress).toBe(HOST);
    expect(ws!.remotePort).toBe((client as unknown as { _socket: Socket })._socket.localPort); // ws's own socket
    client.send('via handleUpgrade');
    expect((await messages.next()).data.toString()).toBe('via handleUpgrade');
    ws!.close(1000);
  });

  it('connections upgraded with the same options object share topics', async () => {
    const options = {
      message(ws: WebSocket, data: Buffer) {
        if (data.toString() === 'sub') {
          ws.subscribe('t');
          ws.send('subscribed');
        } else ws.publish('t', data);
      },
    };
    const httpServer = http.createServer();
    httpServer.on('upgrade', (req, socket: Socket, head: Buffer) => void handleUpgrade(req, socket, head, options));
    const port = await listen(httpServer);
    const a = await wsConnect(defer, `ws://${HOST}:${port}/`);
    const b = await wsConnect(defer, `ws://${HOST}:${port}/`);
    a.client.send('sub');
    b.client.send('sub');
    expect((await a.messages.next()).data.toString()).toBe('subscribed');
    expect((await b.messages.next()).data.toString()).toBe('subscribed');
    a.client.send('from a');
    expect((await b.messages.next()).data.toString()).toBe('from a');
  });
});

describe('createServer()', () => {
  it('has no HTTP server of its own and upgrades what it is given', async () => {
    const wss = createServer(echo);
    defer(() => wss.close({ timeout: 200 }));
    expect(wss.httpServer).toBeNull();
    expect(wss.port).toBe(0);
    const httpServer = http.createServer();
    httpServer.on('upgrade', (req, socket: Socket, head: Buffer) => void wss.handleUpgrade(req, socket, head));
    const port = await listen(httpServer);
    const { client, messages, closed } = await wsConnect(defer, `ws://${HOST}:${port}/`);
    client.send('created');
    expect((await messages.next()).data.toString()).toBe('created');
    expect(wss.connections.size).toBe(1);
    await withTimeout(wss.close({ code: 4001, reason: 'done' }), 3000, 'wss.close()');
    expect(await closed).toEqual({ code: 4001, reason: 'done' });
    expect(wss.connections.size).toBe(0);
  });
});
