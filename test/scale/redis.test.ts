/**
 * redisAdapter() between two server processes (the built package,
 * test/scale/fixtures/redis-node.cjs) through a real redis-server started for
 * each test: delivery across processes, order per publisher, binary
 * payloads, no double delivery, and surviving a Redis crash and restart.
 */
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { type Child, HOST, start, useCleanup } from '../kit/index.js';
import { FIXTURES, type Peer, peer, redisAvailability, type RedisServer, requireBuiltScale, startRedis, texts } from './util.js';

const defer = useCleanup();
const NODE = join(FIXTURES, 'redis-node.cjs');
const redis = redisAvailability();

interface Node {
  child: Child;
  url: string;
  connect(): Promise<Peer>;
}

async function startNodes(server: RedisServer, names = ['A', 'B']): Promise<Node[]> {
  return Promise.all(
    names.map(async (name) => {
      const child = start(defer, [NODE], { env: { REDIS_URL: server.url, NODE_NAME: name } });
      const port = Number((await child.waitFor(/^listening (\d+)/))[1]);
      await child.waitFor(/^status ready$/);
      const url = `ws://${HOST}:${port}/`;
      return { child, url, connect: () => peer(defer, url) };
    }),
  );
}

if (redis.skip) console.warn(`test/scale/redis.test.ts skipped: ${redis.reason}`);

