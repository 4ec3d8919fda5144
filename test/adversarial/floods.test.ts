/**
 * Floods from a peer that never reads, through both server APIs: serve()
 * (the handler API) and a `wsbolt/ws` WebSocketServer. Whatever queues the
 * output (automatic pongs, an echoing listener), the engine stops reading
 * from the peer once its outgoing buffer passes the backpressure limit, so
 * the server's memory stays bounded, and it reads again once the peer does.
 * One exception follows ws: a wsbolt/ws server whose automatic pongs pile
 * up past maxPendingAutoPongs (60) terminates the peer, as ws does.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { clientFrame, type RawClient, useCleanup, withTimeout } from '../kit/index.js';
import { MiB, prober, upgrade, rssBound, RTT_BOUND_MS, ServerChild } from './util.js';

const defer = useCleanup();
/** The engine's default maxBackpressure, which wsbolt/ws pauses reading at too. */
const LIMIT = 16 * MiB;
/** What the attacker sends at most: far above anything the server may keep. */
const FLOOD_BYTES = 200 * MiB;

const APIS = [
  { api: 'serve()', options: {} },
  { api: 'wsbolt/ws', options: { wsApi: true } },
];

const FLOODS = [
  // 125-byte pings, each answered by an automatic pong.
  { kind: 'pings', batch: () => Buffer.concat(Array.from({ length: 1000 }, () => clientFrame(9, randomBytes(125)))), echoes: 10 },
  // 16 KiB binary messages, each echoed by the server's message handler or listener.
  { kind: 'echoed messages', batch: () => Buffer.concat(Array.from({ length: 8 }, () => clientFrame(2, randomBytes(16 * 1024)))), echoes: 2 },
];

/**
 * Writes the batch again and again until the server pauses the connection,
 * our writes stall (the server stopped reading), or FLOOD_BYTES are sent.
 */
async function flood(server: ServerChild, raw: RawClient, batch: Buffer): Promise<{ sent: number; how: string }> {
  let paused = false;
  let wake = () => {};
  const onPaused = () => {
    paused = true;
    wake();
  };
  server.once('paused', onPaused);
  let sent = 0;
  try {
    while (sent < FLOOD_BYTES) {
      if (paused) return { sent, how: 'server paused reading' };
      if (raw.isClosed || raw.isEnded) return { sent, how: 'server closed' };
      sent += batch.length;
      if (!raw.write(batch)) {
        const drained = await withTimeout(
          new Promise((resolve) => {
            wake = () => resolve(true);
            raw.socket.once('drain', resolve);
          }),
          3000,
          'drain',
        ).catch(() => null);
        if (drained === null) return { sent, how: paused ? 'server paused reading' : 'writes stalled' };
      }
    }
    return { sent, how: 'all sent' };
  } finally {
    server.off('paused', onPaused);
  }
}

describe('floods from a peer that does not read', () => {
  for (const { api, options } of APIS) {
    for (const { kind, batch, echoes } of FLOODS) {
      it(`${api}, ${kind}: the server stops reading near the backpressure limit, RSS stays bounded, reading resumes`, async () => {
        const server = await ServerChild.start(options, defer);
        const probe = await prober(server.port, defer);
        const before = await server.mem(true);
        await server.request('reset');
        const raw = await upgrade(server.port);
        defer(() => raw.destroy());
        raw.socket.pause(); // never read what the server sends

        const { sent, how } = await flood(server, raw, batch());
        const mem = await server.mem();
        console.log(
          `${api} ${kind} flood: ${(sent / MiB).toFixed(0)} MiB sent (${how}); server bufferedAmount peak ${(mem.peakBuffered / MiB).toFixed(1)} MiB; rss ${(before.rss / MiB).toFixed(1)} -> peak ${(mem.peakRss / MiB).toFixed(1)} MiB (+${((mem.peakRss - before.rss) / MiB).toFixed(1)})`,
        );
        expect(mem.peakRss - before.rss, 'server RSS growth').toBeLessThan(rssBound(64 * MiB));
        expect(sent, 'bytes the server read before it stopped').toBeLessThan(FLOOD_BYTES);
        expect(mem.peakBuffered, 'server bufferedAmount').toBeLessThan(LIMIT + MiB);
        // Only the flooding connection is paused: others are still answered.
        expect(await probe.rtt()).toBeLessThan(RTT_BOUND_MS);

        if (api === 'wsbolt/ws' && kind === 'pings') {
          // As ws: more than maxPendingAutoPongs pongs waiting to be written costs the peer its connection.
          await raw.waitFor(() => raw.isClosed || raw.isEnded, 20_000, 'the flooding peer terminated');
          expect(server.alive).toBe(true);
          return;
        }
        // The peer reads again: the server answers the rest.
        const framesBefore = raw.frames.items.length;
        raw.socket.resume();
        await raw.waitFor(() => raw.frames.items.length > framesBefore + echoes * 100, 20_000, 'answers after the peer reads again');
        expect(server.alive).toBe(true);
      }, 90_000);
    }
  }
});
