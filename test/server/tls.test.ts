/** wss://: serve({ tls }), attach(https server) and attach(http2 secure server with allowHTTP1), with the self-signed fixture certificate (CN=localhost, IP 127.0.0.1). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as http2 from 'node:http2';
import * as https from 'node:https';
import * as net from 'node:net';
import type { Socket } from 'node:net';
import * as tls from 'node:tls';
import { describe, expect, it } from 'vitest';
import { type UpgradeRequest, type WebSocket, attach } from '../../src/index.js';
import { deferred, handshakeRequest, HOST, once, startServer, useCleanup, withTimeout, wsConnect } from '../kit/index.js';

const defer = useCleanup();

const fixture = (name: string) => readFileSync(join(__dirname, '../fixtures', name));
const key = fixture('key.pem');
const cert = fixture('cert.pem');

const echo = { message: (ws: WebSocket, data: Buffer, isBinary: boolean) => void ws.send(data, { binary: isBinary }) };

describe('serve({ tls })', () => {
  it('speaks wss to a ws client that trusts the certificate; the hook sees req.secure', async () => {
    const seen = deferred<UpgradeRequest>();
    const server = await startServer(defer, { ...echo, tls: { key, cert }, upgrade: (req) => void seen.resolve(req) });
    const { client, messages } = await wsConnect(defer, `wss://localhost:${server.port}/secure`, { ca: cert });
    const req = await withTimeout(seen.promise);
    expect(req.secure).toBe(true);
    expect(req.tls?.authorized).toBe(false); // no client certificate was asked for
    expect(req.tls?.protocol).toMatch(/^TLSv1\.[23]$/);
    expect(req.tls?.servername).toBe('localhost');
    client.send('over tls');
    expect((await messages.next()).data.toString()).toBe('over tls');
    const big = Buffer.alloc(1024 * 1024, 7);
    client.send(big);
    expect((await messages.next(10_000)).data.equals(big)).toBe(true);
  });

  it('works by IP address too (the certificate names 127.0.0.1)', async () => {
    const server = await startServer(defer, { ...echo, tls: { key, cert } });
    const { client, messages, closed } = await wsConnect(defer, `wss://${HOST}:${server.port}/`, { ca: cert });
    client.send(Buffer.from([1, 2, 3]));
    expect([...(await messages.next()).data]).toEqual([1, 2, 3]);
    client.close(4321, 'tls bye');
    expect((await withTimeout(closed)).code).toBe(4321); // the server echoes the code
  });

  it('a client that does not trust the certificate fails the TLS handshake', async () => {
    const server = await startServer(defer, { ...echo, tls: { key, cert } });
    await expect(wsConnect(defer, `wss://${HOST}:${server.port}/`)).rejects.toThrow(/self[- ]signed|certificate/i);
    expect(server.connections.size).toBe(0);
  });

  it('answers plain HTTPS requests with 426', async () => {
    const server = await startServer(defer, { ...echo, tls: { key, cert } });
    const status = await withTimeout(
      new Promise<number>((resolve, reject) => {
        https
          .get({ host: HOST, port: server.port, path: '/', ca: cert, agent: false }, (res) => {
            res.resume();
            resolve(res.statusCode!);
          })
          .on('error', reject);
      }),
    );
    expect(status).toBe(426);
  });
});

describe('attach(https server)', () => {
  it('serves wss beside HTTPS routes; rejectUnauthorized: false accepted too', async () => {
    const httpsServer = https.createServer({ key, cert }, (_req, res) => res.end('https route'));
    const sockets = new Set<Socket>();
    httpsServer.on('secureConnection', (s: Socket) => sockets.add(s));
    const seen = deferred<UpgradeRequest>();
    const wss = attach(httpsServer, { ...echo, upgrade: (req) => void seen.resolve(req) });
    httpsServer.listen(0, HOST);
    await once(httpsServer, 'listening');
    defer(
      () =>
        new Promise<void>((resolve) => {
          for (const s of sockets) s.destroy();
          httpsServer.close(() => resolve());
        }),
    );
    defer(() => wss.close({ timeout: 200 }));
    const port = (httpsServer.address() as { port: number }).port;
    const { client, messages } = await wsConnect(defer, `wss://${HOST}:${port}/a`, { rejectUnauthorized: false });
    expect((await withTimeout(seen.promise)).secure).toBe(true);
    client.send('attached');
    expect((await messages.next()).data.toString()).toBe('attached');
    expect(wss.connections.size).toBe(1);
    const body = await withTimeout(
      new Promise<string>((resolve, reject) => {
        https
          .get({ host: HOST, port, path: '/', rejectUnauthorized: false, agent: false }, (res) => {
            let text = '';
            res.setEncoding('utf8');
            res.on('data', (c: string) => (text += c));
            res.on('end', () => resolve(text));
          })
          .on('error', reject);
      }),
    );
    expect(body).toBe('https route');
  });
});

describe('attach(http2 secure server with allowHTTP1)', () => {
  it('an HTTP/1.1 WebSocket upgrade works beside HTTP/2 routes', async () => {
    const h2 = http2.createSecureServer({ key, cert, allowHTTP1: true }, (_req, res) => res.end('h2 route'));
    const sockets = new Set<Socket>();
    h2.on('secureConnection', (s: Socket) => sockets.add(s));
    const seen = deferred<UpgradeRequest>();
    const wss = attach(h2, { ...echo, upgrade: (req) => void seen.resolve(req) });
    h2.listen(0, HOST);
    await once(h2, 'listening');
    defer(
      () =>
        new Promise<void>((resolve) => {
          for (const s of sockets) s.destroy();
          h2.close(() => resolve());
        }),
    );
    defer(() => wss.close({ timeout: 200 }));
    const port = (h2.address() as { port: number }).port;
    expect(wss.port).toBe(port);
    const { client, messages } = await wsConnect(defer, `wss://${HOST}:${port}/h2`, { rejectUnauthorized: false });
    expect((await withTimeout(seen.promise)).secure).toBe(true);
    client.send('over allowHTTP1');
    expect((await messages.next()).data.toString()).toBe('over allowHTTP1');
    const session = http2.connect(`https://${HOST}:${port}`, { rejectUnauthorized: false });
    defer(() => session.close());
    const body = await withTimeout(
      new Promise<string>((resolve, reject) => {
        const stream = session.request({ ':path': '/' });
        let text = '';
        stream.setEncoding('utf8');
        stream.on('data', (c: string) => (text += c));
        stream.on('end', () => resolve(text));
        stream.on('error', reject);
      }),
    );
    expect(body).toBe('h2 route');
  });
});

describe('handshakeTimeout: from accept to the 101, TLS included', () => {
  const TIMEOUT = 500;
  /** How long a stalled connection is watched before it counts as held (Node's own default would hold it 120 s). */
  const WATCH_MS = 5000;
  /** 5 bytes of a TLS record header announcing a ClientHello that never follows. */
  const CLIENT_HELLO_START = Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00]);

  /** Ms from the connection attempt until the server closed it, or -1 if it was still open after WATCH_MS. */
  async function heldFor(socket: net.Socket): Promise<number> {
    defer(() => socket.destroy());
    socket.on('error', () => {});
    socket.resume(); // reads, so that the server's FIN is seen
    const started = performance.now();
    const closed = new Promise<number>((resolve) => socket.once('close', () => resolve(performance.now() - started)));
    return withTimeout(closed, WATCH_MS, 'server closes the stalled connection').catch(() => -1);
  }

  const plain = (port: number, send?: string | Buffer) => {
    const socket = net.connect({ host: HOST, port });
    if (send) socket.once('connect', () => socket.write(send));
    return socket;
  };
  const secure = (port: number, send?: string) => {
    const socket = tls.connect({ host: HOST, port, ca: cert, servername: 'localhost' });
    if (send) socket.once('secureConnect', () => socket.write(send));
    return socket;
  };

  it.each([
    ['wss: nothing sent', true, (port: number) => plain(port)],
    ['wss: 5 bytes of a ClientHello', true, (port: number) => plain(port, CLIENT_HELLO_START)],
    ['wss: TLS done, no HTTP request', true, (port: number) => secure(port)],
    ['wss: TLS done, half a request line', true, (port: number) => secure(port, 'GET /ch')],
    ['ws: nothing sent', false, (port: number) => plain(port)],
    ['ws: half a request line', false, (port: number) => plain(port, 'GET /ch')],
  ])('%s: closed by the server within 2 x handshakeTimeout', async (name, useTls, open) => {
    const server = await startServer(defer, { ...echo, handshakeTimeout: TIMEOUT, ...(useTls ? { tls: { key, cert } } : {}) });
    const ms = await heldFor(open(server.port));
    console.log(`handshakeTimeout ${TIMEOUT} ms, ${name}: ${ms < 0 ? `still open after ${WATCH_MS} ms` : `closed after ${Math.round(ms)} ms`}`);
    expect(ms, 'ms until the server closed it (-1: still open after 5 s)').toBeGreaterThanOrEqual(TIMEOUT * 0.9);
    expect(ms).toBeLessThan(2 * TIMEOUT);
  });

  it('a wss connection accepted in time stays open past the deadline and still echoes', async () => {
    const server = await startServer(defer, { ...echo, handshakeTimeout: TIMEOUT, tls: { key, cert } });
    const { client, messages } = await wsConnect(defer, `wss://localhost:${server.port}/`, { ca: cert });
    // Stalled from now on: once the server has closed it, the open connection's deadline has passed too.
    expect(await heldFor(plain(server.port))).toBeGreaterThan(0);
    client.send('still here');
    expect((await messages.next()).data.toString()).toBe('still here');
    expect(client.readyState).toBe(1);
    expect(server.connections.size).toBe(1);
  });

  it('server.close() does not wait for a connection stalled before its ClientHello', async () => {
    const server = await startServer(defer, { ...echo, handshakeTimeout: 60_000, tls: { key, cert } });
    const stalled = plain(server.port);
    const held = heldFor(stalled);
    await once(stalled, 'connect');
    await withTimeout(server.close({ timeout: 200 }), 3000, 'server.close()');
    expect(await held).toBeGreaterThan(0);
  });

  it('an async hook gets what is left of handshakeTimeout after a slow request: 503 at the deadline from accept', async () => {
    const never = deferred();
    defer(() => never.resolve());
    const server = await startServer(defer, { handshakeTimeout: 600, tls: { key, cert }, upgrade: () => never.promise });
    const socket = secure(server.port);
    defer(() => socket.destroy());
    const started = performance.now();
    await once(socket, 'secureConnect');
    const request = handshakeRequest('/');
    socket.write(request.slice(0, -2));
    // A slow client: the end of its request comes 400 ms later (a stimulus, not a wait for the server).
    await new Promise((resolve) => setTimeout(resolve, 400));
    let answer = '';
    socket.on('data', (d: Buffer) => (answer += d.toString('latin1')));
    socket.write('\r\n');
    await withTimeout(once(socket, 'close', 5000), 5000, 'the answer and close');
    const ms = performance.now() - started;
    expect(answer.split('\r\n')[0]).toBe('HTTP/1.1 503 Service Unavailable');
    expect(ms, 'ms from wsConnect to the 503').toBeLessThan(600 + 250);
  });
});
