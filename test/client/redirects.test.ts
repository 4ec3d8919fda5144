/** followRedirects: hops, limits, and credentials across origins. */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { WsboltError, connect } from '../../src/index.js';
import { cleanup, failure, HOST, type RawServer, rawServer, switchingProtocols, withTimeout } from '../kit/index.js';
import { client, KINDS, startServer } from './util.js';

afterEach(cleanup);

/** A raw server that answers every upgrade request with a redirect to location. */
function redirecting(location: string | ((port: number) => string), status = 302): Promise<RawServer> {
  let port = 0;
  const server = rawServer(({ socket }) => {
    const to = typeof location === 'string' ? location : location(port);
    socket.end(`HTTP/1.1 ${status} Redirect\r\nLocation: ${to}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
  });
  return server.then((s) => ((port = s.port), s));
}

const credentials = { Authorization: 'Bearer secret', Cookie: 'session=abc', 'X-Other': 'kept' };

describe.each(KINDS)('redirects to a %s server', (kind) => {
  it('followRedirects follows a 302 from a raw server to the target', async () => {
    const target = await startServer(kind);
    const hop = await redirecting(`ws://${HOST}:${target.port}/target?from=hop`);
    const open = vi.fn();
    const { ws, messages } = await client(`${hop.url}/start`, { followRedirects: true, open });
    expect(open).toHaveBeenCalledTimes(1);
    expect((await hop.connections.next()).request.target).toBe('/start');
    expect((await target.peers.next()).url).toBe('/target?from=hop');
    ws.send('after redirect');
    expect((await messages.next()).data.toString()).toBe('after redirect');
  });
});

