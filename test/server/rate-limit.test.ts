/**
 * rateLimit: what costs the server work is counted, not only data messages.
 * Every frame (control frames and fragments included) takes from the frame
 * budget, every received byte from the byte budget; a peer over either is
 * closed with 1008 and nothing more of its input reaches the handler.
 * Traffic under the limits is untouched.
 */
import { describe, expect, it } from 'vitest';
import type { CloseCause } from '../../src/index.js';
import { closePayload, deferred, frame as encode, type FrameSpec, type RawClient, rawConnect, startServer, useCleanup, wsConnect } from '../kit/index.js';

const defer = useCleanup();

interface Seen {
  messages: number;
  pings: number;
  closed: Promise<{ code: number; cause: CloseCause['kind'] }>;
}

async function rateLimited(rateLimit: { messagesPerSecond?: number; framesPerSecond?: number; bytesPerSecond?: number }) {
  const closed = deferred<{ code: number; cause: CloseCause['kind'] }>();
  const seen: Seen = { messages: 0, pings: 0, closed: closed.promise };
  const server = await startServer(defer, {
    rateLimit,
    message(ws, data, isBinary) {
      seen.messages++;
      ws.send(data, { binary: isBinary });
    },
    ping() {
      seen.pings++;
    },
    close(_ws, code, _reason, cause) {
      closed.resolve({ code, cause: cause.kind });
    },
  });
  return { server, seen };
}

/** The server's close frame (skipping pongs and echoes), as code and reason. */
async function closeFrom(raw: RawClient): Promise<{ code: number; reason: string }> {
  const { frame } = await raw.nextOf(8, 3000);
  return closePayload(frame.payload);
}

const pings = (n: number) => Buffer.concat(Array.from({ length: n }, () => frameOf({ opcode: 9, payload: Buffer.alloc(125, 0x70) })));

const frameOf = (spec: FrameSpec) => encode({ mask: true, ...spec });

/** A text message of n one-byte fragments. */
const fragmented = (n: number) => Buffer.concat(Array.from({ length: n }, (_, i) => frameOf({ opcode: i === 0 ? 1 : 0, payload: 'x', fin: i === n - 1 })));

describe('rateLimit counts frames and bytes', () => {
  it('a ping flood over messagesPerSecond (the frame budget by default) is closed with 1008', async () => {
    const { server, seen } = await rateLimited({ messagesPerSecond: 20 });
    const raw = await rawConnect(defer, server.port);
    raw.socket.write(pings(200));
    expect(await closeFrom(raw)).toEqual({ code: 1008, reason: 'rate limit exceeded' });
    raw.sendClose(1008); // echoing the code, as a peer does
    expect(await seen.closed).toEqual({ code: 1008, cause: 'local' });
    // The handler saw about one second's budget of pings, not the flood.
    expect(seen.pings).toBeLessThanOrEqual(21);
  });

  it('a message of 1000 fragments over the frame budget is closed with 1008 and never delivered', async () => {
    const { server, seen } = await rateLimited({ messagesPerSecond: 20 });
    const raw = await rawConnect(defer, server.port);
    raw.socket.write(fragmented(1000));
    expect(await closeFrom(raw)).toEqual({ code: 1008, reason: 'rate limit exceeded' });
    raw.sendClose(1008); // echoing the code, as a peer does
    expect(await seen.closed).toEqual({ code: 1008, cause: 'local' });
    expect(seen.messages).toBe(0);
  });

  it('bytesPerSecond counts control frames too: 100 pings of 125 bytes over 4 KB/s get 1008', async () => {
    const { server, seen } = await rateLimited({ bytesPerSecond: 4000 });
    const raw = await rawConnect(defer, server.port);
    raw.socket.write(pings(100));
    expect(await closeFrom(raw)).toEqual({ code: 1008, reason: 'rate limit exceeded' });
    raw.sendClose(1008); // echoing the code, as a peer does
    expect(await seen.closed).toEqual({ code: 1008, cause: 'local' });
  });

  it('framesPerSecond set apart from messagesPerSecond: a fragmented message within it is delivered', async () => {
    const { server, seen } = await rateLimited({ messagesPerSecond: 5, framesPerSecond: 500 });
    const raw = await rawConnect(defer, server.port);
    raw.socket.write(fragmented(100));
    const echo = await raw.nextOf(1);
    expect(echo.frame.payload.toString()).toBe('x'.repeat(100));
    expect(seen.messages).toBe(1);
  });

  it('traffic under the limits is untouched: messages echoed, pings answered, no close', async () => {
    const { server, seen } = await rateLimited({ messagesPerSecond: 50, bytesPerSecond: 100_000 });
    const client = await wsConnect(defer, `ws://127.0.0.1:${server.port}/`);
    const pongs: Buffer[] = [];
    client.client.on('pong', (data: Buffer) => pongs.push(data));
    for (let i = 0; i < 10; i++) client.client.send(`message ${i}`);
    for (let i = 0; i < 5; i++) client.client.ping(`ping ${i}`);
    const echoed = await client.messages.take(10);
    expect(echoed.map((m) => m.data.toString())).toEqual(Array.from({ length: 10 }, (_, i) => `message ${i}`));
    // One more round trip: every pong sent before its echo has arrived by then.
    client.client.send('last');
    await client.messages.next();
    expect(pongs.map(String)).toEqual(Array.from({ length: 5 }, (_, i) => `ping ${i}`));
    expect(seen.pings).toBe(5);
    expect(client.client.readyState).toBe(1);
  });
});
