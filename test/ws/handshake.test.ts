/**
 * The opening handshake of wsbolt/ws compared with ws: verifyClient,
 * handleProtocols, the headers event, noServer/handleUpgrade, the server
 * option, path, refusals of malformed requests (status line, headers and
 * body byte for byte), and the client's handshake events and errors.
 */
import { readFileSync } from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, defer, HOST, once } from '../kit/index.js';
import {
  bolt,
  client,
  connectedPair,
  type Impl,
  openClient,
  PAIRS,
  rawRequest,
  rawServer,
  record,
  sameForAllPairs,
  sameForBoth,
  startServer,
  upgradeRequest,
  ws,
} from './util.js';

afterEach(cleanup);

/** The client's events until it closes (for handshakes that fail). */
async function failedClient(impl: Impl, url: string, protocols?: unknown, options?: unknown) {
  const c = client(impl, url, protocols, options);
  const rec = record(c);
  await rec.closed;
  return rec.events;
}

/** An http server on 127.0.0.1, port 0, closed at cleanup. */
async function httpServer(handler?: http.RequestListener): Promise<{ server: http.Server; port: number }> {
  const server = http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, HOST, resolve));
  defer(() => {
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { server, port: (server.address() as net.AddressInfo).port };
}

describe('verifyClient', () => {
  it('sync: false refuses with 401; the client emits error then close (1006)', async () => {
    const trace = await sameForAllPairs(async (serverImpl, clientImpl) => {
      const server = await startServer(serverImpl, { verifyClient: () => false });
      const events = await failedClient(clientImpl, server.url);
      const raw = await rawRequest(server.port, upgradeRequest());
      return { events, raw };
    });
    expect(trace.events).toEqual([
      { event: 'error', name: 'Error', code: undefined, message: 'Unexpected server response: 401', readyState: 2 },
      { event: 'close', code: 1006, reason: '', reasonIsBuffer: true, readyState: 3 },
    ]);
    expect(trace.raw.statusLine).toBe('HTTP/1.1 401 Unauthorized');
  });

  it('async: cb(false, code, message, headers) refuses with that answer', async () => {
    const trace = await sameForBoth(async (impl) => {
      const server = await startServer(impl, {
        verifyClient: (_info: unknown, cb: (...args: unknown[]) => void) => setImmediate(() => cb(false, 403, 'Go away', { 'X-Reason': 'nope' })),
      });
      return rawRequest(server.port, upgradeRequest());
    });
    expect(trace).toEqual({
      statusLine: 'HTTP/1.1 403 Forbidden',
      headers: { connection: 'close', 'content-type': 'text/html', 'content-length': '7', 'x-reason': 'nope' },
      body: 'Go away',
    });
  });

  it('async: cb(false) without a code is 401; cb(true) accepts', async () => {
    await sameForAllPairs(async (serverImpl, clientImpl) => {
      let n = 0;
      const server = await startServer(serverImpl, { verifyClient: (_info: unknown, cb: (ok: boolean) => void) => setImmediate(() => cb(n++ > 0)) });
      const refused = await failedClient(clientImpl, server.url);
      const c = await openClient(clientImpl, server.url);
      return { refused, accepted: c.readyState };
    });
  });

  it('receives { origin, secure, req }', async () => {
    const trace = await sameForAllPairs(async (serverImpl, clientImpl) => {
      const infos: unknown[] = [];
      const server = await startServer(serverImpl, {
        verifyClient: (info: { origin: string; secure: boolean; req: http.IncomingMessage }) => {
          infos.push({ keys: Object.keys(info), origin: info.origin, secure: info.secure, req: info.req instanceof http.IncomingMessage, url: info.req.url });
          return true;
        },
      });
      await openClient(clientImpl, `${server.url}/v?a=b`, [], { origin: 'https://example.com' });
      await openClient(clientImpl, server.url);
      return infos;
    });
    expect(trace[0]).toEqual({ keys: ['origin', 'secure', 'req'], origin: 'https://example.com', secure: false, req: true, url: '/v?a=b' });
  });
});

describe('subprotocols', () => {
  it('handleProtocols(Set, req) picks one; both sides see it', async () => {
    const trace = await sameForAllPairs(async (serverImpl, clientImpl) => {
      const calls: unknown[] = [];
      const server = await startServer(serverImpl, {
        handleProtocols: (protocols: Set<string>, req: http.IncomingMessage) => {
          calls.push({ isSet: protocols instanceof Set, protocols: [...protocols], req: req instanceof http.IncomingMessage });
          return 'b';
        },
      });
      const { c, s } = await connectedPair(server, clientImpl, ['a', 'b']);
      return { calls, client: c.protocol, server: s.protocol };
    });
    expect(trace).toEqual({ calls: [{ isSet: true, protocols: ['a', 'b'], req: true }], client: 'b', server: 'b' });
  });

  it('without handleProtocols the first offered wins; a string is one protocol', async () => {
    await sameForAllPairs(async (serverImpl, clientImpl) => {
      const server = await startServer(serverImpl);
      const one = await connectedPair(server, clientImpl, ['x', 'y']);
      const two = await connectedPair(server, clientImpl, 'solo');
      const three = await connectedPair(server, clientImpl, { protocols: ['via-options'] } as unknown);
      return [one.c.protocol, one.s.protocol, two.c.protocol, three.c.protocol];
    });
  });

  it('handleProtocols returning false: no protocol, and the client fails the handshake', async () => {
    const trace = await sameForAllPairs(async (serverImpl, clientImpl) => {
      const server = await startServer(serverImpl, { handleProtocols: () => false });
      return failedClient(clientImpl, server.url, ['a']);
    });
    expect(trace[0]).toMatchObject({ event: 'error', message: 'Server sent no subprotocol' });
  });

  it('an invalid or duplicated subprotocol throws in the constructor', () => {
    for (const impl of [ws, bolt]) {
      expect(() => new impl.WebSocket('ws://127.0.0.1:1', ['a', 'a'])).toThrow(new SyntaxError('An invalid or duplicated subprotocol was specified'));
      expect(() => new impl.WebSocket('ws://127.0.0.1:1', ['bad protocol'])).toThrow(SyntaxError);
    }
  });

  it('a malformed Sec-WebSocket-Protocol is refused with 400', async () => {
    await sameForBoth(async (impl) => {
      const server = await startServer(impl);
      return rawRequest(server.port, upgradeRequest('/', { 'Sec-WebSocket-Protocol': 'a,,b' }));
    });
  });
});

describe("the 'headers' event", () => {
  it('gets the response lines before the 101 is written and may add to them', async () => {
    const trace = await sameForAllPairs(async (serverImpl, clientImpl) => {
      const server = await startServer(serverImpl);
      const seen: unknown[] = [];
      server.wss.on('headers', (headers: string[], req: http.IncomingMessage) => {
        seen.push({ lines: headers.map((h) => h.replace(/Accept: .*/, 'Accept: <digest>')), req: req instanceof http.IncomingMessage });
        headers.push('Set-Cookie: session=abc');
        headers.push('X-Powered-By: test');
      });
      const c = client(clientImpl, server.url, ['p']);
      const upgraded = once(c, 'upgrade');
      const opened = once(c, 'open');
      const [res] = await upgraded;
      await opened;
      return {
        seen,
        status: res.statusCode,
        cookie: res.headers['set-cookie'],
        powered: res.headers['x-powered-by'],
        protocol: res.headers['sec-websocket-protocol'],
      };
    });
    expect(trace.cookie).toEqual(['session=abc']);
  });
});

describe('mounting', () => {
  it('noServer + handleUpgrade from the user’s upgrade listener; address() throws', async () => {
    const trace = await sameForAllPairs(async (serverImpl, clientImpl) => {
      const wss = new serverImpl.WebSocketServer({ noServer: true });
      defer(() => new Promise<void>((resolve) => wss.close(() => resolve())));
      let addressError = '';
      try {
        wss.address();
      } catch (error) {
        addressError = (error as Error).message;
      }
      const { server, port } = await httpServer();
      let twice = '';
      server.on('upgrade', (req, socket, head) => {
        if (req.url === '/ws') {
          wss.handleUpgrade(req, socket, head, (s: any, r: http.IncomingMessage) => wss.emit('connection', s, r));
          try {
            wss.handleUpgrade(req, socket, head, () => {});
          } catch (error) {
            twice = (error as Error).message;
          }
        } else {
          socket.destroy();
        }
      });
      const connected = once(wss, 'connection');
      const c = await openClient(clientImpl, `ws://${HOST}:${port}/ws`);
      const [s, req] = await connected;
      s.on('message', (d: Buffer) => s.send(d));
      c.send('via noServer');
      const [reply] = await once(c, 'message');
      const tracked = wss.clients.has(s);
      c.terminate();
      await once(s, 'close');
      return { addressError, twice, reply: reply.toString(), isRequest: req instanceof http.IncomingMessage, tracked, afterClose: wss.clients.size };
    });
    expect(trace.addressError).toBe('The server is operating in "noServer" mode');
    expect(trace.twice).toMatch(/called more than once with the same socket/);
    expect(trace.tracked).toBe(true);
    expect(trace.afterClose).toBe(0);
  });

  it('server: an existing http server keeps serving plain requests; listening is forwarded', async () => {
    await sameForAllPairs(async (serverImpl, clientImpl) => {
      const server = http.createServer((_req, res) => res.end('plain http'));
      defer(() => {
        server.closeAllConnections();
        return new Promise<void>((resolve) => server.close(() => resolve()));
      });
      const wss = new serverImpl.WebSocketServer({ server });
      defer(() => new Promise<void>((resolve) => wss.close(() => resolve())));
      const listening = once(wss, 'listening');
      server.listen(0, HOST);
      await listening;
      const port = (server.address() as net.AddressInfo).port;
      const sameAddress = wss.address().port === port;
      const connected = once(wss, 'connection');
      const c = await openClient(clientImpl, `ws://${HOST}:${port}/any/path`);
      const [s] = await connected;
      const body = await new Promise<string>((resolve) => http.get(`http://${HOST}:${port}/`, (res) => res.on('data', (d) => resolve(String(d)))));
      c.terminate();
      await once(s, 'close');
      return { sameAddress, body };
    });
  });

  it('a server made with port answers plain HTTP with 426', async () => {
    await sameForBoth(async (impl) => {
      const server = await startServer(impl);
      return rawRequest(server.port, `GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`).then((r) => ({
        ...r,
        headers: { ...r.headers, date: '<date>' },
      }));
    });
  });

  it('path: other paths are refused with 400; the query string is ignored', async () => {
    const trace = await sameForAllPairs(async (serverImpl, clientImpl) => {
      const server = await startServer(serverImpl, { path: '/ws' });
      const refused = await failedClient(clientImpl, `${server.url}/other`);
      const c = await openClient(clientImpl, `${server.url}/ws?token=1`);
      const raw = await rawRequest(server.port, upgradeRequest('/nope'));
      const should = [server.wss.shouldHandle({ url: '/ws?x' }), server.wss.shouldHandle({ url: '/wsx' })];
      return { refused, opened: c.readyState, raw, should };
    });
    expect(trace.raw.statusLine).toBe('HTTP/1.1 400 Bad Request');
    expect(trace.should).toEqual([true, false]);
  });

  it('the options constraint: one and only one of port, server, noServer', () => {
    for (const impl of [ws, bolt]) {
      expect(() => new impl.WebSocketServer({})).toThrow(new TypeError('One and only one of the "port", "server", or "noServer" options must be specified'));
      expect(() => new impl.WebSocketServer({ port: 0, noServer: true })).toThrow(TypeError);
    }
  });
});

describe('malformed upgrade requests', () => {
  const cases: [string, string][] = [
    ['POST', upgradeRequest('/', {}, 'POST')],
    ['Upgrade: foo', upgradeRequest('/', { Upgrade: 'foo' })],
    ['no key', upgradeRequest('/', { 'Sec-WebSocket-Key': '' })],
    ['bad key', upgradeRequest('/', { 'Sec-WebSocket-Key': 'tooshort' })],
    ['version 7', upgradeRequest('/', { 'Sec-WebSocket-Version': '7' })],
    ['no version', upgradeRequest('/', { 'Sec-WebSocket-Version': '' })],
  ];
  for (const [name, request] of cases) {
    it(`${name}: the same status, headers and body as ws`, async () => {
      await sameForBoth(async (impl) => {
        const server = await startServer(impl);
        return rawRequest(server.port, request);
      });
    });
  }

  it("'wsClientError' replaces the automatic answer", async () => {
    await sameForBoth(async (impl) => {
      const server = await startServer(impl);
      const seen: unknown[] = [];
      server.wss.on('wsClientError', (error: Error, socket: net.Socket, req: http.IncomingMessage) => {
        seen.push({ message: error.message, req: req instanceof http.IncomingMessage });
        socket.end('HTTP/1.1 418 I am a teapot\r\nContent-Length: 0\r\n\r\n');
      });
      const raw = await rawRequest(server.port, upgradeRequest('/', { 'Sec-WebSocket-Version': '99' }));
      return { seen, raw };
    });
  });

  it('version 8 (hybi-08) is accepted, with Sec-WebSocket-Origin for verifyClient', async () => {
    await sameForBoth(async (impl) => {
      const origins: unknown[] = [];
      const server = await startServer(impl, {
        verifyClient: (info: { origin: string }) => {
          origins.push(info.origin);
          return true;
        },
      });
      const head = await new Promise<string>((resolve) => {
        const socket = net.connect(server.port, HOST, () =>
          socket.write(upgradeRequest('/', { 'Sec-WebSocket-Version': '8', 'Sec-WebSocket-Origin': 'http://old' })),
        );
        defer(() => socket.destroy());
        socket.once('data', (d: Buffer) => resolve(d.toString('latin1').split('\r\n')[0]!));
      });
      return { head, origins };
    });
  });
});

describe('client handshake', () => {
  it("emits 'upgrade' with the 101 response before 'open'", async () => {
    await sameForAllPairs(async (serverImpl, clientImpl) => {
      const server = await startServer(serverImpl);
      const c = client(clientImpl, server.url);
      const order: string[] = [];
      c.on('upgrade', (res: http.IncomingMessage) => order.push(`upgrade ${res.statusCode} ${res instanceof http.IncomingMessage}`));
      c.on('open', () => order.push('open'));
      await once(c, 'open');
      return order;
    });
  });

  it("'unexpected-response' takes over a non-101 answer; terminate() then aborts", async () => {
    const trace = await sameForAllPairs(async (serverImpl, clientImpl) => {
      const server = await startServer(serverImpl, { verifyClient: () => false });
      const c = client(clientImpl, server.url);
      const rec = record(c);
      const [req, res] = await once(c, 'unexpected-response');
      const info = { req: req instanceof http.ClientRequest, status: res.statusCode, readyState: c.readyState };
      c.terminate();
      await rec.closed;
      return { info, events: rec.events };
    });
    expect(trace.events[0]).toMatchObject({ event: 'error', message: 'WebSocket was closed before the connection was established' });
  });

  it('headers, origin and finishRequest reach the server', async () => {
    await sameForAllPairs(async (serverImpl, clientImpl) => {
      const server = await startServer(serverImpl);
      const next = server.nextConnection();
      client(clientImpl, server.url, [], {
        headers: { 'X-Token': 'secret' },
        origin: 'http://origin.example',
        finishRequest: (req: http.ClientRequest, socket: unknown) => {
          req.setHeader('X-Finished', String(socket instanceof clientImpl.WebSocket));
          req.end();
        },
      });
      const [, req] = await next;
      return {
        token: req.headers['x-token'],
        origin: req.headers.origin,
        finished: req.headers['x-finished'],
        version: req.headers['sec-websocket-version'],
        upgrade: req.headers.upgrade,
      };
    });
  });

  it('follows redirects when asked, and reports them', async () => {
    const trace = await sameForAllPairs(async (serverImpl, clientImpl) => {
      const server = await startServer(serverImpl);
      const { port } = await httpServer();
      const redirector = http.createServer();
      redirector.on('upgrade', (_req, socket) => socket.end(`HTTP/1.1 302 Found\r\nLocation: ${server.url}/target\r\nContent-Length: 0\r\n\r\n`));
      await new Promise<void>((resolve) => redirector.listen(0, HOST, resolve));
      defer(() => new Promise<void>((resolve) => redirector.close(() => resolve())));
      const from = `ws://${HOST}:${(redirector.address() as net.AddressInfo).port}/start`;
      void port;
      const refused = await failedClient(clientImpl, from);
      const tooMany = await failedClient(clientImpl, from, [], { followRedirects: true, maxRedirects: 0 });
      const c = client(clientImpl, from, [], { followRedirects: true });
      const redirects: string[] = [];
      c.on('redirect', (url: string, req: http.ClientRequest) => redirects.push(`${url} ${req instanceof http.ClientRequest}`));
      await once(c, 'open');
      return { refused, tooMany, redirects, url: c.url };
    });
    expect(trace.refused[0]).toMatchObject({ message: 'Unexpected server response: 302' });
    expect(trace.tooMany[0]).toMatchObject({ message: 'Maximum redirects exceeded' });
    expect(trace.url).toMatch(/\/target$/);
  });

  it('handshakeTimeout: error then close', async () => {
    const trace = await sameForBoth(async (impl) => {
      // A server that accepts the TCP connection and never answers.
      const silent = net.createServer((socket: net.Socket) => defer(() => socket.destroy()));
      await new Promise<void>((resolve) => silent.listen(0, HOST, resolve));
      defer(() => new Promise<void>((resolve) => silent.close(() => resolve())));
      const url = `ws://${HOST}:${(silent.address() as net.AddressInfo).port}`;
      return failedClient(impl, url, [], { handshakeTimeout: 50 });
    });
    expect(trace[0]).toMatchObject({ event: 'error', message: 'Opening handshake has timed out' });
  });

  it('connection refused: the socket error, then close 1006', async () => {
    const trace = await sameForBoth(async (impl) => {
      const { server, port } = await httpServer();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      const events = await failedClient(impl, `ws://${HOST}:${port}`);
      return events.map((e) => (e.event === 'error' ? { ...e, message: e.message.replace(/:\d+$/, '') } : e));
    });
    expect(trace[0]).toMatchObject({ event: 'error', code: 'ECONNREFUSED' });
  });

  it('invalid URLs throw', () => {
    const attempts = ['not a url', 'ftp://example.com', 'ws://example.com/#frag'];
    const messages = (impl: Impl) =>
      attempts.map((u) => {
        try {
          new impl.WebSocket(u);
          return 'no error';
        } catch (error) {
          return `${(error as Error).constructor.name}: ${(error as Error).message}`;
        }
      });
    expect(messages(bolt)).toEqual(messages(ws));
  });

  it('http: and https: URLs become ws: and wss:', async () => {
    await sameForAllPairs(async (serverImpl, clientImpl) => {
      const server = await startServer(serverImpl);
      const c = await openClient(clientImpl, server.url.replace('ws:', 'http:'));
      return c.url;
    });
  });

  const badResponses: [string, string[], unknown][] = [
    ['a wrong Sec-WebSocket-Accept', ['Sec-WebSocket-Accept: wrong'], undefined],
    ['a subprotocol that was not requested', ['Sec-WebSocket-Protocol: x'], undefined],
    ['a subprotocol that was not offered', ['Sec-WebSocket-Protocol: x'], ['a']],
    ['an extension (none was requested)', ['Sec-WebSocket-Extensions: permessage-deflate'], 'no-deflate'],
  ];
  for (const [name, lines, protocols] of badResponses) {
    it(`a 101 with ${name} fails the handshake as in ws`, async () => {
      const trace = await sameForBoth(async (impl) => {
        const { url } = await rawServer(() => {}, lines);
        if (protocols === 'no-deflate') return failedClient(impl, url, [], { perMessageDeflate: false });
        return failedClient(impl, url, protocols);
      });
      expect(trace.map((e) => e.event)).toEqual(['error', 'close']);
    });
  }

  it('close() while connecting aborts: error, then close 1006', async () => {
    await sameForAllPairs(async (serverImpl, clientImpl) => {
      const server = await startServer(serverImpl);
      const c = client(clientImpl, server.url);
      const rec = record(c);
      c.close();
      const state = c.readyState;
      await rec.closed;
      return { state, events: rec.events };
    });
  });
});

describe('transports', () => {
  const key = readFileSync(path.join(__dirname, '../fixtures/key.pem'));
  const cert = readFileSync(path.join(__dirname, '../fixtures/cert.pem'));

  it('wss:// over an https server, with TLS client options; verifyClient sees secure: true', async () => {
    await sameForAllPairs(async (serverImpl, clientImpl) => {
      const server = https.createServer({ key, cert });
      await new Promise<void>((resolve) => server.listen(0, HOST, resolve));
      defer(() => {
        server.closeAllConnections();
        return new Promise<void>((resolve) => server.close(() => resolve()));
      });
      const secure: boolean[] = [];
      const wss = new serverImpl.WebSocketServer({
        server,
        verifyClient: (info: { secure: boolean }) => {
          secure.push(info.secure);
          return true;
        },
      });
      defer(() => new Promise<void>((resolve) => wss.close(() => resolve())));
      const connected = once(wss, 'connection');
      const c = await openClient(clientImpl, `wss://localhost:${(server.address() as net.AddressInfo).port}`, [], { ca: cert });
      const [s] = await connected;
      s.on('message', (d: Buffer) => s.send(d));
      c.send('over TLS');
      const [reply] = await once(c, 'message');
      const refused = await failedClient(clientImpl, `wss://localhost:${(server.address() as net.AddressInfo).port}`);
      s.terminate();
      return {
        secure,
        reply: reply.toString(),
        encrypted: Boolean(c._socket.encrypted),
        refused: refused.map((e) => (e.event === 'error' ? { event: e.event, code: e.code } : e.event)),
      };
    });
  });

  it('createConnection is used to open the socket', async () => {
    await sameForAllPairs(async (serverImpl, clientImpl) => {
      const server = await startServer(serverImpl);
      const calls: string[] = [];
      const c = await openClient(clientImpl, server.url, [], {
        createConnection: (options: net.NetConnectOpts & { host: string; port: number }) => {
          calls.push(`${options.host}:${options.port === server.port}`);
          return net.connect(options.port, options.host);
        },
      });
      return { calls, readyState: c.readyState };
    });
  });

  it('ws+unix: URLs connect over a Unix domain socket', async () => {
    await sameForAllPairs(async (serverImpl, clientImpl) => {
      const socketPath = path.join(tmpdir(), `wsbolt-ws-${process.pid}-${Math.random().toString(36).slice(2)}.sock`);
      const server = http.createServer();
      await new Promise<void>((resolve) => server.listen(socketPath, resolve));
      defer(() => new Promise<void>((resolve) => server.close(() => resolve())));
      const wss = new serverImpl.WebSocketServer({ server });
      defer(() => new Promise<void>((resolve) => wss.close(() => resolve())));
      const connected = once(wss, 'connection');
      const c = await openClient(clientImpl, `ws+unix:${socketPath}:/the/path?x=1`);
      const [s, req] = await connected;
      c.terminate();
      await once(s, 'close');
      return { url: req.url, opened: true };
    });
  });
});

describe('the connection event', () => {
  it('receives the http.IncomingMessage with the request headers and socket', async () => {
    for (const [serverImpl, clientImpl] of PAIRS) {
      const server = await startServer(serverImpl);
      const { req } = await connectedPair(server, clientImpl);
      expect(req).toBeInstanceOf(http.IncomingMessage);
      expect(req.headers['sec-websocket-key']).toMatch(/==$/);
      expect(req.socket.remoteAddress).toBe(HOST);
      await cleanup();
    }
  });
});
