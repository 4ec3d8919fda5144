/**
 * redisAdapter() on its own (no WebSocket server): two adapters in this
 * process, a real redis-server, and a TCP proxy in front of one adapter so
 * that its path to Redis can be cut while the other stays connected. Checks
 * the buffering bound and the drop report, order after reconnection, own
 * messages ignored, starting before Redis exists, and close().
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { type RedisAdapter, type RedisAdapterStatus, redisAdapter } from '../../src/scale/redis.js';
import { freePort, Queue, useCleanup } from '../kit/index.js';
import { redisAvailability, startProxy, startRedis } from './util.js';

const defer = useCleanup();
const redis = redisAvailability();

interface Probe {
  adapter: RedisAdapter;
  received: Queue<{ topic: string; text: string; binary: boolean }>;
  errors: Queue<Error>;
  statuses: Queue<RedisAdapterStatus>;
}

function probe(url: string, options: Parameters<typeof redisAdapter>[0] = {}): Probe {
  const received = new Queue<{ topic: string; text: string; binary: boolean }>();
  const errors = new Queue<Error>();
  const statuses = new Queue<RedisAdapterStatus>();
  const adapter = redisAdapter({
    url,
    channelPrefix: 'unit:',
    retry: { initialDelay: 20, maxDelay: 200 },
    onError: (e) => errors.push(e),
    onStatus: (s) => statuses.push(s),
    ...options,
  });
  void adapter.start((topic, data, binary) => received.push({ topic, text: data.toString(), binary }));
  defer(() => adapter.close());
  return { adapter, received, errors, statuses };
}

const publish = (p: Probe, topic: string, text: string, binary = false) => p.adapter.publish(topic, Buffer.from(text), binary);

async function until(statuses: Queue<RedisAdapterStatus>, wanted: RedisAdapterStatus, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while ((await statuses.next(Math.max(1, deadline - Date.now()), `status ${wanted}`)) !== wanted);
}

if (redis.skip) console.warn(`test/scale/redis-adapter.test.ts skipped: ${redis.reason}`);

describe.skipIf(redis.skip)(`redisAdapter${redis.skip ? ` (skipped: ${redis.reason})` : ''}`, () => {
  beforeAll(() => {
    if (!redis.binary) throw new Error(`${redis.reason}; CI must install it`);
  });

  it('buffers publishes while its connection is cut (up to maxBuffered), reports the drops, sends the rest in order after', async () => {
    const server = await startRedis(defer, redis.binary!);
    const proxy = await startProxy(defer, server.port);
    const x = probe(`redis://127.0.0.1:${proxy.port}`, { maxBuffered: 3 });
    const y = probe(server.url);
    y.adapter.subscribe!('t');
    await Promise.all([x.adapter.ready(), y.adapter.flush()]);
    expect(x.adapter.status).toBe('ready');

    publish(x, 't', 'a');
    expect(await y.received.next()).toEqual({ topic: 't', text: 'a', binary: false });

    await proxy.cut();
    await until(x.statuses, 'down');
    // The publisher's reconnection attempts fail (so it knows it is down).
    while (!/publisher connection/.test((await x.errors.next(10_000, 'a publisher connection error')).message));
    for (let i = 1; i <= 5; i++) expect(() => publish(x, 't', `b${i}`)).not.toThrow();
    expect(x.adapter.stats).toMatchObject({ published: 6, buffered: 3, dropped: 2 });
    expect(x.errors.items.some((e) => /dropping further publishes/.test(e.message))).toBe(true);

    await proxy.restore();
    await until(x.statuses, 'ready');
    publish(x, 't', 'c');
    const got = await y.received.take(4, 10_000);
    expect(got.map((m) => m.text)).toEqual(['b1', 'b2', 'b3', 'c']);
    expect(x.adapter.stats).toMatchObject({ buffered: 0, dropped: 2 });
    // Not one of b4, b5 shows up later.
    publish(x, 't', 'end');
    expect((await y.received.next()).text).toBe('end');
  });

  it("ignores its own messages, delivers the others' with their binary flag, and stops at unsubscribe", async () => {
    const server = await startRedis(defer, redis.binary!);
    const x = probe(server.url);
    const y = probe(server.url);
    x.adapter.subscribe!('t');
    y.adapter.subscribe!('t');
    await Promise.all([x.adapter.flush(), y.adapter.flush()]);
    expect(x.adapter.id).not.toBe(y.adapter.id);

    publish(x, 't', 'from x', true);
    publish(y, 't', 'from y');
    expect(await y.received.next()).toEqual({ topic: 't', text: 'from x', binary: true });
    expect(await x.received.next()).toEqual({ topic: 't', text: 'from y', binary: false });
    await Promise.all([x.adapter.flush(), y.adapter.flush()]); // any echo would have arrived by now
    expect(x.received.pending + y.received.pending).toBe(0);

    y.adapter.unsubscribe!('t');
    y.adapter.subscribe!('u');
    await y.adapter.flush();
    publish(x, 't', 'missed');
    publish(x, 'u', 'seen');
    expect(await y.received.next()).toEqual({ topic: 'u', text: 'seen', binary: false });
    expect(y.received.pending).toBe(0);
    expect([...x.errors.items, ...y.errors.items]).toEqual([]);
  });

  it('subscriptions made before the connection is ready, or while it is cut, take effect once it is up', async () => {
    const server = await startRedis(defer, redis.binary!);
    const proxy = await startProxy(defer, server.port);
    const y = probe(server.url);
    // Subscribed while ioredis is loading, and while it is in its connection
    // handshake (the proxy holds Redis's replies back): ioredis would write a
    // SUBSCRIBE then, and its ready check would fail in subscriber mode.
    proxy.hold();
    const x = probe(`redis://127.0.0.1:${proxy.port}`);
    x.adapter.subscribe!('early');
    await proxy.talking(2);
    x.adapter.subscribe!('handshake');
    proxy.release();
    await Promise.all([x.adapter.flush(), y.adapter.ready()]);
    publish(y, 'early', 'e1');
    publish(y, 'handshake', 'h1');
    expect((await x.received.take(2, 10_000)).map((m) => m.text)).toEqual(['e1', 'h1']);

    // While cut: one topic gained, one lost.
    x.adapter.subscribe!('gone');
    await x.adapter.flush();
    await proxy.cut();
    await until(x.statuses, 'down');
    x.adapter.subscribe!('later');
    x.adapter.unsubscribe!('gone');
    await proxy.restore();
    await x.adapter.flush();
    for (const topic of ['gone', 'later', 'early']) publish(y, topic, `to ${topic}`);
    const got = await x.received.take(2, 10_000);
    expect(got.map((m) => m.text)).toEqual(['to later', 'to early']);
    await y.adapter.flush();
    await x.adapter.flush();
    expect(x.received.pending).toBe(0);
    expect(x.errors.items.filter((e) => /subscribe|subscriber mode/i.test(e.message))).toEqual([]);
  });

  it('starts without Redis: reports, buffers, connects when Redis appears', async () => {
    const port = await freePort();
    const x = probe(`redis://127.0.0.1:${port}`);
    publish(x, 't', 'early');
    expect(x.adapter.status).toBe('connecting');
    expect((await x.errors.next(10_000, 'a connection error')).message).toMatch(/ECONNREFUSED/);
    expect(x.adapter.stats.buffered).toBe(1);

    const server = await startRedis(defer, redis.binary!, port);
    const y = probe(server.url);
    y.adapter.subscribe!('t');
    await y.adapter.flush();
    await x.adapter.ready();
    publish(x, 't', 'late');
    // 'early' went out when x connected, maybe before y had subscribed.
    const texts: string[] = [];
    while (texts.at(-1) !== 'late') texts.push((await y.received.next()).text);
    expect(texts.filter((t) => t !== 'early')).toEqual(['late']);
  });

  it('close() ends both connections; publishing afterwards is a counted no-op', async () => {
    const server = await startRedis(defer, redis.binary!);
    const x = probe(server.url);
    await x.adapter.ready();
    await x.adapter.close();
    expect(x.adapter.status).toBe('closed');
    expect(() => publish(x, 't', 'after close')).not.toThrow();
    expect(x.adapter.stats.dropped).toBe(1);
    await expect(x.adapter.ready()).rejects.toThrow(/closed/);
    expect(x.errors.items).toEqual([]);
  });
});
