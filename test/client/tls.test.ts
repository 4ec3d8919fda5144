/** wss:// : trust, SNI, rejection of untrusted certificates, client certificates. */
import { readFileSync } from 'node:fs';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { WebSocketServer } from 'ws';
import { type UpgradeRequest, connect } from '../../src/index.js';
import { cleanup, defer, failure, HOST, Queue } from '../kit/index.js';
import { client, startOurs } from './util.js';

afterEach(cleanup);

// A self-signed pair for CN=localhost with subjectAltName DNS:localhost, IP:127.0.0.1.
const key = readFileSync(join(__dirname, 'fixtures', 'key.pem'));
const cert = readFileSync(join(__dirname, 'fixtures', 'cert.pem'));

/** Our server over TLS, echoing, recording each upgrade request. */
async function secureServer(tls: https.ServerOptions = {}) {
  const requests = new Queue<UpgradeRequest>('upgrade request');
  const server = await startOurs({
    tls: { key, cert, ...tls },
    upgrade: (req) => void requests.push(req),
    message: (ws, data, isBinary) => void ws.send(data, { binary: isBinary }),
  });
  return { port: server.port, requests };
}

/** A ws server on an https server. */
async function secureWsServer() {
  const httpsServer = https.createServer({ key, cert });
  const wss = new WebSocketServer({ server: httpsServer });
  wss.on('connection', (ws: any) => ws.on('message', (data: Buffer, isBinary: boolean) => ws.send(data, { binary: isBinary })));
  await new Promise<void>((resolve) => httpsServer.listen(0, HOST, () => resolve()));
  defer(
    () =>
      new Promise<void>((resolve) => {
        for (const c of wss.clients) c.terminate();
        wss.close();
        httpsServer.close(() => resolve());
      }),
  );
  return { port: (httpsServer.address() as AddressInfo).port };
}

describe('wss://', () => {
  it('to our server, trusting its certificate with ca and servername localhost', async () => {
    const server = await secureServer();
    const { ws, messages } = await client(`wss://${HOST}:${server.port}/secure`, { ca: cert, servername: 'localhost' });
    const req = await server.requests.next();
    expect(req.secure).toBe(true);
    expect(req.tls?.servername).toBe('localhost');
    expect(req.url).toBe('/secure');
    ws.send('over tls');
    expect((await messages.next()).data.toString()).toBe('over tls');
    const big = Buffer.alloc(256 * 1024, 7);
    ws.send(big);
    expect((await messages.next()).data.equals(big)).toBe(true);
  });

  it('wss://localhost:port sends the host name as SNI by itself', async () => {
    const server = await secureServer();
    const { ws, messages } = await client(`wss://localhost:${server.port}/`, { ca: cert });
    expect((await server.requests.next()).tls?.servername).toBe('localhost');
    ws.send('sni');
    expect((await messages.next()).data.toString()).toBe('sni');
  });

  it('an IP literal is verified against the IP subjectAltName and sends no SNI', async () => {
    const server = await secureServer();
    await client(`wss://${HOST}:${server.port}/`, { ca: cert });
    const req = await server.requests.next();
    expect(req.secure).toBe(true);
    expect(req.tls?.servername).toBeFalsy();
  });

  it('an https:// URL means wss://', async () => {
    const server = await secureServer();
    await client(`https://${HOST}:${server.port}/h`, { ca: cert });
    expect((await server.requests.next()).url).toBe('/h');
  });

  it('to a ws server on an https server', async () => {
    const server = await secureWsServer();
    const { ws, messages } = await client(`wss://localhost:${server.port}/`, { ca: cert });
    ws.send(Buffer.from([1, 2, 3]));
    expect((await messages.next()).data.toString('hex')).toBe('010203');
  });

  it('a self-signed certificate is rejected by default: the promise rejects, no open, the server sees no upgrade', async () => {
    const server = await secureServer();
    const open = vi.fn();
    const error = await failure(() => connect(`wss://localhost:${server.port}/`, { open, handshakeTimeout: 5000 }));
    expect(open).not.toHaveBeenCalled();
    expect(error.code).toMatch(/SELF_SIGNED|UNABLE_TO_VERIFY/);
    expect(server.requests.items.length).toBe(0);
  });

  it('rejectUnauthorized: false connects to a self-signed server', async () => {
    const server = await secureServer();
    const { ws, messages } = await client(`wss://localhost:${server.port}/`, { rejectUnauthorized: false });
    ws.send('insecure but ok');
    expect((await messages.next()).data.toString()).toBe('insecure but ok');
  });

  it('a trusted certificate for another name is rejected (ERR_TLS_CERT_ALTNAME_INVALID)', async () => {
    const server = await secureServer();
    const open = vi.fn();
    const error = await failure(() => connect(`wss://${HOST}:${server.port}/`, { ca: cert, servername: 'example.com', open }));
    expect(error.code).toBe('ERR_TLS_CERT_ALTNAME_INVALID');
    expect(open).not.toHaveBeenCalled();
  });

  it('checkServerIdentity is used', async () => {
    const server = await secureServer();
    const check = vi.fn(() => new Error('pinned key mismatch'));
    const error = await failure(() => connect(`wss://localhost:${server.port}/`, { ca: cert, checkServerIdentity: check }));
    expect(check).toHaveBeenCalled();
    expect(error.message).toBe('pinned key mismatch');
  });

  it('a client certificate (cert, key) for a server that requires one', async () => {
    const server = await secureServer({ requestCert: true, rejectUnauthorized: true, ca: cert });
    await client(`wss://localhost:${server.port}/`, { ca: cert, cert, key });
    expect((await server.requests.next()).tls?.authorized).toBe(true);

    const open = vi.fn();
    const error = await failure(() => connect(`wss://localhost:${server.port}/`, { ca: cert, open }));
    expect(error).toBeInstanceOf(Error);
    expect(open).not.toHaveBeenCalled();
  });
});
