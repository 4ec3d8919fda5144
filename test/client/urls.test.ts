/** What connect() accepts as a URL and what reaches the server from it. */
import { afterEach, describe, expect, it } from 'vitest';
import { WsboltError, connect } from '../../src/index.js';
import { cleanup, failure, HOST, ipv6Loopback } from '../kit/index.js';
import { client, startServer } from './util.js';

afterEach(cleanup);

describe('URLs', () => {
  it('ws://[::1]:port/path?query reaches a server on the IPv6 loopback with path and query', async (ctx) => {
    if (!(await ipv6Loopback())) ctx.skip(); // no IPv6 loopback on this host
    const server = await startServer('wsbolt', { host: '::1' });
    const { ws, messages } = await client(`ws://[::1]:${server.port}/some/path?x=1&y=%20z`);
    const peer = await server.peers.next();
    expect(peer.url).toBe('/some/path?x=1&y=%20z');
    expect(peer.headers.host).toBe(`[::1]:${server.port}`);
    ws.send('over v6');
    expect((await messages.next()).data.toString()).toBe('over v6');
  });

  it('ws://[::1] works against a ws server too', async (ctx) => {
    if (!(await ipv6Loopback())) ctx.skip(); // no IPv6 loopback on this host
    const server = await startServer('ws', { host: '::1' });
    const { ws, messages } = await client(`ws://[::1]:${server.port}/v6`);
    expect((await server.peers.next()).url).toBe('/v6');
    ws.send('hi');
    expect((await messages.next()).data.toString()).toBe('hi');
  });

  it('an http:// URL is accepted and means ws://', async () => {
    const server = await startServer('wsbolt');
    const { ws, messages } = await client(`http://${HOST}:${server.port}/over-http?a=b`);
    expect((await server.peers.next()).url).toBe('/over-http?a=b');
    ws.send('x');
    expect((await messages.next()).data.toString()).toBe('x');
  });

  it('a URL object is accepted', async () => {
    const server = await startServer('ws');
    const ws = await connect(new URL(`ws://${HOST}:${server.port}/obj?q=1`));
    expect((await server.peers.next()).url).toBe('/obj?q=1');
    ws.terminate();
  });

  it('path and query reach the server as sent; no path means /', async () => {
    const server = await startServer('ws');
    await client(`ws://${HOST}:${server.port}`);
    expect((await server.peers.next()).url).toBe('/');
    await client(`ws://${HOST}:${server.port}?only=query`);
    expect((await server.peers.next()).url).toBe('/?only=query');
    await client(`ws://${HOST}:${server.port}/a/b/../c?k=v%26w&empty=`);
    expect((await server.peers.next()).url).toBe('/a/c?k=v%26w&empty=');
  });

  it.each(['ftp://127.0.0.1:1/', 'file:///tmp/socket', 'mailto:x@example.com', 'not a url', '', 'ws://'])('%j → ERR_INVALID_URL', async (url) => {
    const error = await failure(() => connect(url));
    expect(error).toBeInstanceOf(WsboltError);
    expect(error.code).toBe('ERR_INVALID_URL');
  });

  it.each(['ws://127.0.0.1:1/#fragment', 'ws://127.0.0.1:1/path?q=1#frag', 'http://127.0.0.1:1/#x'])('a fragment (%s) → ERR_INVALID_URL', async (url) => {
    const error = await failure(() => connect(url));
    expect(error).toBeInstanceOf(WsboltError);
    expect(error.code).toBe('ERR_INVALID_URL');
    expect(error.message).toMatch(/fragment/);
  });

  it('an invalid URL is reported through the returned promise, not thrown synchronously', async () => {
    let thrown: unknown = null;
    let promise: Promise<unknown> | null = null;
    try {
      promise = connect('ftp://127.0.0.1:1/');
    } catch (error) {
      thrown = error;
    }
    expect(thrown, 'connect() threw synchronously instead of rejecting').toBeNull();
    await expect(promise).rejects.toMatchObject({ code: 'ERR_INVALID_URL' });
  });
});
