/**
 * A callback that throws or rejects ends only its own connection (1011 once
 * open, 500 from upgrade) and is reported to error(ws, err), or printed when
 * there is none: never the process, never the other connections.
 */
import { format } from 'node:util';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { type CloseCause, type Handler, type WebSocket, type WsboltError } from '../../src/index.js';
import {
  frame as encodeFrame,
  handshakeRequest,
  HOST,
  type OpenClient,
  Queue,
  rawConnect,
  rawHttp,
  startServer,
  useCleanup,
  withTimeout,
  wsConnect,
} from '../kit/index.js';

const defer = useCleanup();

type Data = { offender: boolean };
type Report = { ws: WebSocket<Data> | null; error: WsboltError };
const HOW = ['throws', 'rejects'] as const;
type How = (typeof HOW)[number];

/** What a failing callback does: throw, or return the promise of an async function that throws. */
function fail(how: How, error: Error): unknown {
  if (how === 'throws') throw error;
  return (async () => {
    throw error;
  })();
}

let printed: ReturnType<typeof vi.spyOn> | null = null;
/** console.error, silenced and recorded for this test. */
function spyOnPrinting() {
  printed = vi.spyOn(console, 'error').mockImplementation(() => {});
  return printed;
}
afterEach(() => {
  printed?.mockRestore();
  printed = null;
});

/**
 * An echo server ('flood' is answered with 4 MiB, which owes a drain) whose
 * `name` callback fails for connections opened at /offender; error reports
 * are queued when withErrorCallback.
 */
async function failingServer(name: keyof Handler<Data>, how: How, withErrorCallback: boolean, extra: Partial<Handler<Data>> = {}) {
  const thrown = new Error(`boom in ${name}`);
  const reports = new Queue<Report>();
  const closes = new Queue<{ offender: boolean; code: number; cause: CloseCause }>();
  const handler: Handler<Data> = {
    upgrade: (req) => ({ data: { offender: req.path === '/offender' } }),
    message(ws, data, isBinary) {
      if (data.toString() === 'flood') ws.send(Buffer.alloc(4 << 20));
      else ws.send(data, { binary: isBinary });
    },
    close: (ws, code, _reason, cause) => closes.push({ offender: ws.data?.offender ?? false, code, cause }),
    ...(withErrorCallback ? { error: (ws: WebSocket<Data> | null, error: WsboltError) => reports.push({ ws, error }) } : {}),
    ...extra,
  };
  const base = handler[name] as ((...args: unknown[]) => unknown) | undefined;
  (handler as Record<string, unknown>)[name] = function (this: unknown, first: { data?: Data; path?: string }, ...rest: unknown[]) {
    const offender = name === 'upgrade' ? first.path === '/offender' : first.data?.offender;
    if (offender) return fail(how, thrown);
    return base?.call(this, first, ...rest);
  };
  const server = await startServer<Data>(defer, handler);
  return { server, thrown, reports, closes, url: `ws://${HOST}:${server.port}` };
}

async function expectEchoes(client: OpenClient, text = 'still here'): Promise<void> {
  client.client.send(text);
  expect((await client.messages.next(3000, 'echo on the other connection')).data.toString()).toBe(text);
}

function expectHandlerError(error: WsboltError, thrown: Error, callback: string): void {
  expect(error.code).toBe('ERR_HANDLER_FAILED');
  expect(error.cause).toBe(thrown);
  expect((error as WsboltError & { callback: string }).callback).toBe(callback);
  expect(error.message).toContain(thrown.message);
}

/** What was printed shows where the callback failed: the thrown error's own stack. */
function expectPrintedWithStack(args: unknown[], thrown: Error): void {
  const text = format(...args);
  expect(text).toContain(thrown.stack!.split('\n')[1]!.trim());
}

/** Makes the offending connection run the callback under test. */
function trigger(name: string, offender: OpenClient): void {
  const client = offender.client as OpenClient['client'] & { pong(data?: string): void };
  if (name === 'message') client.send('hello');
  else if (name === 'ping') client.ping('p');
  else if (name === 'pong') client.pong('p');
  else if (name === 'drain') client.send('flood');
  // open: connecting was enough
}

