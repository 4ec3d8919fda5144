/** reconnecting(): backoff, restarts, sends while disconnected, the queue, close(), finalCodes, maxAttempts. */
import { afterEach, describe, expect, it } from 'vitest';
import {
  type CloseCause,
  ReadyState,
  type ReconnectingClient,
  SendStatus,
  type ReconnectingOptions,
  type WebSocket,
  WsboltError,
  reconnecting,
} from '../../src/index.js';
import { cleanup, defer, deferred, frameReader, freePort, handlerRecorder, HOST, Queue, rawServer, switchingProtocols, withTimeout } from '../kit/index.js';
import { startOurs } from './util.js';

afterEach(cleanup);

/** Our echo server on the given port (0: any), recording its connections and what they receive. */
async function echo(port = 0) {
  const peers = new Queue<WebSocket>('server connection');
  const received = new Queue<string>('server message');
  const server = await startOurs({
    port,
    open: (ws) => peers.push(ws),
    message: (ws, data, isBinary) => {
      received.push(data.toString());
      ws.send(data, { binary: isBinary });
    },
  });
  return { server, port: server.port, url: `ws://${HOST}:${server.port}/`, peers, received };
}

interface Attempt {
  attempt: number;
  delay: number;
  cause: CloseCause | Error;
}

/** reconnecting() with a handlerRecorder for every callback; the client is closed after the test. */
async function start<T = unknown>(url: string, options: Omit<ReconnectingOptions<T>, 'reconnecting' | 'giveUp'>) {
  const rec = handlerRecorder<T>();
  const attempts = new Queue<Attempt>('reconnecting callback');
  const giveUps = new Queue<CloseCause | Error>('giveUp');
  const clientPromise = reconnecting<T>(url, {
    ...rec.handler,
    ...options,
    reconnecting: (attempt, delay, cause) => attempts.push({ attempt, delay, cause }),
    giveUp: (cause) => giveUps.push(cause),
  });
  clientPromise.then(
    (c) => defer(() => c.close()),
    () => {},
  );
  return { clientPromise, attempts, giveUps, ...rec };
}

