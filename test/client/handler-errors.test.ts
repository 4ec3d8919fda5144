/**
 * The client's callbacks (connect() and reconnecting()) that throw or reject:
 * only their connection ends (1011 to the server), the failure goes to
 * error(ws, err) or is printed, and the process and other clients carry on.
 */
import { format } from 'node:util';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { type ConnectOptions, type WebSocket, type WsboltError, connect, reconnecting } from '../../src/index.js';
import { cleanup, defer, freePort, HOST, Queue, withTimeout } from '../kit/index.js';
import { client, startOurs, startServer } from './util.js';

afterEach(cleanup);

const HOW = ['throws', 'rejects'] as const;
type How = (typeof HOW)[number];
type Report = { ws: WebSocket | null; error: WsboltError };

function fail(how: How, error: Error): unknown {
  if (how === 'throws') throw error;
  return (async () => {
    throw error;
  })();
}

let printed: ReturnType<typeof vi.spyOn> | null = null;
function spyOnPrinting() {
  printed = vi.spyOn(console, 'error').mockImplementation(() => {});
  return printed;
}
afterEach(() => {
  printed?.mockRestore();
  printed = null;
});

function expectHandlerError(error: WsboltError, thrown: Error, callback: string): void {
  expect(error.code).toBe('ERR_HANDLER_FAILED');
  expect(error.cause).toBe(thrown);
  expect((error as WsboltError & { callback: string }).callback).toBe(callback);
}

async function expectEchoes(ws: WebSocket, messages: Queue<{ data: Buffer; isBinary: boolean }>, text = 'still here'): Promise<void> {
  ws.send(text);
  expect((await messages.next(3000)).data.toString()).toBe(text);
}

type Name = 'open' | 'message' | 'ping' | 'pong' | 'drain';

/** A client whose `name` callback fails; how the test makes it run. */
function failing(name: Name, how: How, thrown: Error, reports: Queue<Report> | null): ConnectOptions {
  return {
    [name]: () => fail(how, thrown),
    ...(reports ? { error: (ws: WebSocket | null, error: WsboltError) => reports.push({ ws, error }) } : {}),
  };
}

async function trigger(name: Name, ws: WebSocket, peer: { send(d: string): void; ping(d: string): void }): Promise<void> {
  if (name === 'message') peer.send('hello');
  else if (name === 'ping') peer.ping('p');
  else if (name === 'pong')
    ws.ping('p'); // the server answers with a pong
  else if (name === 'drain') ws.send(Buffer.alloc(4 << 20)); // BACKPRESSURE: a drain is owed
}

describe.each(['open', 'message', 'ping', 'pong', 'drain'] as const)('a failing client %s callback', (name) => {
  it.each(HOW)('%s: the server gets 1011, error(ws, err) gets it, another client keeps echoing', async (how) => {
    const server = await startServer('wsbolt');
    const other = await client(server.url);
    await server.peers.next();
    const thrown = new Error(`boom in ${name}`);
    const reports = new Queue<Report>('error callback');
    const offender = await client(server.url, failing(name, how, thrown, reports));
    const peer = await server.peers.next();
    await trigger(name, offender.ws, peer);
    expect((await withTimeout(peer.closed, 5000, 'server sees the close')).code).toBe(1011);
    const report = await reports.next(3000);
    expect(report.ws).toBe(offender.ws);
    expectHandlerError(report.error, thrown, name);
    const closed = await offender.closes.next(5000);
    expect(closed).toMatchObject({ code: 1011, cause: { kind: 'handler_error', error: report.error } });
    await expectEchoes(other.ws, other.messages);
  });

  it.each(HOW)('%s without an error callback: printed once, with the stack of what was thrown', async (how) => {
    const print = spyOnPrinting();
    const server = await startServer('wsbolt');
    const thrown = new Error(`boom in ${name}`);
    const offender = await client(server.url, failing(name, how, thrown, null));
    const peer = await server.peers.next();
    await trigger(name, offender.ws, peer);
    expect((await withTimeout(peer.closed, 5000, 'server sees the close')).code).toBe(1011);
    expect(print).toHaveBeenCalledTimes(1);
    expectHandlerError(print.mock.calls[0]![0] as WsboltError, thrown, name);
    expect(format(...print.mock.calls[0]!)).toContain(thrown.stack!.split('\n')[1]!.trim());
  });
});