describe.each(['open', 'message', 'ping', 'pong', 'drain'] as const)('a failing %s callback', (name) => {
  it.each(HOW)('%s: 1011 for its connection, error(ws, err) gets it, another connection keeps echoing', async (how) => {
    const s = await failingServer(name, how, true);
    const other = await wsConnect(defer, `${s.url}/`);
    const offender = await wsConnect(defer, `${s.url}/offender`);
    trigger(name, offender);
    expect((await withTimeout(offender.closed, 5000, 'offender closed')).code).toBe(1011);
    const report = await s.reports.next(3000, 'error callback');
    expect(report.ws?.data.offender).toBe(true);
    expectHandlerError(report.error, s.thrown, name);
    const closed = await s.closes.next(3000, 'close callback');
    expect(closed).toMatchObject({ offender: true, code: 1011, cause: { kind: 'handler_error', error: report.error } });
    await expectEchoes(other);
    expect(s.reports.pending).toBe(0);
  });

  it.each(HOW)('%s without an error callback: printed once with its stack; the other connection carries on', async (how) => {
    const print = spyOnPrinting();
    const s = await failingServer(name, how, false);
    const other = await wsConnect(defer, `${s.url}/`);
    const offender = await wsConnect(defer, `${s.url}/offender`);
    trigger(name, offender);
    expect((await withTimeout(offender.closed, 5000, 'offender closed')).code).toBe(1011);
    await expectEchoes(other);
    expect(print).toHaveBeenCalledTimes(1);
    const error = print.mock.calls[0]![0] as WsboltError;
    expectHandlerError(error, s.thrown, name);
    expectPrintedWithStack(print.mock.calls[0]!, s.thrown);
  });
});

describe('a failing close callback (the connection is already gone)', () => {
  it.each(HOW)('%s: error(ws, err) gets it; the other connection carries on', async (how) => {
    const s = await failingServer('close', how, true);
    const other = await wsConnect(defer, `${s.url}/`);
    const offender = await wsConnect(defer, `${s.url}/offender`);
    offender.client.close(1000, 'bye');
    expect((await withTimeout(offender.closed, 5000, 'offender closed')).code).toBe(1000);
    const report = await s.reports.next(3000, 'error callback');
    expect(report.ws?.data.offender).toBe(true);
    expectHandlerError(report.error, s.thrown, 'close');
    await expectEchoes(other);
    expect(s.server.connections.size).toBe(1);
  });

  it.each(HOW)('%s without an error callback: printed once', async (how) => {
    const print = spyOnPrinting();
    const s = await failingServer('close', how, false);
    const other = await wsConnect(defer, `${s.url}/`);
    const offender = await wsConnect(defer, `${s.url}/offender`);
    offender.client.close(1000, 'bye');
    await withTimeout(offender.closed, 5000, 'offender closed');
    await vi.waitFor(() => expect(print).toHaveBeenCalledTimes(1), { timeout: 3000 });
    expectHandlerError(print.mock.calls[0]![0] as WsboltError, s.thrown, 'close');
    await expectEchoes(other);
  });
});

describe('a failing error callback', () => {
  it.each(HOW)('%s on a protocol error: printed once; the peer still gets 1002; the other connection carries on', async (how) => {
    const print = spyOnPrinting();
    const s = await failingServer('error', how, false, { error: () => undefined });
    const other = await wsConnect(defer, `${s.url}/`);
    const offender = await rawConnect(defer, s.server.port, { path: '/offender' });
    offender.send({ opcode: 3, payload: 'reserved opcode' });
    const { frame } = await offender.nextOf(8);
    expect(frame.payload.readUInt16BE(0)).toBe(1002);
    await vi.waitFor(() => expect(print).toHaveBeenCalledTimes(1), { timeout: 3000 });
    expectHandlerError(print.mock.calls[0]![0] as WsboltError, s.thrown, 'error');
    await expectEchoes(other);
  });

  it.each(HOW)('%s while reporting a failed message callback: that failure is printed once, the connection gets 1011', async (how) => {
    const print = spyOnPrinting();
    const thrown = new Error('boom in error');
    const s = await failingServer('message', 'throws', false, { error: () => fail(how, thrown) });
    const other = await wsConnect(defer, `${s.url}/`);
    const offender = await wsConnect(defer, `${s.url}/offender`);
    offender.client.send('hello');
    expect((await withTimeout(offender.closed, 5000, 'offender closed')).code).toBe(1011);
    await expectEchoes(other);
    await vi.waitFor(() => expect(print).toHaveBeenCalledTimes(1), { timeout: 3000 });
    expectHandlerError(print.mock.calls[0]![0] as WsboltError, thrown, 'error');
  });
});

