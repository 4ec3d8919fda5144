/**
 * diagnostics_channel: what wsbolt publishes on its documented channels (docs/observability.md), for real
 * connections of both roles: open and close (code, reason, cause), a refused handshake, a protocol error,
 * backpressure then drain, and each message in and out.
 */
import dc from 'node:diagnostics_channel';
import { describe, expect, it } from 'vitest';
import { DIAGNOSTICS_CHANNELS, SendStatus, UnexpectedResponseError, connect, reject, type WebSocket } from '../../src/index.js';
import { Queue, clientFrame, deferred, failure, rawConnect, startServer, useCleanup } from '../kit/index.js';

const defer = useCleanup();

/** Every message published on a channel from now until the end of the test. */
function record(name: string): Queue<any> {
  const queue = new Queue<any>(name);
  const listener = (message: unknown) => queue.push(message);
  dc.subscribe(name, listener);
  defer(() => dc.unsubscribe(name, listener));
  return queue;
}

/** The first message that passes test, published already or awaited (in any order: other connections publish too). */
async function first(queue: Queue<any>, test: (message: any) => boolean): Promise<any> {
  return queue.items.find(test) ?? queue.find(test);
}

/** The first message about this connection. */
function nextFor(queue: Queue<any>, ws: WebSocket<any>): Promise<any> {
  return first(queue, (m) => m.ws === ws);
}

