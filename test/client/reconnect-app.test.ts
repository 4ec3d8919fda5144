/**
 * reconnecting() as an app builds on it: the queue waits for open() (async included), queued sends report
 * QUEUED and DROPPED beyond the limit, HTTP refusals stop the retries (shouldRetry decides otherwise), the
 * handle exists before the first connection (close() and an AbortSignal cancel it), and beforeAttempt
 * supplies a fresh URL and headers for every attempt.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  type CloseCause,
  ReadyState,
  ReconnectError,
  ReconnectingClient,
  type ReconnectingOptions,
  SendStatus,
  type WebSocket,
  WsboltError,
  reconnecting,
  reject,
} from '../../src/index.js';
import { HOST, Queue, cleanup, defer, deferred, freePort, handlerRecorder, rawServer, withTimeout } from '../kit/index.js';
import { startOurs } from './util.js';

afterEach(cleanup);

/** Our server recording each upgrade request and every message; upgrade decides acceptance (default: accept). */
async function recordingServer(port = 0, upgrade: (url: string, headers: Record<string, unknown>) => ReturnType<typeof reject> | void = () => {}) {
  const peers = new Queue<WebSocket>('server connection');
  const requests = new Queue<{ url: string; authorization: string | undefined }>('upgrade request');
  const received = new Queue<string>('server message');
  const server = await startOurs({
    port,
    upgrade: (req) => {
      requests.push({ url: req.url, authorization: req.header('authorization') });
      return upgrade(req.url, req.headers);
    },
    open: (ws) => peers.push(ws),
    message: (_ws, data) => received.push(data.toString()),
  });
  return { server, port: server.port, url: `ws://${HOST}:${server.port}/`, peers, requests, received };
}

/** A reconnecting client built as a handle (not started), with every callback recorded; closed after the test. */
function handle<T = unknown>(url: string, options: Omit<ReconnectingOptions<T>, 'reconnecting' | 'giveUp'>) {
  const rec = handlerRecorder<T>();
  const attempts = new Queue<{ attempt: number; delay: number; cause: CloseCause | Error }>('reconnecting callback');
  const giveUps = new Queue<{ cause: CloseCause | Error; error: ReconnectError }>('giveUp');
  const client = new ReconnectingClient<T>(url, {
    ...rec.handler,
    ...options,
    reconnecting: (attempt, delay, cause) => attempts.push({ attempt, delay, cause }),
    giveUp: (cause, error) => giveUps.push({ cause, error }),
  });
  defer(() => client.close());
  return { client, attempts, giveUps, ...rec };
}

const settled = (promise: Promise<unknown>) =>
  withTimeout(
    promise.then(
      (value) => ({ resolved: value }),
      (error) => ({ rejected: error }),
    ),
    5000,
    'start() to settle',
  );

describe('reconnecting(): the queue and open()', () => {
  it('queued sends report QUEUED, go out only after an async open() resolved, and DROPPED beyond the limit', async () => {
    const first = await recordingServer();
    const authorised = deferred();
    let opens = 0;
    const { client, closes } = handle(first.url, {
      reconnect: { initialDelay: 10, factor: 1, jitter: 0, queueWhileDisconnected: 2 },
      async open(ws) {
        if (++opens === 1) return;
        await authorised.promise; // e.g. a token fetched before the app speaks
        ws.send('auth');
      },
    });
    await client.start();
    expect(client.send('live')).toBe(SendStatus.SENT);
    expect(await first.received.next()).toBe('live');
    await first.server.close();

    await closes.next();
    expect(client.send('q1')).toBe(SendStatus.QUEUED);
    expect(client.send('q2')).toBe(SendStatus.QUEUED);
    expect(client.send('q3')).toBe(SendStatus.DROPPED);
    expect(new Set([SendStatus.QUEUED, SendStatus.SENT, SendStatus.BACKPRESSURE, SendStatus.DROPPED]).size).toBe(4);

    const second = await recordingServer(first.port);
    await second.peers.next(5000);
    // open() is still waiting: a send now joins the queue behind q1 and q2 instead of overtaking them.
    expect(client.readyState).toBe(ReadyState.CONNECTING);
    expect(client.send('q3-late')).toBe(SendStatus.DROPPED); // the queue is full until open() resolves
    authorised.resolve();
    expect(await second.received.take(3)).toEqual(['auth', 'q1', 'q2']);
    expect(client.readyState).toBe(ReadyState.OPEN);
    expect(client.send('after')).toBe(SendStatus.SENT);
    expect(await second.received.next()).toBe('after');
  });

  it('a synchronous open() sends first, then the queue follows', async () => {
    const first = await recordingServer();
    let opens = 0;
    const { client, closes } = handle(first.url, {
      reconnect: { initialDelay: 10, factor: 1, jitter: 0, queueWhileDisconnected: 5 },
      open: (ws) => {
        if (++opens > 1) ws.send(`hello ${opens}`);
      },
    });
    await client.start();
    await first.server.close();
    await closes.next();
    expect(client.send('queued')).toBe(SendStatus.QUEUED);
    const second = await recordingServer(first.port);
    expect(await second.received.take(2)).toEqual(['hello 2', 'queued']);
  });
});

