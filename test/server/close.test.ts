/** Ending connections: closing handshakes from either side, terminate, abrupt ends, protocol errors, the close timeout. */
import { describe, expect, it } from 'vitest';
import { type CloseCause, ReadyState, SendStatus, type WebSocket } from '../../src/index.js';
import { closePayload, deferred, frame, HOST, rawConnect, startServer, useCleanup, withTimeout, wsConnect } from '../kit/index.js';

const defer = useCleanup();

interface Closed {
  code: number;
  reason: string;
  cause: CloseCause;
  readyState: number;
  calls: number;
}

/** A server whose close callback resolves `closed` (and counts its calls); open runs onOpen. */
async function closeServer(options: Record<string, unknown> = {}, onOpen?: (ws: WebSocket) => void) {
  const closed = deferred<Closed>();
  let calls = 0;
  const opened = deferred<WebSocket>();
  const server = await startServer(defer, {
    ...options,
    open: (ws: WebSocket) => {
      opened.resolve(ws);
      onOpen?.(ws);
    },
    close: (ws: WebSocket, code: number, reason: string, cause: CloseCause) => {
      calls++;
      closed.resolve({ code, reason, cause, readyState: ws.readyState, calls });
    },
  });
  return {
    server,
    opened: opened.promise,
    /** The close callback's report, awaited with a bound. */
    get closed() {
      return withTimeout(closed.promise, 5000, 'server close callback');
    },
    calls: () => calls,
  };
}

describe('closed by the client', () => {
  it('server sees cause remote with the client code and reason; the client gets its code echoed', async () => {
    const s = await closeServer();
    const c = await wsConnect(defer, `ws://${HOST}:${s.server.port}/`);
    c.client.close(4001, 'client bye');
    const closed = await s.closed;
    expect(closed).toMatchObject({ code: 4001, reason: 'client bye', cause: { kind: 'remote' }, readyState: ReadyState.CLOSED });
    expect((await withTimeout(c.closed, 3000, 'client close')).code).toBe(4001);
    expect(s.server.connections.size).toBe(0);
    expect(s.calls()).toBe(1);
  });

  it('a close without a code is reported as 1005 and answered without a code', async () => {
    const s = await closeServer();
    const raw = await rawConnect(defer, s.server.port);
    raw.sendClose();
    const f = await raw.frames.next();
    expect(f.opcode).toBe(8);
    expect(f.payload.length).toBe(0);
    expect(await s.closed).toMatchObject({ code: 1005, reason: '', cause: { kind: 'remote' } });
  });

  it('the server echoes the code and closes TCP first', async () => {
    const s = await closeServer();
    const raw = await rawConnect(defer, s.server.port);
    raw.sendClose(1000, 'bye');
    const f = await raw.frames.next();
    expect([f.opcode, f.masked]).toEqual([8, false]);
    expect(closePayload(f.payload).code).toBe(1000);
    // The raw client never ends its side: the server must.
    await withTimeout(raw.ended, 3000, 'server closing TCP');
    expect((await s.closed).cause.kind).toBe('remote');
  });
});

describe('closed by the server', () => {
  it('ws.close(4000, "bye"): the client sees 4000/bye, the server cause local', async () => {
    const states: number[] = [];
    const s = await closeServer({}, (ws) => {
      ws.close(4000, 'bye');
      states.push(ws.readyState, ws.send('after close'));
      ws.close(4999, 'again'); // a second close does nothing
    });
    const c = await wsConnect(defer, `ws://${HOST}:${s.server.port}/`);
    expect(await withTimeout(c.closed, 3000, 'client close')).toEqual({ code: 4000, reason: 'bye' });
    expect(await s.closed).toMatchObject({ code: 4000, reason: 'bye', cause: { kind: 'local' }, readyState: ReadyState.CLOSED, calls: 1 });
    expect(states).toEqual([ReadyState.CLOSING, SendStatus.DROPPED]);
  });

  it('ws.close() refuses codes that may not be sent and reasons over 123 bytes', async () => {
    const errors: unknown[] = [];
    const s = await closeServer({}, (ws) => {
      for (const args of [[1005], [1006], [999], [5000], [1000, 'x'.repeat(124)]] as [number, string?][]) {
        try {
          ws.close(...args);
          errors.push(null);
        } catch (error) {
          errors.push((error as { code?: string }).code);
        }
      }
      ws.close(1000, 'x'.repeat(123));
    });
    const c = await wsConnect(defer, `ws://${HOST}:${s.server.port}/`);
    expect((await withTimeout(c.closed)).reason).toHaveLength(123);
    expect(errors).toEqual([
      'ERR_INVALID_CLOSE_CODE',
      'ERR_INVALID_CLOSE_CODE',
      'ERR_INVALID_CLOSE_CODE',
      'ERR_INVALID_CLOSE_CODE',
      'ERR_CLOSE_REASON_TOO_LONG',
    ]);
  });

  it('ws.terminate(): the client sees 1006, the server cause local', async () => {
    const s = await closeServer({}, (ws) => ws.terminate());
    const c = await wsConnect(defer, `ws://${HOST}:${s.server.port}/`);
    expect((await withTimeout(c.closed)).code).toBe(1006);
    expect(await s.closed).toMatchObject({ code: 1006, cause: { kind: 'local' }, calls: 1 });
  });
});

