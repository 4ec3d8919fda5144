/**
 * Resource attacks against a wsbolt server in a child process: a subscriber
 * that never reads while a topic is broadcast to, and thousands of idle
 * connections. Each test checks that an honest client's echo round trip
 * stays under RTT_BOUND_MS and that the server's memory stays bounded.
 */
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import WsClient from 'ws';
import { HOST, type RawClient, useCleanup, withTimeout } from '../kit/index.js';
import { fdLimit, MiB, upgrade, prober, rssBound, RTT_BOUND_MS, ServerChild, summarize } from './util.js';

const defer = useCleanup();

describe('a subscriber that never reads', () => {
  it('broadcasts: its buffer stops at maxBackpressure, publish reports fewer deliveries, every counted delivery arrives', async () => {
    const MAX_BACKPRESSURE = MiB;
    const SIZE = 64 * 1024;
    const COUNT = 400; // 25 MiB per subscriber: far more than the socket buffers of a stalled peer hold
    const READERS = 4;
    const server = await ServerChild.start({ topic: 'news', subscribePath: '/sub', maxBackpressure: MAX_BACKPRESSURE }, defer);
    const probe = await prober(server.port, defer); // on "/": not subscribed
    const before = await server.mem(true);
    await server.request('reset');

    // Readers read as fast as this (shared, loaded) process lets them: they may lag and miss some too.
    const received: number[] = Array(READERS).fill(0);
    const progress = new EventEmitter();
    for (let i = 0; i < READERS; i++) {
      const c = new WsClient(`ws://${HOST}:${server.port}/sub`);
      c.on('error', () => {});
      c.on('message', (data: Buffer) => {
        if (data.length === SIZE) received[i]!++;
        progress.emit('message');
      });
      await withTimeout(new Promise((resolve, reject) => c.once('open', resolve).once('error', reject)), 10_000, 'subscriber open');
      defer(() => c.terminate());
    }
    const slow = await upgrade(server.port, { path: '/sub' });
    defer(() => slow.destroy());
    slow.socket.pause();
    const subscribers = READERS + 1;

    const publishing = server.request<{ reached: number[] }>('publish', { topic: 'news', size: SIZE, count: COUNT }, 60_000);
    const rtt = summarize(await probe.during(publishing));
    const { reached } = await publishing;
    const mem = await server.mem();
    const { amounts } = await server.request<{ amounts: number[] }>('buffered');
    const short = reached.filter((r) => r < subscribers).length;
    const delivered = reached.reduce((a, b) => a + b, 0);
    console.log(
      `broadcast: ${COUNT} x ${SIZE / 1024} KiB to ${subscribers} subscribers; ${short} publishes reached fewer, ${delivered} deliveries counted; bufferedAmount peak ${(mem.peakBuffered / MiB).toFixed(2)} MiB, max now ${(Math.max(...amounts) / MiB).toFixed(2)} MiB; rtt ${JSON.stringify(rtt)}; rss ${(before.rss / MiB).toFixed(1)} -> peak ${(mem.peakRss / MiB).toFixed(1)} MiB`,
    );
    expect(short, 'publishes that skipped a lagging subscriber').toBeGreaterThan(0);
    expect(mem.peakBuffered, 'bufferedAmount of any connection').toBeLessThanOrEqual(MAX_BACKPRESSURE + SIZE + 16);
    expect(mem.peakRss - before.rss, 'server RSS growth').toBeLessThan(rssBound(64 * MiB));
    expect(rtt.max, 'honest echo round trip (ms)').toBeLessThan(RTT_BOUND_MS);

    // Accounting: every delivery publish() counted arrives (the stalled peer's once it reads), and no other.
    const slowGot = () => slow.frames.items.filter((f) => f.opcode === 2).length;
    const total = () => received.reduce((a, b) => a + b, 0) + slowGot();
    const arrived = new Promise<void>((resolve) => {
      const check = () => {
        if (total() < delivered) return;
        progress.off('message', check);
        slow.socket.off('data', onSlowData);
        resolve();
      };
      const onSlowData = () => setImmediate(check); // after RawClient has parsed the chunk
      progress.on('message', check);
      slow.socket.on('data', onSlowData);
      check();
    });
    slow.socket.resume();
    await withTimeout(arrived, 30_000, `deliveries (readers ${received}, stalled ${slowGot()}, counted ${delivered})`).catch(() => {});
    console.log(`broadcast deliveries: readers ${received}, stalled subscriber ${slowGot()} of ${COUNT}`);
    expect(total(), 'messages received = deliveries publish() reported').toBe(delivered);
    expect(slowGot()).toBeLessThan(COUNT);
  }, 120_000);
});

describe('many idle connections', () => {
  it('thousands stay open; the server still answers at once; memory per connection is small', async () => {
    const limit = fdLimit();
    // Each connection costs one descriptor here and one in the server child.
    const N = Math.min(Number(process.env.ADVERSARIAL_IDLE ?? 5000), limit - 500);
    expect(N, `ulimit -n is ${limit}: too low for this test`).toBeGreaterThanOrEqual(1000);
    const server = await ServerChild.start({}, defer);
    const probe = await prober(server.port, defer);
    const before = await server.mem(true);
    const sockets: RawClient[] = [];
    defer(() => {
      for (const s of sockets) s.destroy();
    });
    const opening = (async () => {
      const BATCH = 200;
      for (let i = 0; i < N; i += BATCH) {
        const batch = await Promise.all(Array.from({ length: Math.min(BATCH, N - i) }, () => upgrade(server.port)));
        sockets.push(...batch);
      }
    })();
    const rttOpening = summarize(await probe.during(opening));
    await opening;
    const stats = await server.until({ connections: N + 1 }, 30_000, 'every connection open');
    const after = await server.mem(true);
    const rtts: number[] = [];
    for (let i = 0; i < 20; i++) rtts.push(await probe.rtt());
    const rttIdle = summarize(rtts);
    const perConnection = (after.rss - before.rss) / N;
    console.log(
      `idle x${N} (ulimit ${limit}): rss ${(before.rss / MiB).toFixed(1)} -> ${(after.rss / MiB).toFixed(1)} MiB (${(perConnection / 1024).toFixed(1)} KiB per connection, heap ${(after.heapUsed / MiB).toFixed(1)} MiB); rtt while opening ${JSON.stringify(rttOpening)}, idle ${JSON.stringify(rttIdle)}`,
    );
    expect(stats.connections).toBe(N + 1);
    expect(sockets.every((s) => !s.isEnded)).toBe(true);
    expect(rttIdle.max, 'echo round trip with every connection idle (ms)').toBeLessThan(RTT_BOUND_MS);
    expect(rttOpening.max, 'echo round trip while connections open (ms)').toBeLessThan(RTT_BOUND_MS);
    expect(perConnection, 'server RSS per idle connection (bytes)').toBeLessThan(rssBound(32 * 1024));

    for (const s of sockets) s.destroy();
    await server.until({ connections: 1 }, 30_000, 'connections gone');
  }, 180_000);
});