describe('a failing upgrade hook', () => {
  it.each(HOW)('%s: 500, error(null, err) gets it, another connection keeps echoing', async (how) => {
    const s = await failingServer('upgrade', how, true);
    const other = await wsConnect(defer, `${s.url}/`);
    const answer = await rawHttp(s.server.port, handshakeRequest('/offender'));
    expect(answer.status).toBe(500);
    const report = await s.reports.next(3000, 'error callback');
    expect(report.ws).toBeNull();
    expectHandlerError(report.error, s.thrown, 'upgrade');
    await expectEchoes(other);
  });

  it.each(HOW)('%s without an error callback: 500 and printed once', async (how) => {
    const print = spyOnPrinting();
    const s = await failingServer('upgrade', how, false);
    const answer = await rawHttp(s.server.port, handshakeRequest('/offender'));
    expect(answer.status).toBe(500);
    expect(print).toHaveBeenCalledTimes(1);
    expectHandlerError(print.mock.calls[0]![0] as WsboltError, s.thrown, 'upgrade');
  });

  it('a protocols function that throws: 500 and reported', async () => {
    const thrown = new Error('boom in protocols');
    const reports = new Queue<Report>();
    const server = await startServer<Data>(defer, {
      protocols: () => {
        throw thrown;
      },
      error: (ws, error) => reports.push({ ws: ws as WebSocket<Data> | null, error }),
    });
    const answer = await rawHttp(server.port, handshakeRequest('/', { 'Sec-WebSocket-Protocol': 'chat' }));
    expect(answer.status).toBe(500);
    const report = await reports.next(3000, 'error callback');
    expect(report.ws).toBeNull();
    expectHandlerError(report.error, thrown, 'protocols');
  });
});

describe('an upgrade hook whose result cannot be used', () => {
  const revoked = Proxy.revocable({}, {});
  revoked.revoke();
  const throwingHeaders = Object.defineProperty({}, 'x-token', {
    enumerable: true,
    get: () => {
      throw new Error('header getter');
    },
  });
  const results: [string, unknown][] = [
    ['a revoked Proxy', revoked.proxy],
    ['headers whose getter throws', { headers: throwingHeaders }],
    ['headers that are a revoked Proxy', { headers: revoked.proxy }],
    ['a header value with CR LF', { headers: { 'x-a': 'b\r\nSet-Cookie: stolen=1' } }],
    ['a rejection that is a revoked Proxy', { reject: revoked.proxy }],
    ['a rejection with a header value with CR LF', { reject: { status: 401, headers: { 'x-a': 'b\r\nx: y' } } }],
    ['a rejection with status 101', { reject: { status: 101 } }],
    ['a rejection with status "401"', { reject: { status: '401' } }],
    ['a protocol that is not a string', { protocol: 42 }],
  ];
  it.each(results)('%s: 500 with nothing of it on the wire, error(null, err) gets it, the server carries on', async (_what, result) => {
    const reports = new Queue<WsboltError>('error callback');
    const server = await startServer(defer, {
      upgrade: (req) => (req.path === '/offender' ? (result as never) : undefined),
      message: (ws, data) => ws.send(data),
      error: (_ws: WebSocket | null, error: WsboltError) => reports.push(error),
    });
    const answer = await rawHttp(server.port, handshakeRequest('/offender'));
    expect(answer.status).toBe(500);
    // The 500 carries none of the hook's headers, split or not.
    for (const name of ['x-a', 'x-token', 'set-cookie', 'x']) expect(answer.headers[name]).toBeUndefined();
    const error = await reports.next(3000);
    expect(error.code).toBe('ERR_HANDLER_FAILED');
    expect((error as WsboltError & { callback: string }).callback).toBe('upgrade');
    await expectEchoes(await wsConnect(defer, `ws://${HOST}:${server.port}/`));
  });
});