describe('diagnostics_channel', () => {
  it('documents its channel names', () => {
    expect(DIAGNOSTICS_CHANNELS).toEqual({
      open: 'wsbolt:connection:open',
      close: 'wsbolt:connection:close',
      refused: 'wsbolt:handshake:refused',
      protocolError: 'wsbolt:protocol:error',
      backpressure: 'wsbolt:backpressure',
      drain: 'wsbolt:drain',
      messageReceived: 'wsbolt:message:received',
      messageSent: 'wsbolt:message:sent',
    });
  });

  it('publishes open and close on both sides, with code, reason and cause', async () => {
    const opens = record('wsbolt:connection:open');
    const closes = record('wsbolt:connection:close');
    const serverSide = deferred<WebSocket>();
    const server = await startServer(defer, { open: (ws) => serverSide.resolve(ws) });
    const client = await connect(`ws://127.0.0.1:${server.port}/chat`, { perMessageDeflate: false });
    const ws = await serverSide.promise;

    const serverOpen = await nextFor(opens, ws);
    expect(serverOpen).toEqual({
      ws,
      id: ws.id,
      role: 'server',
      remoteAddress: '127.0.0.1',
      remotePort: expect.any(Number),
      transport: ws.transport,
      protocol: '',
      extensions: '',
    });
    const clientOpen = await nextFor(opens, client);
    expect(clientOpen).toMatchObject({ ws: client, id: client.id, role: 'client', remoteAddress: '127.0.0.1', remotePort: server.port, extensions: '' });
    expect(client.id).not.toBe(ws.id);

    client.close(1000, 'bye');
    const serverClose = await nextFor(closes, ws);
    const clientClose = await nextFor(closes, client);
    expect(serverClose).toEqual({ ws, id: ws.id, role: 'server', code: 1000, reason: 'bye', cause: { kind: 'remote' } });
    expect(clientClose).toEqual({ ws: client, id: client.id, role: 'client', code: 1000, reason: 'bye', cause: { kind: 'local' } });
  });

  it('publishes a refused handshake on the server (status, reason, url) and on the client (status, url, error)', async () => {
    const refusals = record('wsbolt:handshake:refused');
    const server = await startServer(defer, { path: '/in', upgrade: () => reject(401, 'who are you?') });
    const url = `ws://127.0.0.1:${server.port}/in?token=x`;
    const error = await failure(() => connect(url));
    expect(error).toBeInstanceOf(UnexpectedResponseError);

    const serverSide = await first(refusals, (m) => m.role === 'server');
    expect(serverSide).toEqual({
      role: 'server',
      status: 401,
      reason: 'rejected',
      message: 'who are you?',
      url: '/in?token=x',
      remoteAddress: '127.0.0.1',
      httpVersion: '1.1',
    });
    const clientSide = await first(refusals, (m) => m.role === 'client');
    expect(clientSide).toEqual({ role: 'client', status: 401, url, error });

    await failure(() => connect(`ws://127.0.0.1:${server.port}/elsewhere`));
    expect(await first(refusals, (m) => m.role === 'server' && m.status === 404)).toMatchObject({ reason: 'not_found', url: '/elsewhere' });
  });

  it('publishes a protocol error with its error, then a close with 1002 and that error as the cause', async () => {
    const errors = record('wsbolt:protocol:error');
    const closes = record('wsbolt:connection:close');
    const serverSide = deferred<WebSocket>();
    const server = await startServer(defer, { open: (ws) => serverSide.resolve(ws), error: () => {} });
    const raw = await rawConnect(defer, server.port);
    const ws = await serverSide.promise;
    raw.write(clientFrame(3, 'x')); // a reserved opcode (RFC 6455 §5.2)
    expect(await raw.closeCode()).toBe(1002);

    const published = await nextFor(errors, ws);
    expect(published).toEqual({ ws, id: ws.id, role: 'server', error: expect.objectContaining({ code: 'WS_ERR_INVALID_OPCODE', closeCode: 1002 }) });
    const closed = await nextFor(closes, ws);
    expect(closed).toMatchObject({ code: 1002, cause: { kind: 'protocol_error', error: published.error } });
  });

  it('publishes backpressure when a send reports it, and drain once the peer has read', async () => {
    const backpressure = record('wsbolt:backpressure');
    const drains = record('wsbolt:drain');
    const status = deferred<number>();
    const drained = deferred<void>();
    const serverSide = deferred<WebSocket>();
    const server = await startServer(defer, {
      open(ws) {
        serverSide.resolve(ws);
        status.resolve(ws.send(Buffer.alloc(1024 * 1024, 1)));
      },
      drain: () => drained.resolve(),
    });
    const raw = await rawConnect(defer, server.port, { keepPayloadUpTo: 0 });
    const ws = await serverSide.promise;
    expect(await status.promise).toBe(SendStatus.BACKPRESSURE);
    const published = await nextFor(backpressure, ws);
    expect(published).toEqual({ ws, id: ws.id, bufferedAmount: expect.any(Number) });
    expect(published.bufferedAmount).toBeGreaterThan(1024 * 1024); // the message and its header, queued at once

    await raw.waitFor(() => raw.bytesReceived >= 1024 * 1024, 10_000, 'the whole message');
    await drained.promise;
    expect(await nextFor(drains, ws)).toEqual({ ws, id: ws.id });
    expect(backpressure.items.filter((m) => m.ws === ws)).toHaveLength(1); // one per episode, not one per send
  });

  it('publishes each message received and sent, on both sides', async () => {
    const received = record('wsbolt:message:received');
    const sent = record('wsbolt:message:sent');
    const serverSide = deferred<WebSocket>();
    const server = await startServer(defer, {
      open: (ws) => serverSide.resolve(ws),
      message: (ws, data, isBinary) => ws.send(data, { binary: isBinary }),
    });
    const echoed = deferred<Buffer>();
    const client = await connect(`ws://127.0.0.1:${server.port}`, { message: (_ws, data) => echoed.resolve(data) });
    const ws = await serverSide.promise;
    client.send('hi');
    await echoed.promise;

    expect(await nextFor(sent, client)).toEqual({ ws: client, id: client.id, data: 'hi', isBinary: false });
    expect(await nextFor(received, ws)).toEqual({ ws, id: ws.id, data: Buffer.from('hi'), isBinary: false });
    expect(await nextFor(sent, ws)).toEqual({ ws, id: ws.id, data: Buffer.from('hi'), isBinary: false });
    expect(await nextFor(received, client)).toEqual({ ws: client, id: client.id, data: Buffer.from('hi'), isBinary: false });
  });
});
