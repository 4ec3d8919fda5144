/** wss://: serve({ tls }) and attach(https server), with the self-signed fixture certificate (CN=localhost, IP 127.0.0.1). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as https from 'node:https';
import type { Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { type UpgradeRequest, type WebSocket, attach } from '../../src/index.js';
import { HOST, connect, deferred, once, startServer, useCleanup, withTimeout } from './util.js';

const defer = useCleanup();

const fixture = (name: string) => readFileSync(join(__dirname, '../fixtures', name));
const key = fixture('key.pem');
const cert = fixture('cert.pem');

const echo = { message: (ws: WebSocket, data: Buffer, isBinary: boolean) => void ws.send(data, { binary: isBinary }) };

describe('serve({ tls })', () => {
  it('speaks wss to a ws client that trusts the certificate; the hook sees req.secure', async () => {
    const seen = deferred<UpgradeRequest>();
    const server = await startServer(defer, { ...echo, tls: { key, cert }, upgrade: (req) => void seen.resolve(req) });
    const { client, messages } = await connect(defer, `wss://localhost:${server.port}/secure`, { ca: cert });
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
    const { client, messages, closed } = await connect(defer, `wss://${HOST}:${server.port}/`, { ca: cert });
    client.send(Buffer.from([1, 2, 3]));
    expect([...(await messages.next()).data]).toEqual([1, 2, 3]);
    client.close(4321, 'tls bye');
    expect((await withTimeout(closed)).code).toBe(4321); // the server echoes the code
  });

  it('a client that does not trust the certificate fails the TLS handshake', async () => {
    const server = await startServer(defer, { ...echo, tls: { key, cert } });
    await expect(connect(defer, `wss://${HOST}:${server.port}/`)).rejects.toThrow(/self[- ]signed|certificate/i);
    expect(server.connections.size).toBe(0);
  });

  it('answers plain HTTPS requests with 426', async () => {
    const server = await startServer(defer, { ...echo, tls: { key, cert } });
    const status = await withTimeout(
      new Promise<number>((resolve, reject) => {
        https.get({ host: HOST, port: server.port, path: '/', ca: cert, agent: false }, (res) => {
          res.resume();
          resolve(res.statusCode!);
        }).on('error', reject);
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
    const { client, messages } = await connect(defer, `wss://${HOST}:${port}/a`, { rejectUnauthorized: false });
    expect((await withTimeout(seen.promise)).secure).toBe(true);
    client.send('attached');
    expect((await messages.next()).data.toString()).toBe('attached');
    expect(wss.connections.size).toBe(1);
    const body = await withTimeout(
      new Promise<string>((resolve, reject) => {
        https.get({ host: HOST, port, path: '/', rejectUnauthorized: false, agent: false }, (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (text += c));
          res.on('end', () => resolve(text));
        }).on('error', reject);
      }),
    );
    expect(body).toBe('https route');
  });
});