const expectNotConnected = (fn: () => unknown) => {
  let error: any = null;
  try {
    fn();
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(WsboltError);
  expect(error.code).toBe('ERR_NOT_CONNECTED');
};

describe('reconnecting()', () => {
  it('reconnects with exponential backoff after the server goes, and opens again when it is back', async () => {
    const first = await echo();
    const { clientPromise, attempts, opens, closes, messages } = await start(first.url, {
      // stableAfter: 0: every open counts as stable here (the test below covers short-lived ones).
      reconnect: { initialDelay: 20, factor: 2, maxDelay: 10_000, jitter: 0, stableAfter: 0 },
    });
    const client = await clientPromise;
    expect(opens.items.length).toBe(1);
    const ws1 = await opens.next();
    expect(client.current).toBe(ws1);
    expect(client.readyState).toBe(ReadyState.OPEN);
    client.send('before');
    expect((await messages.next()).data.toString()).toBe('before');

    await first.server.close();
    const closed = await closes.next();
    expect(closed.code).toBe(1001);
    expect(closed.cause.kind).toBe('remote');
    expect(client.current).toBeNull();
    expect(client.readyState).toBe(ReadyState.CONNECTING);
    expectNotConnected(() => client.send('while away'));

    // Attempt n waits initialDelay × factor^(n−1).
    const seen = await attempts.take(3, 5000);
    expect(seen.map((a) => [a.attempt, a.delay])).toEqual([
      [1, 20],
      [2, 40],
      [3, 80],
    ]);
    expect((seen[0]!.cause as CloseCause).kind).toBe('remote');
    expect((seen[1]!.cause as NodeJS.ErrnoException).code).toBe('ECONNREFUSED');

    const second = await echo(first.port);
    const ws2 = await opens.next(5000);
    expect(ws2).not.toBe(ws1);
    expect(client.current).toBe(ws2);
    expect(client.readyState).toBe(ReadyState.OPEN);
    for (const a of attempts.items) expect(a.delay).toBe(20 * 2 ** (a.attempt - 1));
    await second.peers.next();
    client.send('after');
    expect((await second.received.next()).toString()).toBe('after');
    expect((await messages.next()).data.toString()).toBe('after');

    // A stable open resets the count: the next loss starts again at attempt 1.
    attempts.clear();
    const before = attempts.items.length;
    await second.server.close();
    await closes.next();
    const again = await attempts.next();
    expect(attempts.items.length).toBe(before + 1);
    expect([again.attempt, again.delay]).toEqual([1, 20]);
  });

  it('a server that accepts and closes at once: the delays keep growing (a short-lived open does not reset the backoff)', async () => {
    const server = await startOurs({ open: (ws) => ws.close(4000, 'go away') });
    const { clientPromise, attempts, opens } = await start(`ws://${HOST}:${server.port}/`, {
      reconnect: { initialDelay: 10, factor: 2, maxDelay: 10_000, jitter: 0 },
    });
    await clientPromise;
    const seen = await attempts.take(5, 5000);
    expect(seen.map((a) => [a.attempt, a.delay])).toEqual([
      [1, 10],
      [2, 20],
      [3, 40],
      [4, 80],
      [5, 160],
    ]);
    // Every attempt did open: it is the connections' short life, not failed attempts, that keeps the backoff growing.
    expect(opens.items.length).toBeGreaterThanOrEqual(5);
    for (const a of seen) expect((a.cause as CloseCause).kind).toBe('remote');
  });

  it('a connection that stays open for stableAfter resets the backoff; shorter ones do not', async () => {
    const STABLE = 150;
    let opened = 0;
    const server = await startOurs({
      open: (ws) => {
        // The third connection is held for three times stableAfter (the behaviour under test is that time passing); the others close at once.
        if (++opened !== 3) return ws.close(4000, 'go away');
        const timer = setTimeout(() => ws.close(4000, 'later'), 3 * STABLE);
        defer(() => clearTimeout(timer));
      },
    });
    const { clientPromise, attempts } = await start(`ws://${HOST}:${server.port}/`, {
      reconnect: { initialDelay: 10, factor: 2, maxDelay: 10_000, jitter: 0, stableAfter: STABLE },
    });
    await clientPromise;
    const seen = await attempts.take(4, 5000);
    expect(seen.map((a) => [a.attempt, a.delay])).toEqual([
      [1, 10], // after connection 1 (short)
      [2, 20], // after connection 2 (short)
      [1, 10], // after connection 3, open past stableAfter: the backoff starts over
      [2, 20], // after connection 4 (short)
    ]);
  });

  it('the first connection may fail: start() resolves on the first open', async () => {
    const port = await freePort();
    const { clientPromise, attempts, opens } = await start(`ws://${HOST}:${port}/`, { reconnect: { initialDelay: 10, jitter: 0 } });
    const a = await attempts.next();
    expect(a.attempt).toBe(1);
    expect((a.cause as NodeJS.ErrnoException).code).toBe('ECONNREFUSED');
    await echo(port);
    const client = await withTimeout(clientPromise, 5000, 'start()');
    expect(client.current).toBe(await opens.next());
  });

  it('delays are capped at maxDelay; maxAttempts reached → giveUp, and start() rejects', async () => {
    const port = await freePort();
    const { clientPromise, attempts, giveUps, opens } = await start(`ws://${HOST}:${port}/`, {
      reconnect: { initialDelay: 5, factor: 3, maxDelay: 50, jitter: 0, maxAttempts: 5 },
    });
    const error = await withTimeout(
      clientPromise.then(
        () => null,
        (e) => e,
      ),
      5000,
      'start() to fail',
    );
    expect(attempts.items.map((a) => [a.attempt, a.delay])).toEqual([
      [1, 5],
      [2, 15],
      [3, 45],
      [4, 50],
      [5, 50],
    ]);
    expect(giveUps.items.length).toBe(1);
    expect((giveUps.items[0] as NodeJS.ErrnoException).code).toBe('ECONNREFUSED');
    expect(error.code).toBe('ERR_RECONNECT_GAVE_UP');
    expect(error.cause).toBe(giveUps.items[0]);
    expect(opens.items.length).toBe(0);
  });

  it('jitter randomises each delay within [base × (1 − jitter), base]', async () => {
    const port = await freePort();
    const { clientPromise, attempts } = await start(`ws://${HOST}:${port}/`, {
      reconnect: { initialDelay: 20, factor: 1, jitter: 0.5, maxAttempts: 6 },
    });
    await clientPromise.catch(() => {});
    expect(attempts.items.length).toBe(6);
    for (const a of attempts.items) {
      expect(a.delay).toBeGreaterThanOrEqual(10);
      expect(a.delay).toBeLessThanOrEqual(20);
    }
  });

  it('reconnect: true uses the defaults (250 ms with 50% jitter for the first wait)', async () => {
    const server = await echo();
    const { clientPromise, attempts, closes } = await start(server.url, { reconnect: true });
    const client = await clientPromise;
    server.peers.items[0]!.close(4000, 'go');
    await closes.next();
    const a = await attempts.next();
    client.close();
    expect(a.attempt).toBe(1);
    expect(a.delay).toBeGreaterThanOrEqual(125);
    expect(a.delay).toBeLessThanOrEqual(250);
  });

  it('queueWhileDisconnected: 2 queues two messages, delivers them in order after reconnecting, and drops a third', async () => {
    const first = await echo();
    const { clientPromise, closes, opens } = await start(first.url, {
      reconnect: { initialDelay: 10, factor: 1, jitter: 0, queueWhileDisconnected: 2 },
    });
    const client = await clientPromise;
    await opens.next();
    await first.server.close();
    await closes.next();

    expect(client.send('queued-1')).toBe(SendStatus.QUEUED);
    expect(client.send(Buffer.from('queued-2'))).toBe(SendStatus.QUEUED);
    expect(client.send('third')).toBe(SendStatus.DROPPED);

    const second = await echo(first.port);
    await opens.next(5000);
    expect(await second.received.take(2)).toEqual(['queued-1', 'queued-2']);
    // The queue is empty now: nothing else arrives before a fresh message.
    client.send('live');
    expect(await second.received.next()).toBe('live');
  });

  it('client.close() while connected: closes with the given code, never reconnects, later sends throw', async () => {
    const server = await echo();
    const { clientPromise, attempts, closes, giveUps } = await start(server.url, { reconnect: { initialDelay: 10, jitter: 0 } });
    const client = await clientPromise;
    await server.peers.next();
    client.close(4005, 'done');
    const closed = await closes.next();
    expect(closed.code).toBe(4005);
    expect(closed.cause.kind).toBe('local');
    // The reconnect decision is made synchronously in the close callback: had it
    // been taken, reconnecting() would have been called by now.
    expect(attempts.items.length).toBe(0);
    expect(giveUps.items.length).toBe(0);
    expect(client.readyState).toBe(ReadyState.CLOSED);
    expect(client.current).toBeNull();
    expectNotConnected(() => client.send('after close'));
  });

  it('client.close() during the backoff wait cancels the pending attempt', async () => {
    const first = await echo();
    const { clientPromise, attempts, closes, opens } = await start(first.url, { reconnect: { initialDelay: 40, factor: 1, jitter: 0 } });
    const client = await clientPromise;
    await first.server.close();
    await closes.next();
    await attempts.next(); // waiting 40 ms before attempt 1
    client.close();
    expect(client.readyState).toBe(ReadyState.CLOSED);
    const second = await echo(first.port);
    // An absence check needs a window: several times the pending delay.
    await new Promise((resolve) => setTimeout(resolve, 250));
    expect(second.peers.items.length).toBe(0);
    expect(attempts.items.length).toBe(1);
    expect(opens.items.length).toBe(1);
  });

  it('client.close() while an attempt is in flight: the connection that completes afterwards is not kept open', async () => {
    const first = await echo();
    const { clientPromise, closes, opens } = await start(first.url, { reconnect: { initialDelay: 10, factor: 1, jitter: 0 } });
    const client = await clientPromise;
    await opens.next();
    await first.server.close();
    await closes.next();

    // The next attempt reaches a server that holds the handshake until told to answer.
    const held = await rawServer(() => {}, { port: first.port });
    const { socket, request } = await held.connections.next(5000);
    client.close();
    const frames = frameReader(socket);
    const released = deferred<string>();
    socket.on('end', () => released.resolve('FIN'));
    socket.on('close', () => released.resolve('closed'));
    frames.next(5000).then(
      (f) => released.resolve(`frame opcode ${f.opcode}`),
      () => {},
    );
    socket.write(switchingProtocols(request));

    const outcome = await withTimeout(released.promise, 1000, 'the client to let go of the connection it opened after close()').catch((e) => String(e));
    expect({ outcome, opens: opens.items.length, current: client.current === null ? null : `open (readyState ${client.current.readyState})` }).toEqual({
      outcome: expect.stringMatching(/^(FIN|closed|frame opcode 8)$/),
      opens: 1, // open() must not run for a client that was closed
      current: null,
    });
  });

  it('a close code listed in finalCodes stops reconnecting and calls giveUp; other codes reconnect', async () => {
    const first = await echo();
    const { clientPromise, attempts, closes, giveUps, opens } = await start(first.url, {
      reconnect: { initialDelay: 10, jitter: 0, finalCodes: [4003, 1008] },
    });
    const client = await clientPromise;
    await opens.next();

    // 4004 is not final: the client comes back.
    (await first.peers.next()).close(4004, 'again please');
    expect((await closes.next()).code).toBe(4004);
    expect((await attempts.next()).attempt).toBe(1);
    await opens.next(5000);

    // 4003 is final.
    (await first.peers.next()).close(4003, 'banned');
    const closed = await closes.next();
    expect(closed.code).toBe(4003);
    expect(attempts.items.length).toBe(1);
    expect(giveUps.items.length).toBe(1);
    expect(giveUps.items[0]).toEqual({ kind: 'remote' });
    expect(client.readyState).toBe(ReadyState.CLOSED);
    expectNotConnected(() => client.send('x'));
  });

  it('maxAttempts after a lost connection → giveUp with the last failure', async () => {
    const first = await echo();
    const { clientPromise, attempts, closes, giveUps } = await start(first.url, {
      reconnect: { initialDelay: 5, factor: 1, jitter: 0, maxAttempts: 3 },
    });
    const client: ReconnectingClient = await clientPromise;
    await first.server.close();
    await closes.next();
    const cause = await giveUps.next(5000);
    expect(attempts.items.map((a) => a.attempt)).toEqual([1, 2, 3]);
    expect((cause as NodeJS.ErrnoException).code).toBe('ECONNREFUSED');
    expect(giveUps.items.length).toBe(1);
    expect(client.readyState).toBe(ReadyState.CLOSED);
    expectNotConnected(() => client.send('x'));
  });
});
