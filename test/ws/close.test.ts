/**
 * Closing, compared with ws: codes and reasons both ways (reason as a
 * Buffer, echoed by the peer), 1005 without a code, 1006 on terminate(),
 * 'close' exactly once and last, argument checks, and WebSocketServer
 * close() with ws 8's semantics (existing connections are left alone).
 */
import * as http from 'node:http';
import type * as net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, defer, HOST, once } from '../kit/index.js';
import { bolt, connectedPair, type Impl, messages, openClient, record, sameForAllPairs, sameForBoth, startServer, ws } from './util.js';

afterEach(cleanup);

async function closeScenario(serverImpl: Impl, clientImpl: Impl, act: (c: any, s: any) => void) {
  const server = await startServer(serverImpl);
  const { c, s } = await connectedPair(server, clientImpl);
  const cRec = record(c);
  const sRec = record(s);
  const clean: { client?: boolean; server?: boolean } = { client: undefined, server: undefined };
  c.addEventListener('close', (e: any) => (clean.client = e.wasClean));
  s.addEventListener('close', (e: any) => (clean.server = e.wasClean));
  act(c, s);
  const states = { client: c.readyState, server: s.readyState };
  await Promise.all([cRec.closed, sRec.closed]);
  return { client: cRec.events, server: sRec.events, states, clean };
}

describe('close codes and reasons', () => {
  it('client closes with a code and reason: both sides report them (the server echoes the reason, as ws does)', async () => {
    const trace = await sameForAllPairs((s, c) => closeScenario(s, c, (client) => client.close(4000, 'bye')));
    expect(trace.client).toEqual([{ event: 'close', code: 4000, reason: 'bye', reasonIsBuffer: true, readyState: 3 }]);
    expect(trace.server).toEqual([{ event: 'close', code: 4000, reason: 'bye', reasonIsBuffer: true, readyState: 3 }]);
    expect(trace.clean).toEqual({ client: true, server: true });
  });

  it('server closes with a code and a Buffer reason', async () => {
    const trace = await sameForAllPairs((s, c) => closeScenario(s, c, (_client, server) => server.close(1001, Buffer.from('going away'))));
    expect(trace.client[0]).toMatchObject({ code: 1001, reason: 'going away' });
  });

  it('close() without a code: 1005 on both sides; a reason without a code is dropped', async () => {
    const trace = await sameForAllPairs((s, c) => closeScenario(s, c, (client) => client.close(undefined, 'ignored')));
    expect(trace.client[0]).toMatchObject({ code: 1005, reason: '' });
    expect(trace.server[0]).toMatchObject({ code: 1005, reason: '' });
  });

  it('both sides close at once: each reports the code it received', async () => {
    await sameForAllPairs((s, c) =>
      closeScenario(s, c, (client, server) => {
        client.close(1000, 'from client');
        server.close(4001, 'from server');
      }),
    );
  });

  it('terminate() on the client: 1006 on both sides', async () => {
    const trace = await sameForAllPairs((s, c) => closeScenario(s, c, (client) => client.terminate()));
    expect(trace.client[0]).toMatchObject({ code: 1006, reason: '' });
    expect(trace.server[0]).toMatchObject({ code: 1006 });
    expect(trace.clean).toEqual({ client: false, server: false });
  });

  it('terminate() on the server: 1006 on both sides', async () => {
    await sameForAllPairs((s, c) => closeScenario(s, c, (_client, server) => server.terminate()));
  });

  it("'close' is emitted once, after close(), close() again and terminate()", async () => {
    await sameForAllPairs((s, c) =>
      closeScenario(s, c, (client) => {
        client.close(1000);
        client.close(1000);
        client.terminate();
        client.terminate();
      }),
    );
  });

  it('messages sent before close() arrive before the close', async () => {
    const trace = await sameForAllPairs((s, c) =>
      closeScenario(s, c, (client, server) => {
        server.on('message', () => {});
        client.send('one');
        client.send(Buffer.from('two'));
        client.close(1000, 'after two');
      }),
    );
    expect(trace.server.map((e) => e.event)).toEqual(['message', 'message', 'close']);
  });

  it('invalid close arguments throw the errors ws throws', async () => {
    await sameForAllPairs(async (serverImpl, clientImpl) => {
      const server = await startServer(serverImpl);
      const { c } = await connectedPair(server, clientImpl);
      const attempts: [unknown, unknown][] = [
        [1005, undefined],
        [1004, undefined],
        [999, undefined],
        [5000, undefined],
        ['1000', undefined],
        [1000, 'x'.repeat(124)],
        [1000, 42],
      ];
      const out = attempts.map(([code, reason]) => {
        try {
          c.close(code, reason);
          return 'ok';
        } catch (error) {
          return `${(error as Error).constructor.name}: ${(error as Error).message}`;
        }
      });
      return { out, readyState: c.readyState };
    });
  });
});

