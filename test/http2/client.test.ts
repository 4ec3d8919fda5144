/**
 * WebSockets over HTTP/2 (RFC 8441), the client: connect(url, { http2 }) against wsbolt attached to node:http2's secure
 * server. Sessions to one origin are shared; a server that does not advertise SETTINGS_ENABLE_CONNECT_PROTOCOL is an
 * error with http2: true and a fallback to HTTP/1.1 with http2: 'prefer'.
 */
import { describe, expect, it } from 'vitest';
import { connect, type UpgradeRequest, type WebSocket } from '../../src/index.js';
import { failure, handlerRecorder, Queue, useCleanup, withTimeout } from '../kit/index.js';
import { cert, h2Server } from './util.js';

const defer = useCleanup();

const echo = { message: (ws: WebSocket, data: Buffer, isBinary: boolean) => void ws.send(data, { binary: isBinary }) };

/** A client whose messages land in a queue, closed after the test. */
async function client(url: string, options: Parameters<typeof connect>[1] = {}) {
  const messages = new Queue<{ data: Buffer; isBinary: boolean }>('message');
  const closes = new Queue<number>('close');
  const ws = await connect(url, {
    ca: cert,
    http2: true,
    ...options,
    message: (_ws, data, isBinary) => messages.push({ data: Buffer.from(data), isBinary }),
    close: (_ws, code) => closes.push(code),
  });
  defer(() => ws.terminate());
  return { ws, messages, closes };
}

