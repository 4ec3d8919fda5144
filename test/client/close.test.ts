/** The closing handshake from the client's side: codes both ways, who drops TCP, the close timeout, terminate(). */
import { afterEach, describe, expect, it } from 'vitest';
import { ReadyState, SendStatus } from '../../src/index.js';
import { cleanup, closeBody, deferred, frameReader, rawWebSocketServer, serverFrame, withTimeout } from '../kit/index.js';
import { client, KINDS, startServer } from './util.js';

afterEach(cleanup);

describe.each(KINDS)('closing with a %s server', (kind) => {
  it('client close(4001, "x"): the server sees 4001/"x", the client reports the code with cause local', async () => {
    const server = await startServer(kind);
    const { ws, closes } = await client(server.url);
    const peer = await server.peers.next();
    ws.close(4001, 'x');
    expect(ws.readyState).toBe(ReadyState.CLOSING);
    expect(ws.send('too late')).toBe(SendStatus.DROPPED);
    expect(await withTimeout(peer.closed, 5000, 'server close')).toEqual({ code: 4001, reason: 'x' });
    const closed = await closes.next();
    // The reason reported is the one in the server's reply (§7.1.5/§7.1.6): ws
    // echoes code and reason, our server echoes the code only.
    expect(closed).toEqual({ code: 4001, reason: 'x', cause: { kind: 'local' } }); // both servers echo code and reason
    expect(ws.readyState).toBe(ReadyState.CLOSED);
    expect(closes.pending).toBe(0);
  });

  it('the server closes with 4002: the client reports 4002 and its reason with cause remote', async () => {
    const server = await startServer(kind);
    const { ws, closes } = await client(server.url);
    const peer = await server.peers.next();
    peer.close(4002, 'bye now');
    const closed = await closes.next();
    expect(closed).toEqual({ code: 4002, reason: 'bye now', cause: { kind: 'remote' } });
    expect(ws.readyState).toBe(ReadyState.CLOSED);
    // The client echoed the code (§5.5.1).
    expect((await withTimeout(peer.closed, 5000, 'server close')).code).toBe(4002);
  });

  it('close() without a code: 1005 on both sides', async () => {
    const server = await startServer(kind);
    const { ws, closes } = await client(server.url);
    const peer = await server.peers.next();
    ws.close();
    expect((await withTimeout(peer.closed, 5000, 'server close')).code).toBe(1005);
    expect(await closes.next()).toEqual({ code: 1005, reason: '', cause: { kind: 'local' } });
  });

  it('close() refuses codes that may not be sent and reasons over 123 bytes', async () => {
    const server = await startServer(kind);
    const { ws } = await client(server.url);
    expect(() => ws.close(1006)).toThrow();
    expect(() => ws.close(1005)).toThrow();
    expect(() => ws.close(999)).toThrow();
    expect(() => ws.close(4000, 'x'.repeat(124))).toThrow();
    expect(ws.readyState).toBe(ReadyState.OPEN);
  });

  it('terminate(): the socket goes at once, 1006 with cause local; the server sees an abnormal closure', async () => {
    const server = await startServer(kind);
    const { ws, closes } = await client(server.url);
    const peer = await server.peers.next();
    ws.terminate();
    expect(await closes.next()).toEqual({ code: 1006, reason: '', cause: { kind: 'local' } });
    expect(ws.readyState).toBe(ReadyState.CLOSED);
    expect((await withTimeout(peer.closed, 5000, 'server close')).code).toBe(1006);
  });

  it('the server drops TCP without a close frame: 1006 with cause abrupt', async () => {
    const server = await startServer(kind);
    const { closes } = await client(server.url);
    const peer = await server.peers.next();
    peer.terminate();
    const closed = await closes.next();
    expect(closed.code).toBe(1006);
    expect(closed.cause.kind).toBe('abrupt');
  });
});