describe.skipIf(redis.skip)(`Redis adapter between two processes${redis.skip ? ` (skipped: ${redis.reason})` : ''}`, () => {
  beforeAll(() => {
    if (!redis.binary) throw new Error(`${redis.reason}; CI must install it`);
    requireBuiltScale();
  });

  it("a publish on one process reaches subscribers on the other, once, and the process's own subscribers once", async () => {
    const server = await startRedis(defer, redis.binary!);
    const [A, B] = await startNodes(server);
    const a1 = await A!.connect();
    const a2 = await A!.connect();
    const b = await B!.connect();
    expect(a1.welcome.welcome).toBe('A');
    expect(b.welcome.welcome).toBe('B');
    await a2.ask({ op: 'sub', topic: 'news' });
    await b.ask({ op: 'sub', topic: 'news' });

    a1.send(JSON.stringify({ op: 'pub', topic: 'news', data: 'x' }));
    a1.send(JSON.stringify({ op: 'pub', topic: 'news', data: 'marker' }));
    expect(await texts(b, 2)).toEqual(['x', 'marker']);
    expect(await texts(a2, 2)).toEqual(['x', 'marker']);
    // A's echo from Redis carries A's origin and is dropped: once A's
    // subscriber connection has answered a PING (sync), any echo would
    // already have been delivered before the direct reply.
    await a1.ask({ op: 'sync' });
    for (const p of [a2, b]) {
      await p.ask({ op: 'mark' });
      expect(p.messages.pending).toBe(0);
    }
    expect(a1.messages.pending).toBe(0); // ws.publish leaves the sender out
    const statsA = (await a1.ask({ op: 'stats' })).stats;
    const statsB = (await b.ask({ op: 'stats' })).stats;
    expect(statsA).toMatchObject({ published: 2, delivered: 0, dropped: 0 });
    expect(statsB).toMatchObject({ published: 0, delivered: 2, dropped: 0 });

    // A topic nobody subscribed to on B is not sent to B at all (lazy SUBSCRIBE).
    a1.send(JSON.stringify({ op: 'pub', topic: 'elsewhere', data: 'nobody' }));
    await a1.ask({ op: 'sync' });
    expect((await b.ask({ op: 'stats' })).stats.delivered).toBe(2);

    // After unsubscribing, B no longer receives the topic.
    await b.ask({ op: 'unsub', topic: 'news' });
    await b.ask({ op: 'sub', topic: 'other' });
    a1.send(JSON.stringify({ op: 'pub', topic: 'news', data: 'gone' }));
    a1.send(JSON.stringify({ op: 'pub', topic: 'other', data: 'after' }));
    expect(await texts(b, 1)).toEqual(['after']);
  });

  it("keeps each publisher's order: 1,000 numbered messages from each of two processes", async () => {
    const server = await startRedis(defer, redis.binary!);
    const [A, B] = await startNodes(server);
    const pa = await A!.connect();
    const pb = await B!.connect();
    const sa = await A!.connect();
    const sb = await B!.connect();
    await sa.ask({ op: 'sub', topic: 'seq' });
    await sb.ask({ op: 'sub', topic: 'seq' });
    const N = 1000;
    for (let i = 0; i < N; i++) {
      pa.send(JSON.stringify({ op: 'pub', topic: 'seq', data: `A${i}` }));
      pb.send(JSON.stringify({ op: 'pub', topic: 'seq', data: `B${i}` }));
    }
    for (const s of [sa, sb]) {
      const got = await texts(s, 2 * N, 30_000);
      for (const origin of ['A', 'B']) {
        const mine = got.filter((m) => m.startsWith(origin));
        expect(mine, `${origin}'s messages at ${s.welcome.welcome}`).toEqual(Array.from({ length: N }, (_, i) => `${origin}${i}`));
      }
    }
    // server.publish in a tight loop, too.
    await pa.ask({ op: 'burst', topic: 'seq', n: N, prefix: 's' });
    expect(await texts(sb, N, 30_000)).toEqual(Array.from({ length: N }, (_, i) => `s${i}`));
  });

  it('carries binary and text payloads intact', async () => {
    const server = await startRedis(defer, redis.binary!);
    const [A, B] = await startNodes(server);
    const a = await A!.connect();
    const b = await B!.connect();
    await b.ask({ op: 'sub', topic: 'bin' });
    await b.ask({ op: 'sub', topic: 'txt' });
    const payloads = [0, 1, 10, 125, 126, 65_535, 65_536, 1 << 20].map((n) => Buffer.from(Array.from({ length: n }, (_, i) => (i * 31 + n) & 0xff)));
    for (const payload of payloads) a.send(payload, true);
    const got = await b.messages.take(payloads.length, 20_000);
    for (let i = 0; i < payloads.length; i++) {
      expect(got[i]!.isBinary).toBe(true);
      expect(got[i]!.data.equals(payloads[i]!), `payload of ${payloads[i]!.length} bytes`).toBe(true);
    }
    const text = 'żółw 🐢 \u0000 ✓';
    a.send(JSON.stringify({ op: 'pub', topic: 'txt', data: text }));
    a.send(JSON.stringify({ op: 'pub', topic: 'txt', data: '' }));
    const [t1, t2] = await b.messages.take(2, 10_000);
    expect([t1!.isBinary, t1!.data.toString()]).toEqual([false, text]);
    expect([t2!.isBinary, t2!.data.length]).toEqual([false, 0]);
  });

  it('survives Redis crashing and restarting: errors reported, local delivery meanwhile, cross-process delivery after', async () => {
    const server = await startRedis(defer, redis.binary!);
    const [A, B] = await startNodes(server);
    const a1 = await A!.connect();
    const a2 = await A!.connect();
    const b = await B!.connect();
    await a2.ask({ op: 'sub', topic: 'local' });
    await b.ask({ op: 'sub', topic: 'news' });
    a1.send(JSON.stringify({ op: 'pub', topic: 'news', data: 'before' }));
    expect(await texts(b, 1)).toEqual(['before']);

    const fromA = A!.child.lines.length;
    const fromB = B!.child.lines.length;
    await server.stop('SIGKILL');
    await A!.child.waitFor(/^status down$/, 10_000, fromA);
    await B!.child.waitFor(/^status down$/, 10_000, fromB);
    await A!.child.waitFor(/^error /, 10_000, fromA); // the failed reconnection attempts are reported

    // Redis is gone: local delivery goes on, publishing does not throw.
    for (let i = 0; i < 50; i++) a1.send(JSON.stringify({ op: 'pub', topic: 'local', data: `l${i}` }));
    expect(await texts(a2, 50)).toEqual(Array.from({ length: 50 }, (_, i) => `l${i}`));
    a1.send(JSON.stringify({ op: 'pub', topic: 'news', data: 'during' }));
    await a1.ask({ op: 'mark' });
    const during = (await a1.ask({ op: 'stats' })).stats;
    expect(during.buffered).toBe(51); // every publish, local topic included, is kept for when Redis is back
    expect(during.errors).toBeGreaterThan(0);
    expect(A!.child.alive && B!.child.alive).toBe(true);

    await server.restart();
    await A!.child.waitFor(/^status ready$/, 15_000, fromA);
    await B!.child.waitFor(/^status ready$/, 15_000, fromB);
    await b.ask({ op: 'sync' }); // B has resubscribed
    a1.send(JSON.stringify({ op: 'pub', topic: 'news', data: 'after' }));
    // 'during' was published when A reconnected; B receives it if it had resubscribed by then.
    const got: string[] = [];
    while (got.at(-1) !== 'after') got.push(...(await texts(b, 1, 10_000)));
    expect(got.filter((m) => m !== 'during')).toEqual(['after']);
    for (let i = 0; i < 100; i++) a1.send(JSON.stringify({ op: 'pub', topic: 'news', data: `n${i}` }));
    expect(await texts(b, 100)).toEqual(Array.from({ length: 100 }, (_, i) => `n${i}`));
    expect(A!.child.alive && B!.child.alive).toBe(true);
    expect(A!.child.stderr()).toBe('');
    expect(B!.child.stderr()).toBe('');
  });
});