describe('the error option', () => {
  it('a route error callback takes the route’s failures; the server-level one is not called', async () => {
    const thrown = new Error('boom in a route');
    const routeReports = new Queue<Report>();
    const serverReports = new Queue<Report>();
    const server = await startServer(defer, {
      error: (ws, error) => serverReports.push({ ws: ws as WebSocket<Data> | null, error }),
      message: (ws, data) => void ws.send(data),
      routes: {
        '/echo': {},
        '/fragile': {
          message: () => {
            throw thrown;
          },
          error: (ws, error) => routeReports.push({ ws: ws as WebSocket<Data> | null, error }),
        },
      },
    });
    const other = await wsConnect(defer, `ws://${HOST}:${server.port}/echo`);
    const offender = await wsConnect(defer, `ws://${HOST}:${server.port}/fragile`);
    offender.client.send('hello');
    expect((await withTimeout(offender.closed, 5000, 'offender closed')).code).toBe(1011);
    expectHandlerError((await routeReports.next(3000, 'route error callback')).error, thrown, 'message');
    await expectEchoes(other);
    expect(serverReports.pending).toBe(0);
  });

  it('after a failed callback the connection gets no more message callbacks', async () => {
    const thrown = new Error('boom once');
    const seen: string[] = [];
    const reports = new Queue<Report>();
    const server = await startServer(defer, {
      message: (_ws, data) => {
        seen.push(data.toString());
        throw thrown;
      },
      error: (ws, error) => reports.push({ ws: ws as WebSocket<Data> | null, error }),
    });
    const offender = await rawConnect(defer, server.port);
    // Two messages in one write: the second is read in the same tick as the first.
    offender.socket.write(Buffer.concat([frameOf('one'), frameOf('two')]));
    const { frame } = await offender.nextOf(8);
    expect(frame.payload.readUInt16BE(0)).toBe(1011);
    await reports.next(3000, 'error callback');
    expect(seen).toEqual(['one']);
    expect(reports.pending).toBe(0);
  });
});

function frameOf(text: string): Buffer {
  return encodeFrame({ opcode: 1, payload: text, mask: true });
}

describe('a callback that throws a value that cannot even be looked at', () => {
  const revoked = Proxy.revocable({}, {});
  revoked.revoke();
  const values: [string, unknown][] = [
    ['a revoked Proxy (instanceof throws)', revoked.proxy],
    [
      'an Error whose message getter throws',
      Object.defineProperty(new Error('x'), 'message', {
        get: () => {
          throw new Error('getter');
        },
      }),
    ],
    [
      'an object whose toString throws',
      {
        toString: () => {
          throw new Error('toString');
        },
      },
    ],
  ];
  it.each(values)('%s: 1011 for its connection, error(ws, err) gets it as the cause, the server carries on', async (_what, value) => {
    const reports = new Queue<WsboltError>('error callback');
    const server = await startServer(defer, {
      message(ws, data) {
        if (data.toString() === 'fail') throw value;
        ws.send(data);
      },
      error: (_ws: WebSocket | null, error: WsboltError) => reports.push(error),
    });
    const offender = await wsConnect(defer, `ws://${HOST}:${server.port}/`);
    offender.client.send('fail');
    expect((await withTimeout(offender.closed, 5000, 'offender closed')).code).toBe(1011);
    const error = await reports.next(3000);
    expect(error.code).toBe('ERR_HANDLER_FAILED');
    expect(error.cause).toBe(value);
    await expectEchoes(await wsConnect(defer, `ws://${HOST}:${server.port}/`));
  });
});