describe('connect(url, { http2: true })', () => {
  it('opens over an extended CONNECT stream and exchanges text, binary and 1 MiB, with deflate', async () => {
    const requests: UpgradeRequest[] = [];
    const { url } = await h2Server(defer, { ...echo, perMessageDeflate: true, protocols: ['chat'], upgrade: (req) => void requests.push(req) });
    const { ws, messages } = await client(`${url.replace('https', 'wss')}/room?x=1`, { protocols: ['chat'] });
    expect(requests[0]!.httpVersion).toBe('2.0');
    expect(requests[0]!.url).toBe('/room?x=1');
    expect(ws.transport).toBe('stream');
    expect(ws.protocol).toBe('chat');
    expect(ws.extensions).toMatch(/^permessage-deflate/);
    ws.send('hello h2');
    expect((await messages.next()).data.toString()).toBe('hello h2');
    ws.send(Buffer.from([9, 8, 7]));
    expect([...(await messages.next()).data]).toEqual([9, 8, 7]);
    const big = Buffer.alloc(1024 * 1024, 3);
    ws.send(big);
    expect((await messages.next(10_000)).data.equals(big)).toBe(true);
  });

  it('several connections to one origin share one session; closing one leaves the others open', async () => {
    const rec = handlerRecorder();
    const { url, http2Server } = await h2Server(defer, { ...rec.handler, ...echo });
    let sessions = 0;
    http2Server.on('session', () => sessions++);
    const a = await client(url.replace('https', 'wss'));
    const b = await client(url.replace('https', 'wss'));
    const c = await client(url.replace('https', 'wss'));
    expect(sessions).toBe(1);
    a.ws.close(4000, 'a leaves');
    expect(await a.closes.next()).toBe(4000);
    expect((await rec.closes.next()).code).toBe(4000);
    b.ws.send('b');
    c.ws.send('c');
    expect((await b.messages.next()).data.toString()).toBe('b');
    expect((await c.messages.next()).data.toString()).toBe('c');
    const d = await client(url.replace('https', 'wss'));
    expect(sessions).toBe(1);
    d.ws.send('d');
    expect((await d.messages.next()).data.toString()).toBe('d');
  });

  it('the server closes: the client answers and both sides see the code', async () => {
    const rec = handlerRecorder();
    const { url } = await h2Server(defer, rec.handler);
    const { closes } = await client(url.replace('https', 'wss'));
    (await rec.opens.next()).close(4005, 'bye');
    expect(await closes.next()).toBe(4005);
    expect((await rec.closes.next()).code).toBe(4005);
  });

  it('a refusal is an UnexpectedResponseError with the HTTP/2 status and body', async () => {
    const { url } = await h2Server(defer, { path: '/only', ...echo });
    const error = await failure(() => connect(`${url}/elsewhere`, { ca: cert, http2: true }));
    expect(error.code).toBe('ERR_UNEXPECTED_RESPONSE');
    expect(error.status).toBe(404);
    expect(error.body.toString()).toMatch(/no WebSocket endpoint/);
  });

  it('a server that does not advertise the setting: ERR_HTTP2_EXTENDED_CONNECT_UNSUPPORTED; with prefer, HTTP/1.1', async () => {
    const requests: UpgradeRequest[] = [];
    const { url, http2Server } = await h2Server(defer, { ...echo, upgrade: (req) => void requests.push(req) });
    http2Server.updateSettings({ enableConnectProtocol: false });
    const error = await failure(() => connect(url, { ca: cert, http2: true }));
    expect(error.code).toBe('ERR_HTTP2_EXTENDED_CONNECT_UNSUPPORTED');
    expect(requests).toHaveLength(0);
    const { ws, messages } = await client(url, { http2: 'prefer' });
    expect(requests[0]!.httpVersion).toBe('1.1');
    ws.send('over 1.1');
    expect((await messages.next()).data.toString()).toBe('over 1.1');
  });

  it('handshakeTimeout and signal end a handshake the server never answers, and the server sees the stream reset', async () => {
    const streamsClosed = new Queue<void>('server stream closed');
    const { url, http2Server, server } = await h2Server(defer, { ...echo, upgrade: () => new Promise<true>(() => {}), maxConnections: 2 });
    http2Server.on('stream', (stream) => stream.once('close', () => streamsClosed.push()));
    const timedOut = await failure(() => connect(url, { ca: cert, http2: true, handshakeTimeout: 200 }));
    expect(timedOut.code).toBe('ERR_HANDSHAKE_TIMEOUT');
    const controller = new AbortController();
    const aborted = failure(() => connect(url, { ca: cert, http2: true, signal: controller.signal }));
    await streamsClosed.next(); // the first one, reset by the timeout
    controller.abort();
    expect((await aborted).code).toBe('ERR_ABORTED');
    await streamsClosed.next();
    expect(server.pendingSockets.size).toBe(2); // the hooks still run; their places come back when they settle
  });

  it('the shared session keeps the process alive only while a WebSocket uses it', async () => {
    const { url } = await h2Server(defer, echo);
    const sockets = () => process.getActiveResourcesInfo().filter((r) => r === 'TLSWrap' || r === 'TCPSocketWrap').length;
    const a = await client(url);
    const b = await client(url);
    const inUse = sockets(); // the listener's, the server's end of the session, and the client's (ref'd)
    a.ws.close(1000);
    await a.closes.next();
    expect(sockets()).toBe(inUse); // b still uses the session
    b.ws.close(1000);
    await b.closes.next();
    const deadline = Date.now() + 5000;
    while (sockets() !== inUse - 1 && Date.now() < deadline) await new Promise((resolve) => setImmediate(resolve));
    expect(sockets()).toBe(inUse - 1); // the client's end is unref'd, still open for the next connection
    const c = await client(url);
    expect(sockets()).toBe(inUse);
    c.ws.send('reused');
    expect((await c.messages.next()).data.toString()).toBe('reused');
  });

  it('the session ending closes its WebSockets with 1006', async () => {
    const rec = handlerRecorder();
    const { url, http2Server } = await h2Server(defer, rec.handler);
    const sessions: import('node:http2').ServerHttp2Session[] = [];
    http2Server.on('session', (s) => sessions.push(s));
    const a = await client(url);
    const b = await client(url);
    await rec.opens.take(2);
    expect(sessions).toHaveLength(1);
    sessions[0]!.destroy();
    expect(await withTimeout(Promise.all([a.closes.next(), b.closes.next()]))).toEqual([1006, 1006]);
  });
});