describe('closing with a raw server', () => {
  it('after the closing handshake the client waits for the server to drop TCP (RFC 6455 §7.1.1)', async () => {
    const raw = await rawWebSocketServer();
    const { ws, closes } = await client(raw.url, { closeTimeout: 10_000 });
    const { socket } = await raw.connections.next();
    const frames = frameReader(socket);
    const clientEnded = deferred<number>();
    socket.on('end', () => clientEnded.resolve(Date.now()));

    ws.close(4001, 'x');
    const close = await frames.next();
    expect(close.opcode).toBe(8);
    expect(close.payload.readUInt16BE(0)).toBe(4001);
    socket.write(serverFrame(8, closeBody(4001)));

    // An absence check, so it needs a window: the client must not end TCP
    // on its own (it would do so within a tick of reading our close frame).
    const early = await Promise.race([clientEnded.promise, new Promise<null>((resolve) => setTimeout(() => resolve(null), 250))]);
    expect(early, 'the client ended TCP before the server did').toBeNull();
    expect(closes.pending).toBe(0);
    expect(ws.readyState).toBe(ReadyState.CLOSING);

    const serverEnded = Date.now();
    socket.end();
    expect(await closes.next()).toEqual({ code: 4001, reason: '', cause: { kind: 'local' } });
    expect(await withTimeout(clientEnded.promise, 5000, "client's FIN")).toBeGreaterThanOrEqual(serverEnded);
  });

  it('close timeout: a server that never answers the close frame → socket destroyed after closeTimeout, cause timeout', async () => {
    const raw = await rawWebSocketServer();
    const { ws, closes } = await client(raw.url, { closeTimeout: 200 });
    const { socket } = await raw.connections.next();
    const frames = frameReader(socket);
    const gone = deferred<void>();
    socket.on('close', () => gone.resolve());

    const started = Date.now();
    ws.close(4001, 'x');
    expect((await frames.next()).opcode).toBe(8);
    const closed = await closes.next(3000);
    const elapsed = Date.now() - started;
    expect(closed.cause.kind).toBe('timeout');
    expect(closed.code).toBe(1006);
    expect(elapsed).toBeGreaterThanOrEqual(150);
    expect(elapsed).toBeLessThan(2000);
    expect(ws.readyState).toBe(ReadyState.CLOSED);
    await withTimeout(gone.promise, 3000, 'the server socket to close');
  });

  it('a server that answers the close but never drops TCP is dropped after closeTimeout (handshake done: 4001, local)', async () => {
    const raw = await rawWebSocketServer();
    const { ws, closes } = await client(raw.url, { closeTimeout: 200 });
    const { socket } = await raw.connections.next();
    const frames = frameReader(socket);
    const gone = deferred<void>();
    socket.on('close', () => gone.resolve());
    const started = Date.now();
    ws.close(4001, 'x');
    expect((await frames.next()).opcode).toBe(8);
    socket.write(serverFrame(8, closeBody(4001, 'x')));
    const closed = await closes.next(3000);
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
    expect(closed).toEqual({ code: 4001, reason: 'x', cause: { kind: 'local' } });
    await withTimeout(gone.promise, 3000, 'the server socket to close');
  });

  it('a server-initiated close whose TCP is never dropped is dropped after closeTimeout (4002, remote)', async () => {
    const raw = await rawWebSocketServer();
    const { closes } = await client(raw.url, { closeTimeout: 200 });
    const { socket } = await raw.connections.next();
    const frames = frameReader(socket);
    socket.write(serverFrame(8, closeBody(4002, 'go')));
    const echo = await frames.next();
    expect(echo.opcode).toBe(8);
    expect(echo.masked).toBe(true);
    expect(echo.payload.readUInt16BE(0)).toBe(4002);
    expect(await closes.next(3000)).toEqual({ code: 4002, reason: 'go', cause: { kind: 'remote' } });
  });

  it('a protocol error from the server (unmasked frames are fine, a masked one is not) fails the connection with 1002', async () => {
    const raw = await rawWebSocketServer();
    const { closes, messages } = await client(raw.url, { closeTimeout: 500 });
    const { socket } = await raw.connections.next();
    const frames = frameReader(socket);
    socket.write(serverFrame(1, 'fine'));
    expect((await messages.next()).data.toString()).toBe('fine');
    // A server must not mask its frames (§5.1).
    socket.write(Buffer.from([0x81, 0x82, 1, 2, 3, 4, 0x61 ^ 1, 0x62 ^ 2]));
    const close = await frames.next();
    expect(close.opcode).toBe(8);
    expect(close.payload.readUInt16BE(0)).toBe(1002);
    const closed = await closes.next(3000);
    expect(closed.code).toBe(1002);
    expect(closed.cause.kind).toBe('protocol_error');
  });
});
