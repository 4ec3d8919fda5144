/**
 * No descriptor leaks (issue 17): after 10,000 connections ended in every way — a clean close from either side, a
 * peer reset, the close timeout, the idle timeout, terminate() and server shutdown — the process holds exactly the
 * descriptors it held before. Both ends are in this process: the server's connections and wsbolt clients go through
 * the transport of this project (the native one in `native`); raw sockets play the peers that misbehave.
 */
import * as fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { type Server, type WebSocket, connect, serve } from '../../src/index.js';
import { HOST, RawClient, expectedTransport, withTimeout } from '../kit/index.js';

const TOTAL = 10_000;
const BATCH = 200;
const openDescriptors = () => fs.readdirSync('/proc/self/fd').length;

type Way = 'client closes' | 'server closes' | 'peer resets' | 'close timeout' | 'idle timeout' | 'terminate' | 'server shutdown';

/** A server whose paths end each connection one way; resolves per batch once every server-side close has run. */
async function startServer(): Promise<{ server: Server; closed: (n: number) => Promise<void>; transports: Set<string> }> {
  let count = 0;
  let waiting: { n: number; resolve: () => void } | null = null;
  const transports = new Set<string>();
  const close = () => {
    count++;
    if (waiting && count >= waiting.n) waiting.resolve();
  };
  const open = (ws: WebSocket) => void transports.add(ws.transport);
  const server = await serve({
    host: HOST,
    port: 0,
    closeTimeout: 50,
    routes: {
      '/client-closes': { open, close },
      '/server-closes': { open: (ws) => (open(ws), ws.close(1000)), close },
      '/peer-resets': { open, close },
      '/close-timeout': { open: (ws) => (open(ws), ws.close(4000)), close },
      '/idle-timeout': { open, close, idleTimeout: 1000, sendPings: false },
      '/terminate': { open: (ws) => (open(ws), ws.terminate()), close },
      '/shutdown': { open, close },
    },
  });
  const closed = (n: number) => {
    const target = count + n;
    if (count >= target) return Promise.resolve();
    return withTimeout(new Promise<void>((resolve) => (waiting = { n: target, resolve })), 15_000, `${n} server-side closes`);
  };
  return { server, closed, transports };
}

/** Opens n connections ended one way, and waits until both ends of each are gone. */
async function batch(target: Awaited<ReturnType<typeof startServer>>, way: Way, n: number): Promise<void> {
  const { port } = target.server;
  const serverSide = target.closed(n);
  const url = (path: string) => `ws://${HOST}:${port}/${path}`;
  const clientSide: Promise<unknown>[] = [];
  for (let i = 0; i < n; i++) {
    clientSide.push(
      (async () => {
        switch (way) {
          case 'client closes': {
            let onClose!: (v: unknown) => void;
            const gone = new Promise((resolve) => (onClose = resolve));
            const ws = await connect(url('client-closes'), { close: () => onClose(null), perMessageDeflate: false });
            ws.close(1000);
            return gone;
          }
          case 'server closes':
          case 'terminate':
          case 'server shutdown': {
            let onClose!: (v: unknown) => void;
            const gone = new Promise((resolve) => (onClose = resolve));
            await connect(url(way === 'server closes' ? 'server-closes' : way === 'terminate' ? 'terminate' : 'shutdown'), {
              close: () => onClose(null),
              perMessageDeflate: false,
            });
            return gone;
          }
          case 'peer resets': {
            const raw = await RawClient.connect(port, { path: '/peer-resets' });
            raw.socket.resetAndDestroy();
            return raw.closed;
          }
          case 'close timeout':
          case 'idle timeout': {
            // Answers nothing: the server's timer has to end it.
            const raw = await RawClient.connect(port, { path: way === 'close timeout' ? '/close-timeout' : '/idle-timeout' });
            return raw.closed;
          }
        }
      })(),
    );
  }
  if (way === 'server shutdown') {
    // Every connection open first, then the server goes down with them.
    await withTimeout(waitOpen(target.server, n), 15_000, 'connections open before shutdown');
    await withTimeout(target.server.close({ timeout: 200 }), 15_000, 'server.close()');
  }
  await withTimeout(Promise.all(clientSide), 15_000, `${way}: client ends`);
  await serverSide;
}

async function waitOpen(server: Server, n: number): Promise<void> {
  while (server.connections.size < n) await new Promise((resolve) => setImmediate(resolve));
}

const WAYS: Way[] = ['client closes', 'server closes', 'peer resets', 'close timeout', 'terminate', 'server shutdown'];

describe.runIf(fs.existsSync('/proc/self/fd'))('descriptors', () => {
  it(`return to their baseline after ${TOTAL} connections ended in every way`, async () => {
    let target = await startServer();
    // A warm-up of each way: whatever the first use opens for good (the thread pool's, the loop's) is in the baseline.
    for (const way of WAYS) {
      await batch(target, way, 2);
      if (way === 'server shutdown') target = await startServer();
    }
    const baseline = openDescriptors();
    const seen = new Set<string>();
    // One batch on the idle timeout (idleTimeout: 1,000 ms); the rest spread over the other ways.
    await batch(target, 'idle timeout', BATCH);
    let done = BATCH;
    for (let round = 0; done < TOTAL; round++) {
      const way = WAYS[round % WAYS.length]!;
      const n = Math.min(BATCH, TOTAL - done);
      await batch(target, way, n);
      done += n;
      if (way === 'server shutdown') {
        for (const t of target.transports) seen.add(t);
        target = await startServer();
      }
    }
    for (const t of target.transports) seen.add(t);
    const after = openDescriptors(); // one listening server, as at the baseline
    await target.server.close({ timeout: 200 });
    expect([...seen]).toEqual([expectedTransport]);
    expect(after).toBe(baseline);
  }, 120_000);
});
