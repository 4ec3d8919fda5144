/** idleTimeout with and without sendPings: live peers stay, silent ones are closed with 1001. */
import { describe, expect, it } from 'vitest';
import { type CloseCause, ReadyState } from '../../src/index.js';
import { closePayload, deferred, HOST, Queue, rawConnect, startServer, useCleanup, withTimeout, wsConnect } from '../kit/index.js';

const defer = useCleanup();

interface Closed {
  code: number;
  reason: string;
  cause: CloseCause;
}

describe('idleTimeout', () => {
  it('a ws client that answers pings stays connected past the timeout and receives pings', async () => {
    const closed = deferred<Closed>();
    const pongs = new Queue<number>();
    const server = await startServer(defer, {
      idleTimeout: 1000,
      sendPings: true,
      pong: () => pongs.push(Date.now()),
      close: (_ws, code, reason, cause) => closed.resolve({ code, reason, cause }),
    });
    const started = Date.now();
    const { client } = await wsConnect(defer, `ws://${HOST}:${server.port}/`);
    const pings = new Queue<number>();
    client.on('ping', () => pings.push(Date.now()));
    // A ping every half timeout or so: four of them take well over 1.5 s.
    await pings.take(4, 6000, 'pings');
    await pongs.take(4, 2000, 'pongs');
    expect(Date.now() - started).toBeGreaterThan(1500);
    expect(client.readyState).toBe(ReadyState.OPEN);
    expect(closed.settled).toBe(false);
    expect(server.connections.size).toBe(1);
  });

  it('a raw peer that never answers is closed with 1001 "idle timeout" and cause timeout', async () => {
    const closed = deferred<Closed>();
    const server = await startServer(defer, {
      idleTimeout: 1000,
      sendPings: true,
      closeTimeout: 300,
      close: (_ws, code, reason, cause) => closed.resolve({ code, reason, cause }),
    });
    const started = Date.now();
    const raw = await rawConnect(defer, server.port);
    const { frame: close, skipped } = await raw.nextOf(8, 5000);
    const elapsed = Date.now() - started;
    expect(skipped.map((f) => f.opcode)).toEqual([9]); // it was pinged first
    expect(closePayload(close.payload)).toEqual({ code: 1001, reason: 'idle timeout' });
    expect(elapsed).toBeGreaterThanOrEqual(900);
    expect(elapsed).toBeLessThan(2500);
    await withTimeout(raw.closed, 3000, 'socket dropped after closeTimeout');
    const result = await withTimeout(closed.promise);
    expect(result.cause.kind).toBe('timeout');
  });

  it('a raw peer that answers only the close frame: code 1001, cause timeout', async () => {
    const closed = deferred<Closed>();
    const server = await startServer(defer, {
      idleTimeout: 1000,
      sendPings: false,
      close: (_ws, code, reason, cause) => closed.resolve({ code, reason, cause }),
    });
    const raw = await rawConnect(defer, server.port);
    const { frame: close, skipped } = await raw.nextOf(8, 5000);
    expect(skipped).toEqual([]); // sendPings: false: no ping before the close
    expect(closePayload(close.payload)).toEqual({ code: 1001, reason: 'idle timeout' });
    raw.sendClose(1001);
    // The handshake completed, so the code is the one exchanged; the cause still says why.
    expect(await withTimeout(closed.promise)).toMatchObject({ code: 1001, cause: { kind: 'timeout' } });
    await withTimeout(raw.ended, 3000, 'server closing TCP');
  });

  it('input of any kind keeps a peer alive without pings', async () => {
    const closed = deferred<Closed>();
    const messages = new Queue<string>();
    const server = await startServer(defer, {
      idleTimeout: 1000,
      sendPings: false,
      message: (_ws, data) => messages.push(data.toString()),
      close: (_ws, code, reason, cause) => closed.resolve({ code, reason, cause }),
    });
    const started = Date.now();
    const raw = await rawConnect(defer, server.port);
    // Send something every 300 ms (well inside the timeout) until 1.8 s have passed.
    const timer = setInterval(() => raw.sendText(String(Date.now() - started)), 300);
    defer(() => clearInterval(timer));
    await messages.take(6, 5000, 'keep-alive messages');
    clearInterval(timer);
    expect(Date.now() - started).toBeGreaterThan(1500);
    expect(closed.settled).toBe(false);
    expect(raw.frames.items.filter((f) => f.opcode === 8)).toEqual([]);
    // Then silence: closed by the idle timeout.
    const { frame } = await raw.nextOf(8, 3000);
    expect(closePayload(frame.payload).code).toBe(1001);
  });
});
