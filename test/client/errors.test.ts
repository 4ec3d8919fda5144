/**
 * Errors that say where: a refused handshake names the URL and carries status, headers and body; a connection that
 * cannot be made (nothing listening, TLS on one side only) is reported with the URL and a hint, the original error
 * kept as cause and its code kept.
 */
import { readFileSync } from 'node:fs';
import * as net from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConnectError, connect, reconnecting, reject, UnexpectedResponseError, WsboltError } from '../../src/index.js';
import { cleanup, defer, freePort, HOST } from '../kit/index.js';
import { startOurs } from './util.js';

afterEach(cleanup);

const key = readFileSync(join(__dirname, 'fixtures', 'key.pem'));
const cert = readFileSync(join(__dirname, 'fixtures', 'cert.pem'));

const failed = (url: string, options = {}) =>
  connect(url, { handshakeTimeout: 5000, ...options }).then(
    () => expect.unreachable('connected'),
    (error: unknown) => error as ConnectError & NodeJS.ErrnoException,
  );

describe('a refused handshake', () => {
  it('names the URL and carries status, headers, body, and a name matching its class', async () => {
    const server = await startOurs({ upgrade: () => reject(403, 'banned here', { 'x-why': 'test' }) });
    const url = `ws://${HOST}:${server.port}/room?id=7`;
    const error = (await connect(url).catch((e: unknown) => e)) as UnexpectedResponseError;
    expect(error).toBeInstanceOf(UnexpectedResponseError);
    expect(error).toBeInstanceOf(WsboltError);
    expect(error.name).toBe('UnexpectedResponseError');
    expect(error.code).toBe('ERR_UNEXPECTED_RESPONSE');
    expect(error.url).toBe(url);
    expect(error.status).toBe(403);
    expect(error.headers['x-why']).toBe('test');
    expect(error.body.toString().trim()).toBe('banned here');
    expect(error.message).toBe(`${url}: the server refused the WebSocket handshake with 403 Forbidden: banned here`);
  });
});

describe('a connection that cannot be made', () => {
  it('nothing listening: ECONNREFUSED with the URL and a hint, the original as cause', async () => {
    const port = await freePort();
    const url = `ws://${HOST}:${port}/`;
    const error = await failed(url);
    expect(error).toBeInstanceOf(ConnectError);
    expect(error.name).toBe('ConnectError');
    expect(error.code).toBe('ECONNREFUSED');
    expect(error.url).toBe(url);
    expect(error.message).toBe(`${url}: connection refused (ECONNREFUSED): nothing listens on ${HOST}:${port} — is the server running?`);
    expect((error.cause as NodeJS.ErrnoException).code).toBe('ECONNREFUSED');
  });

  it('wss:// against a plain server: the hint says the server does not speak TLS', async () => {
    const server = await startOurs({});
    const url = `wss://${HOST}:${server.port}/`;
    const error = await failed(url, { rejectUnauthorized: false });
    expect(error).toBeInstanceOf(ConnectError);
    expect(error.url).toBe(url);
    expect(error.message).toContain(`${url}: `);
    expect(error.message).toContain(`the server does not speak TLS on this port: try ws://${HOST}:${server.port}/`);
    expect(error.cause).toBeInstanceOf(Error);
    expect(error.code).toBe((error.cause as NodeJS.ErrnoException).code);
  });

  it('ws:// against a TLS server: the hint says the server speaks TLS', async () => {
    const server = await startOurs({ tls: { key, cert } });
    const url = `ws://${HOST}:${server.port}/`;
    const error = await failed(url);
    expect(error).toBeInstanceOf(ConnectError);
    expect(error.url).toBe(url);
    expect(error.message).toContain(`the server may speak TLS on this port: try wss://${HOST}:${server.port}/`);
    expect(error.code).toBe((error.cause as NodeJS.ErrnoException).code);
  });

  it('a server that closes without answering: reported with the URL', async () => {
    const silent = net.createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => silent.listen(0, HOST, resolve));
    defer(() => new Promise((resolve) => silent.close(resolve)));
    const url = `ws://${HOST}:${(silent.address() as net.AddressInfo).port}/`;
    const error = await failed(url);
    expect(error).toBeInstanceOf(ConnectError);
    expect(error.message.startsWith(`${url}: `)).toBe(true);
    expect(error.code).toBe((error.cause as NodeJS.ErrnoException).code);
  });
});

describe('credentials in the URL stay out of errors (they end up in logs)', () => {
  it('a refused handshake, a connection that cannot be made and a reconnecting client that gives up name the URL without user:password', async () => {
    const server = await startOurs({ upgrade: () => reject(401, 'who are you') });
    const refused = (await connect(`ws://alice:s3cret@${HOST}:${server.port}/room`).catch((e: unknown) => e)) as UnexpectedResponseError;
    expect(refused).toBeInstanceOf(UnexpectedResponseError);
    expect(refused.url).toBe(`ws://${HOST}:${server.port}/room`);

    const port = await freePort();
    const unreachable = await failed(`ws://alice:s3cret@${HOST}:${port}/`);
    expect(unreachable.code).toBe('ECONNREFUSED');

    const gaveUp = (await reconnecting(`ws://alice:s3cret@${HOST}:${server.port}/`).catch((e: unknown) => e)) as Error;
    expect(gaveUp).toMatchObject({ code: 'ERR_RECONNECT_GAVE_UP' });

    for (const error of [refused, unreachable, gaveUp]) {
      expect(error.message).toContain(`${HOST}:`);
      expect(`${error.message} ${(error as { url?: string }).url}`).not.toContain('s3cret');
    }
  });
});
