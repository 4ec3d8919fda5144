/** The client's opening handshake: what it sends, and every way a server's answer can be wrong. */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { UnexpectedResponseError, WsboltError, connect, reject as refuse } from '../../src/index.js';
import { cleanup, deferred, failure, freePort, HOST, type RawRequest, rawServer, serverFrame, switchingProtocols, withTimeout } from '../kit/index.js';
import { client, KINDS, startOurs, startServer } from './util.js';

afterEach(cleanup);

/** A raw server answering every handshake with answer(request), the socket left open. */
function answering(answer: (request: RawRequest) => string | Buffer) {
  return rawServer(({ socket, request }) => {
    socket.write(answer(request));
    socket.resume();
  });
}

describe('the request', () => {
  it('is a GET over HTTP/1.1 with Host, Upgrade, Connection, Version 13 and a fresh 16-byte key', async () => {
    const raw = await answering((req) => switchingProtocols(req));
    await client(`${raw.url}/chat`);
    await client(`${raw.url}/chat`);
    const [a, b] = await raw.connections.take(2);
    for (const { request } of [a!, b!]) {
      expect(request.requestLine).toBe('GET /chat HTTP/1.1');
      expect(request.headers.host).toBe(`${HOST}:${raw.port}`);
      expect(request.headers.upgrade?.toLowerCase()).toBe('websocket');
      expect(request.headers.connection?.toLowerCase()).toContain('upgrade');
      expect(request.headers['sec-websocket-version']).toBe('13');
      const key = request.headers['sec-websocket-key']!;
      expect(key).toMatch(/^[A-Za-z0-9+/]{22}==$/);
      expect(Buffer.from(key, 'base64').length).toBe(16);
      // Not asked for: no Origin, no subprotocols.
      expect(request.headers.origin).toBeUndefined();
      expect(request.headers['sec-websocket-protocol']).toBeUndefined();
    }
    expect(a!.request.headers['sec-websocket-key']).not.toBe(b!.request.headers['sec-websocket-key']);
  });

  it('offers no extension with perMessageDeflate: false', async () => {
    const raw = await answering((req) => switchingProtocols(req));
    const { ws } = await client(raw.url, { perMessageDeflate: false });
    expect((await raw.connections.next()).request.headers['sec-websocket-extensions']).toBeUndefined();
    expect(ws.extensions).toBe('');
  });

  it('keys differ across many connections', async () => {
    const raw = await answering((req) => switchingProtocols(req));
    await Promise.all(Array.from({ length: 20 }, () => client(raw.url)));
    const keys = (await raw.connections.take(20)).map((c) => c.request.headers['sec-websocket-key']);
    expect(new Set(keys).size).toBe(20);
  });

  it('carries Origin, extra headers and the offered subprotocols in order', async () => {
    const raw = await answering((req) => switchingProtocols(req, ['Sec-WebSocket-Protocol: superchat']));
    const { ws } = await client(raw.url, {
      origin: 'https://app.example',
      headers: { Authorization: 'Bearer t0k3n', 'X-Trace-Id': 'abc-123' },
      protocols: ['chat', 'superchat'],
    });
    const { request } = await raw.connections.next();
    expect(request.headers.origin).toBe('https://app.example');
    expect(request.headers.authorization).toBe('Bearer t0k3n');
    expect(request.headers['x-trace-id']).toBe('abc-123');
    expect(request.headers['sec-websocket-protocol']).toBe('chat, superchat');
    expect(ws.protocol).toBe('superchat');
  });

  it('accepts a single subprotocol given as a string', async () => {
    const raw = await answering((req) => switchingProtocols(req, ['Sec-WebSocket-Protocol: only']));
    const { ws } = await client(raw.url, { protocols: 'only' });
    expect((await raw.connections.next()).request.headers['sec-websocket-protocol']).toBe('only');
    expect(ws.protocol).toBe('only');
  });
});

describe.each(KINDS)('negotiation with a %s server', (kind) => {
  it("the server's chosen subprotocol is ws.protocol; none chosen is ''", async () => {
    const server = await startServer(kind, { protocols: ['superchat', 'chat'] });
    const chosen = await client(server.url, { protocols: ['chat', 'superchat'] });
    expect(['chat', 'superchat']).toContain(chosen.ws.protocol);
    expect((await server.peers.next()).protocol).toBe(chosen.ws.protocol);
    const none = await client(server.url, { protocols: ['mqtt'] });
    expect(none.ws.protocol).toBe('');
    const notOffered = await client(server.url);
    expect(notOffered.ws.protocol).toBe('');
    expect(notOffered.ws.extensions).toBe('');
  });

  it('open runs before connect() resolves, with options.data as ws.data', async () => {
    const server = await startServer(kind);
    const order: string[] = [];
    const ws = await connect<{ user: string }>(server.url, { data: { user: 'ada' }, open: (w) => order.push(`open:${w.data.user}`) });
    order.push('resolved');
    ws.terminate();
    expect(order).toEqual(['open:ada', 'resolved']);
  });
});

