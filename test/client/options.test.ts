/** Client options beyond the handshake: agent, createConnection, maxPayload, backpressure and drain. */
import * as http from 'node:http';
import * as net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { connect, ReadyState, reconnecting, SendStatus, WsboltOptionError, WsboltOptionRangeError } from '../../src/index.js';
import { cleanup, defer, deferred, HOST, rawWebSocketServer, withTimeout } from '../kit/index.js';
import { client, KINDS, startOurs, startServer } from './util.js';

afterEach(cleanup);

describe('transport options', () => {
  it('agent: the handshake goes through the given http.Agent', async () => {
    const server = await startServer('wsbolt');
    const agent = new http.Agent();
    const created: string[] = [];
    const original = (agent as any).createConnection.bind(agent);
    (agent as any).createConnection = (options: net.NetConnectOpts & { host?: string; port?: number }, callback?: unknown) => {
      created.push(`${options.host}:${options.port}`);
      return original(options, callback);
    };
    const { ws, messages } = await client(server.url, { agent });
    expect(created).toEqual([`${HOST}:${server.port}`]);
    ws.send('via agent');
    expect((await messages.next()).data.toString()).toBe('via agent');
    agent.destroy();
  });

  it('createConnection: the socket comes from the caller (a tunnel), the URL still names the host', async () => {
    const server = await startServer('ws');
    const asked: string[] = [];
    const { ws, messages } = await client('ws://tunnel.invalid:4242/through?x=1', {
      createConnection: ((options: { host?: string; port?: number }) => {
        asked.push(`${options.host}:${options.port}`);
        return net.connect(server.port, HOST);
      }) as any,
    });
    expect(asked).toEqual(['tunnel.invalid:4242']);
    const peer = await server.peers.next();
    expect(peer.headers.host).toBe('tunnel.invalid:4242');
    expect(peer.url).toBe('/through?x=1');
    ws.send('tunnelled');
    expect((await messages.next()).data.toString()).toBe('tunnelled');
  });
});

describe.each(KINDS)('limits with a %s server', (kind) => {
  it('a message over the client maxPayload fails the connection with 1009', async () => {
    const server = await startServer(kind, { echo: false });
    const { messages, closes } = await client(server.url, { maxPayload: 1000 });
    const peer = await server.peers.next();
    peer.send(Buffer.alloc(1000, 1));
    expect((await messages.next()).data.length).toBe(1000);
    peer.send(Buffer.alloc(1001, 2));
    const closed = await closes.next();
    expect(closed.code).toBe(1009);
    expect(closed.cause.kind).toBe('protocol_error');
    expect((await withTimeout(peer.closed, 5000, 'server close')).code).toBe(1009);
    expect(messages.pending).toBe(0);
  });

  it('a fragmented message over maxPayload also fails with 1009', async () => {
    const server = await startServer(kind, { echo: false });
    const { messages, closes } = await client(server.url, { maxPayload: 1000 });
    const peer = await server.peers.next();
    peer.send(Buffer.alloc(600), { binary: true, fin: false });
    peer.send(Buffer.alloc(600), { binary: true, fin: true });
    expect((await closes.next()).code).toBe(1009);
    expect(messages.pending).toBe(0);
  });
});

describe.each(KINDS)('backpressure with a %s server', (kind) => {
  it('a send that reports BACKPRESSURE is followed by drain once the data is written', async () => {
    const server = await startServer(kind, { echo: false });
    const { ws, drains } = await client(server.url);
    const peer = await server.peers.next();
    const status = ws.send(Buffer.alloc(1024 * 1024, 3));
    expect(status).toBe(SendStatus.BACKPRESSURE);
    expect((await peer.messages.next()).data.length).toBe(1024 * 1024);
    // The server has the whole message; the client was told to wait for drain.
    await drains.next(2000);
    expect(ws.bufferedAmount).toBe(0);
  });
});