describe('reconnecting(): refusals', () => {
  it('a 401 stops the retries by default: giveUp and start() get a ReconnectError with the status and URL', async () => {
    const server = await recordingServer(0, () => reject(401, 'who are you'));
    const { client, attempts, giveUps } = handle(`${server.url}chat?room=1`, { reconnect: { initialDelay: 10, jitter: 0 } });
    const outcome: any = await settled(client.start());
    const { cause, error } = await giveUps.next();
    expect(attempts.items.length).toBe(0);
    expect(server.requests.items.length).toBe(1);
    expect(outcome.rejected).toBe(error);
    expect(error).toBeInstanceOf(ReconnectError);
    expect(error).toBeInstanceOf(WsboltError);
    expect(error.code).toBe('ERR_RECONNECT_GAVE_UP');
    expect(error.status).toBe(401);
    expect(error.url).toBe(`${server.url}chat?room=1`);
    expect(error.message).toContain('401');
    expect(error.message).toContain(`${server.url}chat?room=1`);
    expect(error.cause).toBe(cause);
    expect((cause as any).status).toBe(401);
    expect(client.readyState).toBe(ReadyState.CLOSED);
  });

  it('403 and 404 stop too; 408, 429 and 503 are retried', async () => {
    for (const status of [403, 404]) {
      const server = await recordingServer(0, () => reject(status));
      const { client, attempts, giveUps } = handle(server.url, { reconnect: { initialDelay: 5, jitter: 0 } });
      await settled(client.start());
      expect((await giveUps.next()).error.status).toBe(status);
      expect(attempts.items.length).toBe(0);
    }
    for (const status of [408, 429, 503]) {
      const server = await recordingServer(0, () => reject(status));
      const { client, attempts, giveUps } = handle(server.url, { reconnect: { initialDelay: 5, factor: 1, jitter: 0, maxAttempts: 2 } });
      await settled(client.start());
      expect(attempts.items.map((a) => (a.cause as any).status)).toEqual([status, status]);
      const { error } = await giveUps.next();
      expect(error.status).toBe(status);
      expect(error.attempts).toBe(3);
    }
  });

  it('shouldRetry decides instead: here a 401 is retried (a token that may be renewed) and ECONNREFUSED is not', async () => {
    const server = await recordingServer(0, () => reject(401));
    const seen: [number, number][] = [];
    const { client, attempts, giveUps } = handle(server.url, {
      reconnect: {
        initialDelay: 5,
        factor: 1,
        jitter: 0,
        maxAttempts: 2,
        shouldRetry: (error, attempt) => {
          seen.push([(error as any).status, attempt]);
          return true;
        },
      },
    });
    await settled(client.start());
    expect(attempts.items.length).toBe(2);
    expect(seen).toEqual([
      [401, 1],
      [401, 2],
    ]);
    expect((await giveUps.next()).error.status).toBe(401);

    const port = await freePort();
    const refused = handle(`ws://${HOST}:${port}/`, { reconnect: { initialDelay: 5, shouldRetry: () => false } });
    const outcome: any = await settled(refused.client.start());
    expect(refused.attempts.items.length).toBe(0);
    expect(outcome.rejected.cause.code).toBe('ECONNREFUSED');
    expect(outcome.rejected.status).toBeUndefined();
  });
});