describe('bad answers from the server', () => {
  /** Connects expecting a rejection; checks that open() never ran. */
  async function refused(url: string, options: Parameters<typeof connect>[1] = {}) {
    const open = vi.fn();
    const error = await failure(() => connect(url, { handshakeTimeout: 3000, ...options, open }));
    expect(open).not.toHaveBeenCalled();
    expect(error).toBeInstanceOf(Error);
    return error;
  }

  it('a wrong Sec-WebSocket-Accept', async () => {
    const raw = await answering(
      () => 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n',
    );
    const error = await refused(raw.url);
    expect(error).toBeInstanceOf(WsboltError);
    expect(error.code).toBe('ERR_INVALID_HANDSHAKE');
    expect(error.message).toMatch(/Sec-WebSocket-Accept/i);
    // The socket is not kept.
    const { socket } = await raw.connections.next();
    await withTimeout(new Promise((resolve) => (socket.destroyed ? resolve(null) : socket.once('close', resolve))), 3000, 'socket closed');
  });

  it('a missing Sec-WebSocket-Accept', async () => {
    const raw = await answering(() => 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
    const error = await refused(raw.url);
    expect(error.code).toBe('ERR_INVALID_HANDSHAKE');
  });

  it('a subprotocol that was not offered', async () => {
    const raw = await answering((req) => switchingProtocols(req, ['Sec-WebSocket-Protocol: mqtt']));
    const error = await refused(raw.url, { protocols: ['chat', 'superchat'] });
    expect(error.code).toBe('ERR_INVALID_HANDSHAKE');
    expect(error.message).toMatch(/subprotocol/);
  });

  it('a subprotocol although none was offered', async () => {
    const raw = await answering((req) => switchingProtocols(req, ['Sec-WebSocket-Protocol: chat']));
    const error = await refused(raw.url);
    expect(error.code).toBe('ERR_INVALID_HANDSHAKE');
    expect(error.message).toMatch(/subprotocol/);
  });

  it('an extension that was not offered (permessage-deflate with perMessageDeflate: false)', async () => {
    const raw = await answering((req) => switchingProtocols(req, ['Sec-WebSocket-Extensions: permessage-deflate']));
    const error = await refused(raw.url, { perMessageDeflate: false });
    expect(error.code).toBe('ERR_INVALID_HANDSHAKE');
    expect(error.message).toMatch(/extension/);
  });

  it('an extension no client offers (x-unknown), whatever the deflate setting', async () => {
    const raw = await answering((req) => switchingProtocols(req, ['Sec-WebSocket-Extensions: x-unknown; foo=1']));
    const error = await refused(raw.url);
    expect(error.code).toBe('ERR_INVALID_HANDSHAKE');
  });

  it.each([
    ['Upgrade', 'Upgrade: websocket\r\n'],
    ['Connection', 'Connection: Upgrade\r\n'],
  ])('a 101 without the %s header is refused promptly', async (_name, line) => {
    const raw = await answering((req) => switchingProtocols(req).replace(line, ''));
    const started = Date.now();
    const error = await refused(raw.url, { handshakeTimeout: 2000 });
    expect(error).toBeInstanceOf(WsboltError);
    expect(Date.now() - started).toBeLessThan(1500);
  });

  it.each([
    ['Upgrade', 'Upgrade: websocket\r\n', /Upgrade/],
    ['Connection', 'Connection: Upgrade\r\n', /Connection/],
  ])('a 101 without the %s header is reported as ERR_INVALID_HANDSHAKE naming the header', async (_name, line, named) => {
    // Node's HTTP client hands a 101 without both headers to 'response', not
    // 'upgrade'; it is still a broken handshake, not an unexpected status.
    const raw = await answering((req) => switchingProtocols(req).replace(line, ''));
    const error = await refused(raw.url, { handshakeTimeout: 2000 });
    expect({ code: error.code, message: error.message }).toMatchObject({ code: 'ERR_INVALID_HANDSHAKE', message: expect.stringMatching(named) });
  });

  it('a 101 upgrading to another protocol', async () => {
    const raw = await answering((req) => switchingProtocols(req).replace('Upgrade: websocket', 'Upgrade: h2c'));
    const error = await refused(raw.url);
    expect(error.code).toBe('ERR_INVALID_HANDSHAKE');
  });

  it('200 with a body: UnexpectedResponseError with status, headers and body', async () => {
    const raw = await answering(() => 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 11\r\n\r\nhello world');
    const error = await refused(raw.url);
    expect(error).toBeInstanceOf(UnexpectedResponseError);
    expect(error).toBeInstanceOf(WsboltError);
    expect(error.code).toBe('ERR_UNEXPECTED_RESPONSE');
    expect(error.status).toBe(200);
    expect(error.headers['content-type']).toBe('text/plain');
    expect(error.body.toString()).toBe('hello world');
    expect(error.message).toContain('200');
  });

  it('302 without followRedirects is an unexpected response carrying Location', async () => {
    const raw = await answering(() => 'HTTP/1.1 302 Found\r\nLocation: ws://127.0.0.1:1/elsewhere\r\nContent-Length: 0\r\n\r\n');
    const error = await refused(raw.url);
    expect(error).toBeInstanceOf(UnexpectedResponseError);
    expect(error.status).toBe(302);
    expect(error.headers.location).toBe('ws://127.0.0.1:1/elsewhere');
    expect(raw.connections.items.length).toBe(1);
  });

  it('401 with WWW-Authenticate: status, headers and body on the error', async () => {
    const body = '{"error":"token expired"}';
    const raw = await answering(
      () =>
        `HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Bearer realm="api", error="invalid_token"\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
    );
    const error = await refused(raw.url, { headers: { Authorization: 'Bearer old' } });
    expect(error).toBeInstanceOf(UnexpectedResponseError);
    expect(error.status).toBe(401);
    expect(error.headers['www-authenticate']).toBe('Bearer realm="api", error="invalid_token"');
    expect(error.headers['content-type']).toBe('application/json');
    expect(JSON.parse(error.body.toString())).toEqual({ error: 'token expired' });
  });

  it('a long body is cut at maxResponseBody', async () => {
    const body = 'x'.repeat(10_000);
    const raw = await answering(() => `HTTP/1.1 500 Internal Server Error\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
    const error = await refused(raw.url, { maxResponseBody: 100 });
    expect(error.status).toBe(500);
    expect(error.body.length).toBe(100);
  });

  it('a refusal from our server (upgrade hook) reaches the client as an UnexpectedResponseError', async () => {
    const server = await startOurs({ upgrade: () => refuse(403, 'banned', { 'X-Why': 'test' }) });
    const error = await refused(`ws://${HOST}:${server.port}/`);
    expect(error.status).toBe(403);
    expect(error.headers['x-why']).toBe('test');
    expect(error.body.toString()).toMatch(/^banned/);
  });

  it('a server that never answers: ERR_HANDSHAKE_TIMEOUT within handshakeTimeout, and the socket is dropped', async () => {
    const raw = await rawServer(() => {});
    const started = Date.now();
    const error = await refused(raw.url, { handshakeTimeout: 300 });
    const elapsed = Date.now() - started;
    expect(error).toBeInstanceOf(WsboltError);
    expect(error.code).toBe('ERR_HANDSHAKE_TIMEOUT');
    expect(elapsed).toBeGreaterThanOrEqual(250);
    expect(elapsed).toBeLessThan(2000);
    const { socket } = await raw.connections.next();
    await withTimeout(new Promise((resolve) => (socket.destroyed ? resolve(null) : socket.once('close', resolve))), 3000, 'socket closed');
  });

  it('a server that accepts TCP but never sends its head also times out', async () => {
    // The raw server reads the request but answers nothing, not even the status line.
    const raw = await rawServer(({ socket }) => socket.write('HTTP/1.1 101 Switching'));
    const error = await refused(raw.url, { handshakeTimeout: 300 });
    expect(error.code).toBe('ERR_HANDSHAKE_TIMEOUT');
  });

  it('a server that hangs up without answering', async () => {
    const raw = await rawServer(({ socket }) => socket.destroy());
    const error = await refused(raw.url);
    expect(error.code).toMatch(/ECONNRESET|ERR_/);
  });

  it('nothing listening: ECONNREFUSED', async () => {
    const port = await freePort();
    const error = await refused(`ws://${HOST}:${port}/`);
    expect(error.code).toBe('ECONNREFUSED');
  });
});

describe('after the 101', () => {
  it('frames sent together with the 101 are delivered after open', async () => {
    const raw = await answering((req) => Buffer.concat([Buffer.from(switchingProtocols(req)), serverFrame(1, 'early'), serverFrame(2, Buffer.from([7]))]));
    const order: string[] = [];
    const got = deferred<void>();
    const ws = await connect(raw.url, {
      open: () => order.push('open'),
      message: (_ws, data) => {
        order.push(data.toString('hex'));
        if (order.length === 3) got.resolve();
      },
    });
    await withTimeout(got.promise, 3000, 'early frames');
    ws.terminate();
    expect(order).toEqual(['open', Buffer.from('early').toString('hex'), '07']);
  });
});