describe('redirects', () => {
  it.each([301, 302, 303, 307, 308])('follows %d', async (status) => {
    const target = await startServer('wsbolt');
    const hop = await redirecting(`ws://${HOST}:${target.port}/s${status}`, status);
    await client(hop.url, { followRedirects: true });
    expect((await target.peers.next()).url).toBe(`/s${status}`);
  });

  it('follows an http:// Location and a relative Location', async () => {
    const target = await startServer('wsbolt');
    const hop = await redirecting(`http://${HOST}:${target.port}/abs`);
    await client(hop.url, { followRedirects: true });
    expect((await target.peers.next()).url).toBe('/abs');

    // Relative: resolved against the URL that answered with it.
    const same = await rawServer(({ socket, request }) => {
      if (request.target.startsWith('/old')) socket.end('HTTP/1.1 302 Found\r\nLocation: ../new/place?q=1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
      else socket.write(switchingProtocols(request));
    });
    await client(`${same.url}/old/path`, { followRedirects: true });
    const [first, second] = await same.connections.take(2);
    expect(first!.request.target).toBe('/old/path');
    expect(second!.request.target).toBe('/new/place?q=1');
  });

  it('two hops with maxRedirects: 1 → ERR_TOO_MANY_REDIRECTS, no open, the last hop never contacted', async () => {
    const target = await startServer('wsbolt');
    const hop2 = await redirecting(`ws://${HOST}:${target.port}/target`);
    const hop1 = await redirecting(`ws://${HOST}:${hop2.port}/second`);
    const open = vi.fn();
    const error = await failure(() => connect(hop1.url, { followRedirects: true, maxRedirects: 1, open }));
    expect(error).toBeInstanceOf(WsboltError);
    expect(error.code).toBe('ERR_TOO_MANY_REDIRECTS');
    expect(open).not.toHaveBeenCalled();
    expect(hop1.connections.items.length).toBe(1);
    expect(hop2.connections.items.length).toBe(1);
    expect(target.peers.items.length).toBe(0);
  });

  it('the same two hops with maxRedirects: 2 arrive', async () => {
    const target = await startServer('wsbolt');
    const hop2 = await redirecting(`ws://${HOST}:${target.port}/target`);
    const hop1 = await redirecting(`ws://${HOST}:${hop2.port}/second`);
    await client(hop1.url, { followRedirects: true, maxRedirects: 2 });
    expect((await target.peers.next()).url).toBe('/target');
  });

  it('a redirect loop stops after the default 10 redirects', async () => {
    const loop = await redirecting((port) => `ws://${HOST}:${port}/again`);
    const error = await failure(() => connect(loop.url, { followRedirects: true }));
    expect(error.code).toBe('ERR_TOO_MANY_REDIRECTS');
    expect(loop.connections.items.length).toBe(11);
  });

  it('handshakeTimeout covers the whole chain: a hop that never answers times out at the original deadline', async () => {
    const silent = await rawServer(() => {});
    const hop = await redirecting(`ws://${HOST}:${silent.port}/never`);
    const open = vi.fn();
    const started = Date.now();
    const error = await failure(() => connect(hop.url, { followRedirects: true, handshakeTimeout: 300, open }));
    expect(error.code).toBe('ERR_HANDSHAKE_TIMEOUT');
    expect(Date.now() - started).toBeLessThan(2000);
    expect(open).not.toHaveBeenCalled();
    const { socket } = await silent.connections.next();
    await withTimeout(new Promise((resolve) => (socket.destroyed ? resolve(null) : socket.once('close', resolve))), 3000, 'the silent hop to be dropped');
  });

  it('a redirect to a non-WebSocket scheme → ERR_INVALID_URL, no open', async () => {
    const hop = await redirecting('ftp://127.0.0.1:21/');
    const open = vi.fn();
    const error = await failure(() => connect(hop.url, { followRedirects: true, open }));
    expect(error.code).toBe('ERR_INVALID_URL');
    expect(open).not.toHaveBeenCalled();
  });

  it('a cross-origin redirect drops Authorization and Cookie (other headers are kept)', async () => {
    const target = await startServer('wsbolt');
    const hop = await redirecting(`ws://${HOST}:${target.port}/elsewhere`);
    await client(hop.url, { followRedirects: true, headers: credentials });
    const first = (await hop.connections.next()).request.headers;
    expect(first.authorization).toBe('Bearer secret');
    expect(first.cookie).toBe('session=abc');
    const second = (await target.peers.next()).headers;
    expect(second.authorization).toBeUndefined();
    expect(second.cookie).toBeUndefined();
    expect(second['x-other']).toBe('kept');
  });

  it('header names are matched case-insensitively when dropping credentials', async () => {
    const target = await startServer('wsbolt');
    const hop = await redirecting(`ws://${HOST}:${target.port}/elsewhere`);
    await client(hop.url, { followRedirects: true, headers: { authorization: 'Basic eA==', COOKIE: 'a=b' } });
    const second = (await target.peers.next()).headers;
    expect(second.authorization).toBeUndefined();
    expect(second.cookie).toBeUndefined();
  });

  it('a same-origin redirect keeps Authorization and Cookie', async () => {
    const same = await rawServer(({ socket, request }) => {
      if (request.target === '/start') socket.end('HTTP/1.1 302 Found\r\nLocation: /target\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
      else socket.write(switchingProtocols(request));
    });
    await client(`${same.url}/start`, { followRedirects: true, headers: credentials });
    const [first, second] = await same.connections.take(2);
    expect(second!.request.target).toBe('/target');
    for (const { request } of [first!, second!]) {
      expect(request.headers.authorization).toBe('Bearer secret');
      expect(request.headers.cookie).toBe('session=abc');
      expect(request.headers['x-other']).toBe('kept');
    }
  });

  it('an absolute same-origin Location written as http:// keeps credentials (ws: and http: share an origin)', async () => {
    const same = await rawServer(({ socket, request }) => {
      if (request.target === '/start')
        socket.end(`HTTP/1.1 302 Found\r\nLocation: http://${HOST}:${socket.localPort}/target\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
      else socket.write(switchingProtocols(request));
    });
    await client(`${same.url}/start`, { followRedirects: true, headers: credentials });
    const [, second] = await same.connections.take(2);
    expect(second!.request.headers.authorization).toBe('Bearer secret');
    expect(second!.request.headers.cookie).toBe('session=abc');
  });

  it('once credentials are dropped they stay dropped, even when a later hop returns to the first origin', async () => {
    const target = await rawServer(({ socket, request }) => {
      if (request.target === '/start')
        socket.end(`HTTP/1.1 302 Found\r\nLocation: ws://${HOST}:${other.port}/bounce\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
      else socket.write(switchingProtocols(request));
    });
    const other = await redirecting(`ws://${HOST}:${target.port}/back`);
    await client(`${target.url}/start`, { followRedirects: true, headers: credentials });
    const [, back] = await target.connections.take(2);
    expect(back!.request.target).toBe('/back');
    expect((await other.connections.next()).request.headers.authorization).toBeUndefined();
    expect(back!.request.headers.authorization).toBeUndefined();
    expect(back!.request.headers.cookie).toBeUndefined();
  });
});