describe('reconnecting(): the handle before the first connection', () => {
  it('close() while the first handshake is under way cancels it: start() rejects, the socket is let go, open() never runs', async () => {
    const held = await rawServer(() => {});
    const { client, opens, giveUps } = handle(`ws://${HOST}:${held.port}/`, { reconnect: { initialDelay: 10 } });
    expect(client.readyState).toBe(ReadyState.CONNECTING);
    const started = client.start();
    const { socket } = await held.connections.next();
    const released = deferred();
    socket.on('close', () => released.resolve());
    client.close();
    const outcome: any = await settled(started);
    expect(outcome.rejected).toBeInstanceOf(ReconnectError);
    expect(outcome.rejected.code).toBe('ERR_RECONNECT_CLOSED');
    await withTimeout(released.promise, 5000, 'the handshake socket to be closed');
    expect(client.readyState).toBe(ReadyState.CLOSED);
    expect(opens.items.length).toBe(0);
    expect(giveUps.items.length).toBe(0); // the app closed it: not a give-up
  });

  it('close() during the wait before the second attempt: start() rejects at once', async () => {
    const port = await freePort();
    const { client, attempts } = handle(`ws://${HOST}:${port}/`, { reconnect: { initialDelay: 60_000, jitter: 0 } });
    const started = client.start();
    await attempts.next(); // waiting a minute
    client.close();
    const outcome: any = await settled(started);
    expect(outcome.rejected.code).toBe('ERR_RECONNECT_CLOSED');
  });

  it('an AbortSignal aborts the pending handshake; an already aborted one never connects', async () => {
    const held = await rawServer(() => {});
    const controller = new AbortController();
    const pending = reconnecting(`ws://${HOST}:${held.port}/`, { reconnect: { initialDelay: 10 }, signal: controller.signal });
    const { socket } = await held.connections.next();
    const released = deferred();
    socket.on('close', () => released.resolve());
    controller.abort();
    const outcome: any = await settled(pending);
    expect(outcome.rejected).toBeInstanceOf(ReconnectError);
    expect(outcome.rejected.code).toBe('ERR_RECONNECT_ABORTED');
    expect(outcome.rejected.name).toBe('AbortError');
    await withTimeout(released.promise, 5000, 'the handshake socket to be closed');

    const server = await recordingServer();
    const aborted: any = await settled(reconnecting(server.url, { reconnect: true, signal: AbortSignal.abort() }));
    expect(aborted.rejected.code).toBe('ERR_RECONNECT_ABORTED');
    expect(server.requests.items.length).toBe(0);
  });

  it('aborting an open client closes it for good (1000) and does not reconnect', async () => {
    const server = await recordingServer();
    const controller = new AbortController();
    const { client, closes, attempts } = handle(server.url, { reconnect: { initialDelay: 10 }, signal: controller.signal });
    await client.start();
    await server.peers.next();
    controller.abort();
    const closed = await closes.next();
    expect(closed.code).toBe(1000);
    expect(attempts.items.length).toBe(0);
    expect(client.readyState).toBe(ReadyState.CLOSED);
  });
});

describe('reconnecting(): beforeAttempt', () => {
  it('supplies a fresh URL and headers for every attempt (async), numbered like reconnecting()', async () => {
    const server = await recordingServer();
    const asked: number[] = [];
    const { client } = handle(server.url, {
      headers: { authorization: 'Bearer stale', 'x-app': 'kept' },
      reconnect: {
        initialDelay: 5,
        factor: 1,
        jitter: 0,
        beforeAttempt: async (attempt) => {
          asked.push(attempt);
          await Promise.resolve();
          return { url: `${server.url}?try=${attempt}`, headers: { authorization: `Bearer token-${attempt}` } };
        },
      },
    });
    await client.start();
    (await server.peers.next()).close(4000, 'again');
    await server.peers.next(5000);
    expect(server.requests.items).toEqual([
      { url: '/?try=0', authorization: 'Bearer token-0' },
      { url: '/?try=1', authorization: 'Bearer token-1' },
    ]);
    expect(asked).toEqual([0, 1]);
  });

  const revoked = Proxy.revocable({}, {});
  revoked.revoke();
  const failure = new Error('token service down');
  it.each([
    ['an Error', failure, failure],
    ['a value that cannot be looked at (a revoked Proxy)', revoked.proxy, null],
  ])('a beforeAttempt that throws %s counts as a failed attempt (retried with backoff)', async (_what, thrown, reported) => {
    const server = await recordingServer();
    let calls = 0;
    const { client, attempts } = handle(server.url, {
      reconnect: {
        initialDelay: 5,
        factor: 1,
        jitter: 0,
        beforeAttempt: () => {
          if (++calls === 1) throw thrown;
        },
      },
    });
    await withTimeout(client.start(), 5000, 'start()');
    const cause = attempts.items[0]!.cause;
    expect(cause).toBeInstanceOf(Error);
    if (reported) expect(cause).toBe(reported);
    expect(server.requests.items.length).toBe(1);
  });
});
