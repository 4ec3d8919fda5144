/** The upgrade hook: accept with data, reject, failures, slow hooks, the request it sees, origins and subprotocols. */
import type { IncomingMessage } from 'node:http';
import * as net from 'node:net';
import { describe, expect, it } from 'vitest';
import { type UpgradeRequest, accept, reject } from '../../src/index.js';
import {
  deferred,
  frame,
  handshakeRequest,
  HOST,
  once,
  Queue,
  rawHttp,
  startServer,
  useCleanup,
  withTimeout,
  wsClient,
  type WsClientOptions,
  wsConnect,
} from '../kit/index.js';

const defer = useCleanup();

/** The HTTP answer a `ws` client got instead of a 101. */
async function refusal(url: string, options: WsClientOptions = {}) {
  const client = wsClient(url, options);
  defer(() => client.terminate());
  const [, res] = await once<[unknown, IncomingMessage]>(client, 'unexpected-response');
  let body = '';
  res.setEncoding('utf8');
  res.on('data', (c: string) => (body += c));
  await once(res, 'end');
  return { status: res.statusCode, headers: res.headers, body };
}

describe('accepting', () => {
  it('a sync hook returning accept({ data }) sets ws.data for open and message', async () => {
    const seen: unknown[] = [];
    const got = deferred();
    const server = await startServer(defer, {
      upgrade: () => accept({ data: { user: 'ann' } }),
      open: (ws) => seen.push(['open', ws.data]),
      message: (ws, data) => {
        seen.push(['message', ws.data, data.toString()]);
        got.resolve();
      },
    });
    const { client } = await wsConnect(defer, `ws://${HOST}:${server.port}/`);
    client.send('m');
    await withTimeout(got.promise);
    expect(seen).toEqual([
      ['open', { user: 'ann' }],
      ['message', { user: 'ann' }, 'm'],
    ]);
  });

  it('an async hook may take its time, then accept', async () => {
    const release = deferred();
    const entered = deferred();
    const opened = deferred<unknown>();
    const server = await startServer(defer, {
      upgrade: async (req) => {
        entered.resolve();
        await release.promise;
        return { data: req.query };
      },
      open: (ws) => opened.resolve(ws.data),
    });
    const pending = wsConnect(defer, `ws://${HOST}:${server.port}/?id=7`);
    await withTimeout(entered.promise);
    expect(opened.settled).toBe(false);
    release.resolve();
    await pending;
    expect(await withTimeout(opened.promise)).toBe('id=7');
  });

  it('frames sent with the request and during an async hook are delivered in order', async () => {
    const entered = deferred();
    const release = deferred();
    const received = new Queue<string>();
    const server = await startServer(defer, {
      upgrade: async () => {
        entered.resolve();
        await release.promise;
      },
      message: (_ws, data) => received.push(data.toString()),
    });
    const socket = net.connect({ host: HOST, port: server.port });
    socket.on('error', () => {});
    defer(() => socket.destroy());
    await once(socket, 'connect');
    socket.write(Buffer.concat([Buffer.from(handshakeRequest('/')), frame({ opcode: 1, payload: 'with the request', mask: true })]));
    await withTimeout(entered.promise);
    socket.write(frame({ opcode: 1, payload: 'during the hook', mask: true }));
    // Let the second write reach the server before the hook resumes: a round trip on another connection.
    expect((await rawHttp(server.port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n', 2000, false)).status).toBe(426);
    release.resolve();
    expect(await received.take(2)).toEqual(['with the request', 'during the hook']);
  });

  it.each([
    ['undefined', () => undefined],
    ['true', () => true as const],
    ['a plain object without data', () => ({})],
  ])('a hook returning %s accepts with ws.data undefined', async (_name, hook) => {
    const opened = deferred<unknown>();
    const server = await startServer(defer, { upgrade: hook, open: (ws) => opened.resolve(ws.data) });
    await wsConnect(defer, `ws://${HOST}:${server.port}/`);
    expect(await withTimeout(opened.promise)).toBeUndefined();
  });

  it('accept({ headers }) adds headers to the 101', async () => {
    const server = await startServer(defer, { upgrade: () => accept({ headers: { 'X-Session': 'abc', 'Set-Cookie': ['a=1', 'b=2'] } }) });
    const client = wsClient(`ws://${HOST}:${server.port}/`);
    defer(() => client.terminate());
    const opened = once(client, 'open');
    const [res] = await once<[IncomingMessage]>(client, 'upgrade');
    expect(res.headers['x-session']).toBe('abc');
    expect(res.headers['set-cookie']).toEqual(['a=1', 'b=2']);
    await opened;
  });
});

describe('rejecting', () => {
  it('reject(status, body, headers) is what the client sees', async () => {
    const opened = deferred();
    const server = await startServer(defer, {
      upgrade: () => reject(401, 'who are you?', { 'WWW-Authenticate': 'Bearer' }),
      open: () => opened.resolve(),
    });
    const res = await refusal(`ws://${HOST}:${server.port}/`);
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toBe('Bearer');
    expect(res.body.trim()).toBe('who are you?');
    expect(opened.settled).toBe(false);
    expect(server.connections.size).toBe(0);
  });

  it('an async hook may reject too, and the socket is closed after the answer', async () => {
    const server = await startServer(defer, { upgrade: async () => reject(429, Buffer.from('slow down'), { 'Retry-After': 5 }) });
    const res = await rawHttp(server.port, handshakeRequest('/'));
    expect(res.status).toBe(429);
    expect(res.headers['retry-after']).toBe('5');
    expect(res.body.toString()).toBe('slow down');
    expect(res.closed).toBe(true);
  });

  it('a redirect (302) with a Uint8Array body and a header with several values', async () => {
    const body = new TextEncoder().encode('see /login');
    const server = await startServer(defer, { upgrade: () => reject(302, body as Buffer, { Location: '/login', 'X-Why': ['a', 'b'] }) });
    const res = await rawHttp(server.port, handshakeRequest('/'));
    expect(res.status).toBe(302);
    expect(res.headers['location']).toBe('/login');
    expect(res.headers['x-why']).toBe('a, b'); // two header lines, joined by the parser
    expect(res.body.toString()).toBe('see /login');
  });

  it('a hook that throws gets 500', async () => {
    const server = await startServer(defer, {
      upgrade: () => {
        throw new Error('boom');
      },
    });
    const res = await rawHttp(server.port, handshakeRequest('/'));
    expect(res.status).toBe(500);
    expect(res.body.toString()).not.toContain('boom'); // no internals leak to the client
    expect(res.closed).toBe(true);
  });

  it('an async hook that rejects gets 500', async () => {
    const server = await startServer(defer, { upgrade: async () => Promise.reject(new Error('db down')) });
    expect((await rawHttp(server.port, handshakeRequest('/'))).status).toBe(500);
  });

  it('a hook slower than handshakeTimeout gets 503', async () => {
    const never = deferred();
    defer(() => never.resolve());
    const opened = deferred();
    const server = await startServer(defer, { handshakeTimeout: 150, upgrade: () => never.promise, open: () => opened.resolve() });
    const started = Date.now();
    const res = await rawHttp(server.port, handshakeRequest('/'));
    expect(res.status).toBe(503);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    never.resolve();
    expect(opened.settled).toBe(false);
  });

  it('a client that leaves during a slow async hook never opens a connection', async () => {
    const release = deferred();
    const entered = deferred();
    const opens: unknown[] = [];
    const closes: unknown[] = [];
    const server = await startServer(defer, {
      upgrade: async (req) => {
        if (req.query === 'slow') {
          entered.resolve();
          await release.promise;
        }
        return { data: req.query };
      },
      open: (ws) => opens.push(ws.data),
      close: (ws) => closes.push(ws.data),
    });
    const socket = net.connect({ host: HOST, port: server.port });
    socket.on('error', () => {});
    defer(() => socket.destroy());
    await once(socket, 'connect');
    socket.write(handshakeRequest('/?slow'));
    await withTimeout(entered.promise, 3000, 'hook entered');
    socket.destroy();
    await once(socket, 'close');
    // A full handshake on another connection: the server's event loop has had
    // every chance to see the first client's FIN before the hook resumes.
    await wsConnect(defer, `ws://${HOST}:${server.port}/?later`);
    release.resolve();
    // And one more, which completes after the slow hook has resumed and decided.
    await wsConnect(defer, `ws://${HOST}:${server.port}/?last`);
    expect(opens).toEqual(['later', 'last']);
    expect(closes).toEqual([]);
    expect(server.connections.size).toBe(2);
  });
});

describe('the request the hook sees', () => {
  it('has method, url, path, query, headers, header(), origin, protocols, remote address and port', async () => {
    const seen = deferred<UpgradeRequest>();
    const server = await startServer(defer, { protocols: ['b'], upgrade: (req) => void seen.resolve(req) });
    const { client } = await wsConnect(defer, `ws://${HOST}:${server.port}/room/1?x=1&y=2`, {
      protocols: ['a', 'b'],
      origin: 'https://app.example',
      headers: { 'X-Custom': 'v1', Authorization: 'Bearer t' },
    });
    const req = await withTimeout(seen.promise);
    expect(req.method).toBe('GET');
    expect(req.url).toBe('/room/1?x=1&y=2');
    expect(req.path).toBe('/room/1');
    expect(req.query).toBe('x=1&y=2');
    expect(req.headers['x-custom']).toBe('v1');
    expect(req.header('X-CUSTOM')).toBe('v1');
    expect(req.header('authorization')).toBe('Bearer t');
    expect(req.header('x-missing')).toBeUndefined();
    expect(req.origin).toBe('https://app.example');
    expect(req.protocols).toEqual(['a', 'b']);
    expect(req.remoteAddress).toBe(HOST);
    expect(req.remotePort).toBe((client as unknown as { _socket: net.Socket })._socket.localPort);
    expect(req.secure).toBe(false);
    expect(req.tls).toBeUndefined();
    expect(req.raw.url).toBe('/room/1?x=1&y=2');
  });

  it('without Origin or subprotocols: origin undefined, protocols empty, query empty', async () => {
    const seen = deferred<UpgradeRequest>();
    const server = await startServer(defer, { upgrade: (req) => void seen.resolve(req) });
    await wsConnect(defer, `ws://${HOST}:${server.port}/plain`);
    const req = await withTimeout(seen.promise);
    expect(req.origin).toBeUndefined();
    expect(req.protocols).toEqual([]);
    expect(req.query).toBe('');
    expect(req.path).toBe('/plain');
  });
});

describe('origins', () => {
  const origins = ['https://good.example', 'http://localhost:3000'];

  it('an Origin not on the list gets 403 and the hook is not called', async () => {
    let hookCalls = 0;
    const server = await startServer(defer, { origins, upgrade: () => void hookCalls++ });
    const res = await refusal(`ws://${HOST}:${server.port}/`, { origin: 'https://evil.example' });
    expect(res.status).toBe(403);
    expect(hookCalls).toBe(0);
  });

  it('listed origins pass, compared case-insensitively; requests without Origin pass', async () => {
    const server = await startServer(defer, { origins });
    await wsConnect(defer, `ws://${HOST}:${server.port}/`, { origin: 'https://good.example' });
    await wsConnect(defer, `ws://${HOST}:${server.port}/`, { origin: 'HTTPS://GOOD.EXAMPLE' });
    await wsConnect(defer, `ws://${HOST}:${server.port}/`);
    expect(server.connections.size).toBe(3);
  });
});

describe('subprotocols', () => {
  it('by list: the first client-offered protocol the server supports wins', async () => {
    const opened = deferred<string>();
    const server = await startServer(defer, { protocols: ['v1', 'v2', 'v3'], open: (ws) => opened.resolve(ws.protocol) });
    const { client } = await wsConnect(defer, `ws://${HOST}:${server.port}/`, { protocols: ['v0', 'v3', 'v2'] });
    expect(client.protocol).toBe('v3');
    expect(await withTimeout(opened.promise)).toBe('v3');
  });

  it('by list: no common protocol → no Sec-WebSocket-Protocol header in the 101', async () => {
    const server = await startServer(defer, { protocols: ['v1'] });
    const res = await rawHttp(server.port, handshakeRequest('/', { 'Sec-WebSocket-Protocol': 'x, y' }));
    expect(res.status).toBe(101);
    expect(res.headers['sec-websocket-protocol']).toBeUndefined();
  });

  it('by function: it gets the offered list and the request', async () => {
    const calls: [string[], string][] = [];
    const server = await startServer(defer, {
      protocols: (offered, req) => {
        calls.push([offered, req.path]);
        return offered.find((p) => p.startsWith('json'));
      },
    });
    const { client } = await wsConnect(defer, `ws://${HOST}:${server.port}/fn`, { protocols: ['xml', 'json.v2', 'json.v1'] });
    expect(client.protocol).toBe('json.v2');
    expect(calls).toEqual([[['xml', 'json.v2', 'json.v1'], '/fn']]);
  });

  it('by function: a choice the client did not offer is ignored (no protocol)', async () => {
    const server = await startServer(defer, { protocols: () => 'other' });
    const res = await rawHttp(server.port, handshakeRequest('/', { 'Sec-WebSocket-Protocol': 'a' }));
    expect(res.status).toBe(101);
    expect(res.headers['sec-websocket-protocol']).toBeUndefined();
  });

  it('the hook may pick one of the offered protocols with accept({ protocol })', async () => {
    const server = await startServer(defer, { protocols: ['a', 'b'], upgrade: () => accept({ protocol: 'b' }) });
    const { client } = await wsConnect(defer, `ws://${HOST}:${server.port}/`, { protocols: ['a', 'b'] });
    expect(client.protocol).toBe('b');
  });

  it('a hook choosing a protocol the client did not offer gets 500', async () => {
    const opened = deferred();
    const server = await startServer(defer, { upgrade: () => accept({ protocol: 'c' }), open: () => opened.resolve() });
    const res = await rawHttp(server.port, handshakeRequest('/', { 'Sec-WebSocket-Protocol': 'a, b' }));
    expect(res.status).toBe(500);
    expect(opened.settled).toBe(false);
  });
});