describe('backpressure with a server that does not read', () => {
  it('bufferedAmount stays up while the server does not read; drain fires once it does', async () => {
    const raw = await rawWebSocketServer();
    const { ws, drains } = await client(raw.url, { maxBackpressure: 256 * 1024 * 1024 });
    const { socket } = await raw.connections.next(); // paused: the server reads nothing yet
    const chunk = Buffer.alloc(1024 * 1024, 3);
    // More than loopback socket buffers absorb (tcp_wmem + tcp_rmem maxima are a few MiB).
    const statuses = Array.from({ length: 48 }, () => ws.send(chunk));
    expect(statuses.at(-1)).toBe(SendStatus.BACKPRESSURE);
    await new Promise((resolve) => setImmediate(resolve)); // one turn: this tick's flush has run
    expect(ws.bufferedAmount).toBeGreaterThan(1024 * 1024);
    expect(drains.pending).toBe(0);
    let read = 0;
    socket.on('data', (d: Buffer) => (read += d.length));
    socket.resume();
    await drains.next(10_000);
    expect(read).toBeGreaterThan(0);
    expect(ws.readyState).toBe(ReadyState.OPEN);
  });
});

describe('options are checked at the call', () => {
  // Port 1 is never listened on: a check that let a bad option through would fail later, with ECONNREFUSED.
  const url = `ws://${HOST}:1/`;

  it('connect(): an unknown name, with the nearest known one', async () => {
    const error = await connect(url, { mesage() {} } as never).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WsboltOptionError);
    expect(error).toMatchObject({ code: 'WSBOLT_UNKNOWN_OPTION', option: 'mesage', message: "connect(): unknown option 'mesage' — did you mean 'message'?" });
  });

  it('connect(): wrong types and ranges, nested ones included', async () => {
    await expect(connect(url, { open: true as never })).rejects.toMatchObject({ code: 'WSBOLT_INVALID_OPTION', option: 'open', expected: 'a function' });
    await expect(connect(url, { handshakeTimeout: -1 })).rejects.toBeInstanceOf(WsboltOptionRangeError);
    await expect(connect(url, { headers: { 'x-n': 1 as never } })).rejects.toMatchObject({ option: 'headers["x-n"]' });
    await expect(connect(url, { protocols: ['chat', ''] })).rejects.toMatchObject({ option: 'protocols[1]' });
    await expect(connect(url, { perMessageDeflate: { memLevel: 0 } })).rejects.toMatchObject({ option: 'perMessageDeflate.memLevel' });
    await expect(connect(url, { idleTimeout: 60 })).rejects.toThrow('did you mean 60 * 1000 = 60000?');
    await expect(connect(url, { reconnect: true } as never)).rejects.toMatchObject({ code: 'WSBOLT_UNKNOWN_OPTION', option: 'reconnect' });
  });

  it('connect(): subprotocols must be tokens, each once (RFC 6455 §4.1; the core check wsbolt/ws uses too), refused before any request', async () => {
    for (const protocols of [['a b'], ['chat', 'chat'], 'a,b', ['é']]) {
      const error = await connect(url, { protocols }).catch((e: unknown) => e);
      expect(error, JSON.stringify(protocols)).toBeInstanceOf(WsboltOptionRangeError);
      expect(error).toMatchObject({ code: 'WSBOLT_OPTION_OUT_OF_RANGE', option: 'protocols' });
    }
  });

  it('reconnecting(url) works without a reconnect object (the default policy)', async () => {
    const server = await startOurs({ message: (ws, data) => void ws.send(data) });
    const echoed = deferred<string>();
    const rc = await withTimeout(reconnecting(`ws://${HOST}:${server.port}/`, { message: (_ws, data) => echoed.resolve(data.toString()) }), 3000, 'open');
    defer(() => rc.close());
    expect(rc.readyState).toBe(ReadyState.OPEN);
    rc.send('hello');
    expect(await withTimeout(echoed.promise, 3000, 'echo')).toBe('hello');
  });

  it('reconnecting(): the reconnect policy is checked too', async () => {
    await expect(reconnecting(url, { reconnect: { jitter: 2 } })).rejects.toMatchObject({
      code: 'WSBOLT_OPTION_OUT_OF_RANGE',
      message: "reconnecting(): option 'reconnect.jitter' must be a number from 0 to 1, received 2",
    });
    await expect(reconnecting(url, { reconnect: { initalDelay: 5 } as never })).rejects.toThrow(
      "unknown option 'reconnect.initalDelay' — did you mean 'initialDelay'?",
    );
    await expect(reconnecting(url, { reconnect: 'yes' as never })).rejects.toMatchObject({ option: 'reconnect', code: 'WSBOLT_INVALID_OPTION' });
    await expect(reconnecting(url, { giveUp: 'never' as never })).rejects.toMatchObject({ option: 'giveUp' });
  });
});