describe('WebSocketServer close()', () => {
  it('with port: closes the HTTP server but leaves open connections; the callback runs once they are gone', async () => {
    const trace = await sameForAllPairs(async (serverImpl, clientImpl) => {
      const server = await startServer(serverImpl);
      const { c, s } = await connectedPair(server, clientImpl);
      const order: string[] = [];
      server.wss.on('close', () => order.push('wss close event'));
      server.wss.close((err?: Error) => order.push(`close cb ${err ?? 'no error'}`));
      order.push(`after close(): client ${c.readyState}, server ${s.readyState}, clients ${server.wss.clients.size}`);
      s.on('message', (d: Buffer) => s.send(d));
      c.send('still works');
      const [m] = await messages(c, 1);
      order.push(`echo ${m.data}`);
      const closed = once(server.wss, 'close');
      const serverSideClosed = once(s, 'close');
      c.close(1000);
      await Promise.all([once(c, 'close'), closed, serverSideClosed]);
      return order;
    });
    expect(trace).toEqual(['after close(): client 1, server 1, clients 1', 'echo still works', 'wss close event', 'close cb no error']);
  });

  it("with server: detaches; 'close' once every tracked client is gone; a second close() reports 'not running'", async () => {
    const trace = await sameForAllPairs(async (serverImpl, clientImpl) => {
      const httpServer = http.createServer();
      await new Promise<void>((resolve) => httpServer.listen(0, HOST, resolve));
      defer(() => {
        httpServer.closeAllConnections();
        return new Promise<void>((resolve) => httpServer.close(() => resolve()));
      });
      const port = (httpServer.address() as net.AddressInfo).port;
      const wss = new serverImpl.WebSocketServer({ server: httpServer });
      const connected = once(wss, 'connection');
      const c = await openClient(clientImpl, `ws://${HOST}:${port}`);
      const [s] = await connected;
      const order: string[] = [];
      wss.on('close', () => order.push('close event'));
      wss.close(() => order.push('close cb'));
      order.push(`upgrade listeners ${httpServer.listenerCount('upgrade')}, clients ${wss.clients.size}`);
      await new Promise<void>((resolve) => setImmediate(resolve));
      order.push(`still open: ${s.readyState}`);
      c.close();
      await once(wss, 'close');
      const again = await new Promise<string>((resolve) => wss.close((err?: Error) => resolve(String(err?.message))));
      return { order, again };
    });
    expect(trace.again).toBe('The server is not running');
  });

  it('noServer: handleUpgrade after close() answers 503', async () => {
    await sameForBoth(async (impl) => {
      const wss = new impl.WebSocketServer({ noServer: true });
      const httpServer = http.createServer();
      httpServer.on('upgrade', (req, socket, head) => wss.handleUpgrade(req, socket, head, (s: any) => wss.emit('connection', s, req)));
      await new Promise<void>((resolve) => httpServer.listen(0, HOST, resolve));
      defer(() => new Promise<void>((resolve) => httpServer.close(() => resolve())));
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      const c = new impl.WebSocket(`ws://${HOST}:${(httpServer.address() as net.AddressInfo).port}`);
      const rec = record(c);
      await rec.closed;
      return rec.events;
    });
  });

  it('clientTracking: false leaves clients undefined', async () => {
    await sameForAllPairs(async (serverImpl, clientImpl) => {
      const server = await startServer(serverImpl, { clientTracking: false });
      await connectedPair(server, clientImpl);
      return { clients: server.wss.clients === undefined ? 'undefined' : 'set' };
    });
  });

  it('clients is maintained as connections come and go', async () => {
    await sameForAllPairs(async (serverImpl, clientImpl) => {
      const server = await startServer(serverImpl);
      const a = await connectedPair(server, clientImpl);
      const b = await connectedPair(server, clientImpl);
      const sizes = [server.wss.clients.size, server.wss.clients.has(a.s) && server.wss.clients.has(b.s)];
      a.c.close();
      await once(a.s, 'close');
      sizes.push(server.wss.clients.size, server.wss.clients.has(b.s));
      b.s.terminate();
      await once(b.s, 'close');
      sizes.push(server.wss.clients.size);
      return sizes;
    });
  });
});

describe('implementations agree on the error and close order of a refused connection', () => {
  it('readyState is CLOSING during error and CLOSED during close', async () => {
    for (const impl of [ws, bolt]) {
      const server = await startServer(impl, { verifyClient: () => false });
      const c = new impl.WebSocket(server.url);
      const rec = record(c);
      await rec.closed;
      expect(rec.events.map((e) => [e.event, (e as { readyState?: number }).readyState])).toEqual([
        ['error', 2],
        ['close', 3],
      ]);
      await cleanup();
    }
  });
});
