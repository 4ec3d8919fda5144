/**
 * Which transport carries a connection (issue 17): the native one for plain TCP wherever the addon can adopt the
 * socket, the stream one for TLS, other Duplexes, `transport: 'stream'` and WSBOLT_TRANSPORT=stream. Each vitest
 * project says what it expects in WSBOLT_EXPECT_TRANSPORT.
 */
import { readFileSync } from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type WebSocket, attach, connect, createServer, handleUpgrade } from '../../src/index.js';
import { HOST, Queue, deferred, expectedTransport, frame, startServer, useCleanup, withTimeout } from '../kit/index.js';

const defer = useCleanup();
const fixture = (name: string) => readFileSync(join(__dirname, '../fixtures', name));

const echo = { message: (ws: WebSocket, data: Buffer, isBinary: boolean) => void ws.send(data, { binary: isBinary }) };

/** Opens a client to the server, echoes one message through it, and gives both ends. */
async function pair(port: number, clientOptions: Parameters<typeof connect>[1] = {}, server: Queue<WebSocket>, scheme = 'ws') {
  const messages = new Queue<string>();
  const client = await withTimeout(connect(`${scheme}://${HOST}:${port}/`, { ...clientOptions, message: (_ws, data) => messages.push(data.toString()) }));
  defer(() => client.terminate());
  const peer = await server.next();
  client.send('through');
  expect(await messages.next()).toBe('through');
  return { client, peer };
}

describe('ws.transport', () => {
  it(`is ${expectedTransport} for a plain serve()/connect() connection in this project`, async () => {
    const opened = new Queue<WebSocket>();
    const server = await startServer(defer, { ...echo, open: (ws) => opened.push(ws) });
    const { client, peer } = await pair(server.port, {}, opened);
    expect(client.transport).toBe(expectedTransport);
    expect(peer.transport).toBe(expectedTransport);
    expect(peer.remoteAddress).toBe(HOST);
    expect(peer.remotePort).toBeGreaterThan(0);
    expect(client.remotePort).toBe(server.port);
  });

  it(`is ${expectedTransport} through attach() and handleUpgrade() too`, async () => {
    const opened = new Queue<WebSocket>();
    const httpServer = http.createServer();
    attach(httpServer, { ...echo, path: '/', open: (ws) => opened.push(ws) });
    await new Promise<void>((resolve) => httpServer.listen(0, HOST, resolve));
    defer(() => new Promise((resolve) => httpServer.close(resolve)));
    defer(() => httpServer.closeAllConnections());
    const { peer } = await pair((httpServer.address() as { port: number }).port, {}, opened);
    expect(peer.transport).toBe(expectedTransport);

    const other = http.createServer();
    const options = { ...echo, open: (ws: WebSocket) => opened.push(ws) };
    other.on('upgrade', (req, socket, head) => void handleUpgrade(req, socket, head, options));
    await new Promise<void>((resolve) => other.listen(0, HOST, resolve));
    defer(() => new Promise((resolve) => other.close(resolve)));
    defer(() => other.closeAllConnections());
    const second = await pair((other.address() as { port: number }).port, {}, opened);
    expect(second.peer.transport).toBe(expectedTransport);
  });

  it("is stream when the server, route or client asks for 'stream'", async () => {
    const opened = new Queue<WebSocket>();
    const server = await startServer(defer, { ...echo, transport: 'stream', open: (ws) => opened.push(ws) });
    const first = await pair(server.port, { transport: 'stream' }, opened);
    expect(first.peer.transport).toBe('stream');
    expect(first.client.transport).toBe('stream');

    const routed = await startServer(defer, { routes: { '/': { ...echo, transport: 'stream', open: (ws) => opened.push(ws) } } });
    const second = await pair(routed.port, {}, opened);
    expect(second.peer.transport).toBe('stream');
    expect(second.client.transport).toBe(expectedTransport);
  });

  it("'native' is honoured where possible, else falls back to stream visibly", async () => {
    const opened = new Queue<WebSocket>();
    const server = await startServer(defer, { ...echo, transport: 'native', open: (ws) => opened.push(ws) });
    const { client, peer } = await pair(server.port, { transport: 'native' }, opened);
    // WSBOLT_TRANSPORT=stream only changes the default: an explicit choice wins where the addon is loaded.
    const possible = expectedBackendIsNative() ? 'native' : 'stream';
    expect(peer.transport).toBe(possible);
    expect(client.transport).toBe(possible);
  });

  it('is stream for TLS, whatever was asked for', async () => {
    const opened = new Queue<WebSocket>();
    const cert = fixture('cert.pem');
    const server = await startServer(defer, { ...echo, transport: 'native', tls: { key: fixture('key.pem'), cert }, open: (ws) => opened.push(ws) });
    const { client, peer } = await pair(server.port, { ca: cert, transport: 'native' }, opened, 'wss');
    expect(peer.transport).toBe('stream');
    expect(client.transport).toBe('stream');
  });

  it('bytes the client sends right behind its upgrade request arrive first and in order', async () => {
    const received = new Queue<string>();
    const ready = deferred();
    const server = await startServer(defer, {
      // An async hook: the frames wait in Node's buffer (or the early-data store) until the connection exists.
      upgrade: () => ready.promise,
      message: (_ws, data) => received.push(data.toString()),
    });
    const socket = net.connect(server.port, HOST);
    defer(() => socket.destroy());
    await new Promise((resolve) => socket.once('connect', resolve));
    const request = `GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`;
    const frames = Array.from({ length: 50 }, (_, i) => frame({ opcode: 1, payload: Buffer.from(`m${i}`), mask: true }));
    socket.write(Buffer.concat([Buffer.from(request), ...frames.slice(0, 10)]));
    socket.write(Buffer.concat(frames.slice(10, 30)));
    setImmediate(() => ready.resolve());
    await ready.promise;
    socket.write(Buffer.concat(frames.slice(30)));
    expect(await received.take(50)).toEqual(Array.from({ length: 50 }, (_, i) => `m${i}`));
    const peer = [...server.connections][0]!;
    expect(peer.transport).toBe(expectedTransport);
  });
});

function expectedBackendIsNative(): boolean {
  return process.env.WSBOLT_EXPECT_BACKEND === 'native';
}

describe('the transport option', () => {
  it('refuses a value other than native or stream, at startup and at connect, with a RangeError', async () => {
    expect(() => createServer({ transport: 'tcp' as 'native' })).toThrow(RangeError);
    expect(() => createServer({ routes: { '/': { transport: 'uring' as 'native' } } })).toThrow(
      `option 'routes["/"].transport' must be 'native' or 'stream', received 'uring'`,
    );
    await expect(connect(`ws://${HOST}:1/`, { transport: 'fast' as 'native' })).rejects.toThrow(RangeError);
  });
});
