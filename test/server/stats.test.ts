/**
 * Counters: server.stats() and clientStats() after scripted exchanges, to the byte. Wire bytes count every frame
 * (headers, masks, control frames) after the handshake; compressed messages also count their payload on the wire
 * and their length uncompressed.
 */
import { describe, expect, it } from 'vitest';
import { type ConnectionStats, SendStatus, clientStats, connect, reject, type WebSocket } from '../../src/index.js';
import { RawClient, deferred, failure, startServer, useCleanup } from '../kit/index.js';

const defer = useCleanup();

/** What clientStats() gained since before (the client's counters are process-wide). */
function gained(before: ConnectionStats, after: ConnectionStats): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(after)) {
    if (typeof value === 'number') out[key] = value - (before[key as keyof ConnectionStats] as number);
  }
  return out;
}

const NOTHING_COMPRESSED = {
  compressedMessagesIn: 0,
  compressedBytesIn: 0,
  inflatedBytesIn: 0,
  compressedMessagesOut: 0,
  compressedBytesOut: 0,
  uncompressedBytesOut: 0,
};

describe('stats', () => {
  it('counts connections, messages, wire bytes, close codes and dropped sends on both sides', async () => {
    const serverClosed = deferred<SendStatus>();
    const server = await startServer(defer, {
      message: (ws, data, isBinary) => ws.send(data, { binary: isBinary }),
      close: (ws) => serverClosed.resolve(ws.send('too late')),
    });
    expect(server.stats()).toMatchObject({ connectionsOpen: 0, connectionsTotal: 0, messagesIn: 0, closeCodes: {} });
    const before = clientStats();
    const echoes: Buffer[] = [];
    const bothEchoed = deferred<void>();
    const clientClosed = deferred<void>();
    const client = await connect(`ws://127.0.0.1:${server.port}`, {
      perMessageDeflate: false,
      message(_ws, data) {
        echoes.push(data);
        if (echoes.length === 2) bothEchoed.resolve();
      },
      close: () => clientClosed.resolve(),
    });
    expect(server.stats().connectionsOpen).toBe(1);
    expect(clientStats().connectionsOpen - before.connectionsOpen).toBe(1);
    client.send('hello'); // 2 + 4 (mask) + 5 bytes
    client.send(Buffer.from([1, 2, 3])); // 2 + 4 + 3
    await bothEchoed.promise;
    client.close(1000, 'bye'); // 2 + 4 + 5; the server's echo of it: 2 + 5
    expect(await serverClosed.promise).toBe(SendStatus.DROPPED);
    await clientClosed.promise;

    expect(server.stats()).toEqual({
      connectionsOpen: 0,
      connectionsTotal: 1,
      messagesIn: 2,
      messagesOut: 2,
      bytesIn: 11 + 9 + 11,
      bytesOut: 7 + 5 + 7,
      ...NOTHING_COMPRESSED,
      backpressureEvents: 0,
      droppedSends: 1,
      closeCodes: { 1000: 1 },
      refusals: {},
    });
    const after = clientStats();
    expect(gained(before, after)).toEqual({
      connectionsOpen: 0,
      connectionsTotal: 1,
      messagesIn: 2,
      messagesOut: 2,
      bytesIn: 7 + 5 + 7,
      bytesOut: 11 + 9 + 11,
      ...NOTHING_COMPRESSED,
      backpressureEvents: 0,
      droppedSends: 0,
    });
    expect(after.closeCodes[1000]).toBe((before.closeCodes[1000] ?? 0) + 1);
  });

  it('counts compressed messages by their wire and their uncompressed length, the same on both ends of the wire', async () => {
    const server = await startServer(defer, { perMessageDeflate: true, message: (ws, data, isBinary) => ws.send(data, { binary: isBinary }) });
    const before = clientStats();
    const echoed = deferred<Buffer>();
    const client = await connect(`ws://127.0.0.1:${server.port}`, { message: (_ws, data) => echoed.resolve(data) });
    defer(() => client.terminate());
    expect(client.extensions).toMatch(/^permessage-deflate/);
    client.send('a'.repeat(2000));
    expect((await echoed.promise).length).toBe(2000);

    const stats = server.stats();
    const ofClient = gained(before, clientStats());
    expect(stats).toMatchObject({
      messagesIn: 1,
      messagesOut: 1,
      compressedMessagesIn: 1,
      inflatedBytesIn: 2000,
      compressedMessagesOut: 1,
      uncompressedBytesOut: 2000,
    });
    expect(stats.compressedBytesIn).toBeGreaterThan(0);
    expect(stats.compressedBytesIn).toBeLessThan(100);
    expect(stats.bytesIn).toBe(stats.compressedBytesIn + 2 + 4); // one short masked frame
    expect(stats.bytesOut).toBe(stats.compressedBytesOut + 2);
    expect(ofClient).toMatchObject({
      messagesIn: 1,
      messagesOut: 1,
      compressedMessagesOut: 1,
      uncompressedBytesOut: 2000,
      compressedBytesOut: stats.compressedBytesIn,
      compressedMessagesIn: 1,
      compressedBytesIn: stats.compressedBytesOut,
      inflatedBytesIn: 2000,
    });
  });

  it('counts admission refusals by reason, and backpressure once per episode', async () => {
    const opened = deferred<SendStatus[]>();
    const server = await startServer(defer, {
      path: '/ok',
      maxConnections: 1,
      upgrade: (req) => (req.query === 'deny' ? reject(403) : undefined),
      open(ws: WebSocket) {
        const big = Buffer.alloc(1024 * 1024);
        opened.resolve([ws.send(big), ws.send(big)]);
      },
    });
    const url = `ws://127.0.0.1:${server.port}`;
    await failure(() => connect(`${url}/nowhere`));
    await failure(() => connect(`${url}/ok?deny`));
    await failure(() => RawClient.connect(server.port, { path: '/ok', headers: { 'Sec-WebSocket-Version': '12' } }));
    const client = await connect(`${url}/ok`);
    defer(() => client.terminate());
    expect(await opened.promise).toEqual([SendStatus.BACKPRESSURE, SendStatus.BACKPRESSURE]);
    await failure(() => connect(`${url}/ok`));

    expect(server.stats()).toMatchObject({
      connectionsOpen: 1,
      connectionsTotal: 1,
      backpressureEvents: 1,
      refusals: { not_found: 1, rejected: 1, invalid_request: 1, too_many_connections: 1 },
    });
  });
});