describe('a failing client close callback', () => {
  it.each(HOW)('%s: error(ws, err) gets it; nothing else happens', async (how) => {
    const server = await startServer('wsbolt');
    const thrown = new Error('boom in close');
    const reports = new Queue<Report>('error callback');
    const ws = await connect(server.url, { close: () => fail(how, thrown), error: (w, error) => reports.push({ ws: w, error }) });
    ws.close(1000);
    const report = await reports.next(5000);
    expect(report.ws).toBe(ws);
    expectHandlerError(report.error, thrown, 'close');
    expect(reports.pending).toBe(0);
  });
});

describe('reconnecting() with failing callbacks', () => {
  it('open throws on the first connection: it closes with 1011, the client comes back and opens again', async () => {
    const opened = new Queue<WebSocket>('server connection');
    const closes = new Queue<number>('server close');
    const server = await startOurs({ port: 0, open: (ws) => opened.push(ws), close: (_ws, code) => closes.push(code) });
    const thrown = new Error('boom in the first open');
    const reports = new Queue<Report>('error callback');
    let opens = 0;
    const started = reconnecting(`ws://${HOST}:${server.port}/`, {
      reconnect: { initialDelay: 10, jitter: 0 },
      open: () => {
        if (++opens === 1) throw thrown;
      },
      error: (ws, error) => reports.push({ ws, error }),
    });
    const rc = await withTimeout(started, 5000, 'start()');
    defer(() => rc.close());
    expectHandlerError((await reports.next(3000)).error, thrown, 'open');
    expect(await closes.next(5000)).toBe(1011);
    await opened.next(5000);
    await opened.next(5000); // the second connection
    await vi.waitFor(() => expect(opens).toBe(2), { timeout: 3000 });
  });

  it.each(HOW)('reconnecting %s: reported with ws null, and the client still comes back', async (how) => {
    const opened = new Queue<WebSocket>('server connection');
    const server = await startOurs({ port: 0, open: (ws) => opened.push(ws) });
    const thrown = new Error('boom in reconnecting');
    const reports = new Queue<Report>('error callback');
    const started = reconnecting(`ws://${HOST}:${server.port}/`, {
      reconnect: { initialDelay: 10, jitter: 0 },
      reconnecting: () => fail(how, thrown),
      error: (ws, error) => reports.push({ ws, error }),
    });
    const rc = await withTimeout(started, 5000, 'start()');
    defer(() => rc.close());
    (await opened.next(5000)).close(4000, 'come back');
    const report = await reports.next(3000);
    expect(report.ws).toBeNull();
    expectHandlerError(report.error, thrown, 'reconnecting');
    await opened.next(5000);
  });

  it.each(HOW)('giveUp %s without an error callback: printed once; start() still rejects', async (how) => {
    const print = spyOnPrinting();
    const thrown = new Error('boom in giveUp');
    const port = await freePort(); // nobody listens: every attempt fails at once
    const started = reconnecting(`ws://${HOST}:${port}/`, {
      reconnect: { initialDelay: 1, maxAttempts: 1, jitter: 0 },
      giveUp: () => fail(how, thrown),
    });
    await expect(withTimeout(started, 5000, 'start()')).rejects.toThrow();
    await vi.waitFor(() => expect(print).toHaveBeenCalledTimes(1), { timeout: 3000 });
    expectHandlerError(print.mock.calls[0]![0] as WsboltError, thrown, 'giveUp');
  });
});