describe('ended without a closing handshake', () => {
  it('terminate() inside the message callback stops delivery of the frames that followed', async () => {
    const messages: string[] = [];
    const s = await closeServer({
      message: (ws: WebSocket, data: Buffer) => {
        messages.push(data.toString());
        ws.terminate();
      },
    });
    const raw = await rawConnect(defer, s.server.port);
    raw.socket.write(Buffer.concat(['one', 'two', 'three'].map((t) => frame({ opcode: 1, payload: t, mask: true }))));
    expect(await s.closed).toMatchObject({ code: 1006, cause: { kind: 'local' } });
    expect(messages).toEqual(['one']);
  });

  it('the client drops its socket: cause abrupt, code 1006', async () => {
    const s = await closeServer();
    const c = await wsConnect(defer, `ws://${HOST}:${s.server.port}/`);
    await s.opened;
    c.client.terminate();
    expect(await s.closed).toMatchObject({ code: 1006, reason: '', cause: { kind: 'abrupt' }, calls: 1 });
    expect(s.server.connections.size).toBe(0);
  });

  it('the client half-closes (FIN) without a close frame: cause abrupt', async () => {
    const s = await closeServer();
    const raw = await rawConnect(defer, s.server.port);
    await s.opened;
    raw.socket.end();
    expect(await s.closed).toMatchObject({ code: 1006, cause: { kind: 'abrupt' } });
    await withTimeout(raw.closed, 3000, 'socket closed');
  });
});

describe('protocol errors', () => {
  it('an unmasked frame from the client: close frame 1002 to the client, cause protocol_error WS_ERR_EXPECTED_MASK', async () => {
    const s = await closeServer();
    const raw = await rawConnect(defer, s.server.port);
    raw.send({ opcode: 1, payload: 'not masked', mask: false });
    const f = await raw.frames.next();
    expect(f.opcode).toBe(8);
    expect(closePayload(f.payload).code).toBe(1002);
    const closed = await s.closed;
    expect(closed.code).toBe(1002);
    expect(closed.cause.kind).toBe('protocol_error');
    expect(closed.cause.error).toMatchObject({ code: 'WS_ERR_EXPECTED_MASK', closeCode: 1002 });
    await withTimeout(raw.ended, 3000, 'server closing TCP');
  });

  it('a reserved opcode: 1002 and WS_ERR_INVALID_OPCODE', async () => {
    const s = await closeServer();
    const raw = await rawConnect(defer, s.server.port);
    raw.send({ opcode: 3, payload: 'x' });
    const f = await raw.frames.next();
    expect(closePayload(f.payload).code).toBe(1002);
    expect((await s.closed).cause.error).toMatchObject({ code: 'WS_ERR_INVALID_OPCODE' });
  });

  it('nothing is delivered after the failure', async () => {
    const messages: string[] = [];
    const s = await closeServer({ message: (_ws: WebSocket, data: Buffer) => messages.push(data.toString()) });
    const raw = await rawConnect(defer, s.server.port);
    raw.sendText('before');
    raw.send({ opcode: 1, payload: 'bad', mask: false });
    raw.sendText('after');
    await s.closed;
    expect(messages).toEqual(['before']);
  });
});

describe('close timeout', () => {
  it('a peer that never answers the close frame is dropped after closeTimeout with cause timeout', async () => {
    let sentAt = 0;
    const s = await closeServer({ closeTimeout: 200 }, (ws) => {
      sentAt = Date.now();
      ws.close(1000, 'please answer');
    });
    const raw = await rawConnect(defer, s.server.port);
    const f = await raw.frames.next();
    expect(closePayload(f.payload)).toEqual({ code: 1000, reason: 'please answer' });
    await withTimeout(raw.closed, 3000, 'socket destroyed');
    const closed = await s.closed;
    const elapsed = Date.now() - sentAt;
    expect(closed.cause.kind).toBe('timeout');
    expect(closed.code).toBe(1006);
    expect(elapsed).toBeGreaterThanOrEqual(190);
    expect(elapsed).toBeLessThan(2000);
  });

  it('an answer before closeTimeout means no timeout', async () => {
    const s = await closeServer({ closeTimeout: 200 }, (ws) => ws.close(1000));
    const raw = await rawConnect(defer, s.server.port);
    await raw.frames.next();
    raw.sendClose(1000);
    const closed = await s.closed;
    expect(closed.cause.kind).toBe('local');
    expect(closed.code).toBe(1000);
  });
});
