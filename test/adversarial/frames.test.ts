/**
 * Attacks with frames, against a wsbolt server in a child process: absurd
 * length fields, a flood of one-byte fragments, compression bombs, a ping
 * flood from a peer that does not read. Each test checks that an honest
 * client's echo round trip stays under RTT_BOUND_MS while the attack runs,
 * and that the server's memory stays bounded.
 */
import { randomBytes } from 'node:crypto';
import { constants as zlib, createDeflateRaw } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { claimHeader, clientFrame, type RawClient, useCleanup, withTimeout } from '../kit/index.js';
import { MiB, prober, upgrade, rssBound, RTT_BOUND_MS, ServerChild, summarize } from './util.js';

const defer = useCleanup();
const DEFAULT_MAX_PAYLOAD = 16 * MiB;
const DEFAULT_MAX_FRAGMENTS = 128 * 1024;

describe('frame headers claiming absurd lengths', () => {
  it('2^63-1 (and 2^63, 2^53, 2^32, maxPayload+1): closed at once with 1009/1002, nothing allocated', async () => {
    const server = await ServerChild.start({}, defer);
    const probe = await prober(server.port, defer);
    const before = await server.mem(true);
    const claims: [bigint, number][] = [
      [2n ** 63n - 1n, 1009],
      [2n ** 63n, 1002], // the most significant bit must be 0
      [2n ** 64n - 1n, 1002],
      [2n ** 53n, 1009],
      [2n ** 53n - 1n, 1009],
      [2n ** 32n, 1009],
      [BigInt(DEFAULT_MAX_PAYLOAD + 1), 1009],
    ];
    const PER_CLAIM = 30;
    const results: { claim: string; code: number; expected: number; ms: number; ended: boolean }[] = [];
    const attack = (async () => {
      for (const [claim, expected] of claims) {
        for (let i = 0; i < PER_CLAIM; i++) {
          const raw = await upgrade(server.port);
          const start = performance.now();
          raw.write(claimHeader(2, claim));
          const code = await raw.closeCode(5000).catch(() => 0);
          const ms = performance.now() - start;
          // The server drops TCP after its close frame when the connection failed.
          await raw.waitFor(() => raw.isEnded, 5000, 'server ends TCP').catch(() => {});
          results.push({ claim: claim.toString(), code, expected, ms, ended: raw.isEnded });
          raw.destroy();
        }
      }
    })();
    const rtt = summarize(await probe.during(attack));
    await attack;
    const after = await server.mem(true);
    const slowest = Math.max(...results.map((r) => r.ms));
    console.log(
      `huge lengths: ${results.length} connections, slowest close ${slowest.toFixed(1)} ms; rtt ${JSON.stringify(rtt)}; arrayBuffers ${(before.arrayBuffers / MiB).toFixed(2)} -> ${(after.arrayBuffers / MiB).toFixed(2)} MiB, rss ${(before.rss / MiB).toFixed(1)} -> peak ${(after.peakRss / MiB).toFixed(1)} MiB`,
    );
    expect(
      results.filter((r) => r.code !== r.expected),
      'close codes',
    ).toEqual([]);
    expect(results.filter((r) => !r.ended).length, 'connections the server did not drop').toBe(0);
    expect(slowest, 'close frame after the header (ms)').toBeLessThan(RTT_BOUND_MS);
    expect(after.peakRss - before.rss, 'server RSS growth').toBeLessThan(rssBound(16 * MiB));
    expect(after.arrayBuffers - before.arrayBuffers, 'server ArrayBuffer memory growth').toBeLessThan(4 * MiB);
    expect(rtt.max, 'honest echo round trip (ms)').toBeLessThan(RTT_BOUND_MS);
  }, 60_000);

  it('headers claiming exactly maxPayload with the payload never sent: RSS grows by what was sent, not by the claims', async () => {
    const MAX = 4 * MiB;
    const server = await ServerChild.start({ maxPayload: MAX }, defer);
    const probe = await prober(server.port, defer);
    const before = await server.mem(true);
    const N = 100;
    const sockets: RawClient[] = [];
    for (let i = 0; i < N; i++) {
      const raw = await upgrade(server.port);
      defer(() => raw.destroy());
      // The header, then 1 KiB of the payload: the frame straddles reads, so its buffer is allocated.
      raw.write(Buffer.concat([claimHeader(2, BigInt(MAX)), randomBytes(1024)]));
      sockets.push(raw);
    }
    // The honest echo goes through after all of them: the server has read every header by then.
    const rtt = await probe.rtt();
    const after = await server.mem(true);
    console.log(
      `claims of maxPayload x${N}: rss ${(before.rss / MiB).toFixed(1)} -> ${(after.rss / MiB).toFixed(1)} MiB (claimed ${(N * MAX) / MiB} MiB), arrayBuffers ${(before.arrayBuffers / MiB).toFixed(1)} -> ${(after.arrayBuffers / MiB).toFixed(1)} MiB`,
    );
    expect(rtt).toBeLessThan(RTT_BOUND_MS);
    // Pages of an untouched allocation are not resident: RSS must not follow the claims (N x 4 MiB = 400 MiB).
    expect(after.rss - before.rss, 'server RSS growth').toBeLessThan(rssBound(64 * MiB));
    for (const s of sockets) s.destroy();
    await server.until({ connections: 1 }, 10_000, 'attackers gone');
  }, 60_000);
});

describe('allocation failure', () => {
  it('headers claiming maxPayload on a host where large allocations can fail (ulimit -v): connections fail, the server survives', async () => {
    // 3 GB of address space: Node runs fine, but some hundred reservations of 16 MiB (the default
    // maxPayload) do not fit. Hosts without overcommit (vm.overcommit_memory=2) fail the same way.
    const server = await ServerChild.start({}, defer, { virtualKb: 3_000_000 });
    const probe = await prober(server.port, defer);
    const N = 400;
    const codes: number[] = [];
    let uncaught = '';
    server.on('uncaught', (m: { error: string }) => (uncaught ||= m.error));
    const sockets: RawClient[] = [];
    const attack = (async () => {
      for (let i = 0; i < N && !uncaught && server.alive; i++) {
        const raw = await upgrade(server.port).catch(() => null);
        if (!raw) break;
        defer(() => raw.destroy());
        sockets.push(raw);
        // 14 bytes of header and 1 byte of payload: the frame straddles reads, its buffer is reserved.
        raw.write(Buffer.concat([claimHeader(2, BigInt(DEFAULT_MAX_PAYLOAD)), Buffer.from('x')]));
        // The honest echo after each one: by then the server has handled the header.
        await probe.rtt().catch(() => {});
      }
    })();
    await withTimeout(attack, 60_000, 'attack');
    for (const s of sockets) if (s.frames.items.some((f) => f.opcode === 8)) codes.push(await s.closeCode());
    const stats = server.alive ? await server.stats() : null;
    console.log(
      `allocation failure: ${sockets.length} connections, ${codes.length} closed by the server (codes ${[...new Set(codes)]}); server ${server.alive ? 'alive' : `exited ${server.exitCode}`}; uncaught: ${uncaught.split('\n').slice(0, 5).join(' | ') || 'none'}`,
    );
    expect(uncaught, 'an exception escaped wsbolt (without a handler the process exits)').toBe('');
    expect(stats?.uncaught ?? -1).toBe(0);
    expect(server.alive).toBe(true);
    expect(await probe.rtt()).toBeLessThan(RTT_BOUND_MS);
  }, 120_000);
});

/** Writes frames in batches, one batch per drain, until done or the peer stops reading (no drain within ms). */
async function writeAll(raw: RawClient, batches: Buffer[], stallMs = 3000): Promise<{ written: number; stalled: boolean }> {
  let written = 0;
  for (const b of batches) {
    if (raw.isClosed || raw.isEnded) break;
    written++;
    if (!raw.write(b)) {
      const drained = await withTimeout(
        new Promise<boolean>((resolve) => {
          raw.socket.once('drain', () => resolve(true));
          raw.socket.once('close', () => resolve(false));
        }),
        stallMs,
        'drain',
      ).catch(() => null);
      if (drained === null) return { written, stalled: true };
      if (!drained) break;
    }
  }
  return { written, stalled: false };
}

function fragmentFlood(total: number, perBatch = 10_000): Buffer[] {
  const batches: Buffer[] = [];
  const one = clientFrame(0, 'x', { fin: false });
  for (let sent = 0; sent < total;) {
    const n = Math.min(perBatch, total - sent);
    const parts: Buffer[] = [];
    for (let i = 0; i < n; i++) parts.push(sent + i === 0 ? clientFrame(1, 'x', { fin: false }) : one);
    batches.push(Buffer.concat(parts));
    sent += n;
  }
  return batches;
}

describe('one-byte fragments', () => {
  it('100,000 one-byte continuation frames with maxFragments 1000: 1009 after the cap', async () => {
    const server = await ServerChild.start({ maxFragments: 1000 }, defer);
    const probe = await prober(server.port, defer);
    const before = await server.mem(true);
    const raw = await upgrade(server.port);
    defer(() => raw.destroy());
    const start = performance.now();
    const flood = writeAll(raw, fragmentFlood(100_000));
    const code = raw.closeCode(10_000);
    const rtt = summarize(await probe.during(code.catch(() => 0)));
    const got = await code;
    const ms = performance.now() - start;
    await flood;
    const after = await server.mem(true);
    // The server reports the close once TCP is gone.
    const stats = await server.until({ closed: 1 }, 10_000, 'the flooding connection closed');
    console.log(
      `fragments (cap 1000): close ${got} after ${ms.toFixed(0)} ms; rtt ${JSON.stringify(rtt)}; rss ${(before.rss / MiB).toFixed(1)} -> peak ${(after.peakRss / MiB).toFixed(1)} MiB; ${JSON.stringify(stats.lastCloses.slice(-1))}`,
    );
    expect(got).toBe(1009);
    expect(stats.lastCloses.at(-1)?.error).toBe('WS_ERR_TOO_MANY_FRAGMENTS');
    expect(rtt.max).toBeLessThan(RTT_BOUND_MS);
    expect(after.peakRss - before.rss).toBeLessThan(rssBound(32 * MiB));
  }, 60_000);

  it('with the default cap (131,072): 100,000 fragments are one message; 131,073 get 1009', async () => {
    const server = await ServerChild.start({}, defer);
    const probe = await prober(server.port, defer);
    const before = await server.mem(true);

    // Under the cap: 100,000 one-byte fragments and a final one are a 100,001-byte message, echoed.
    const ok = await upgrade(server.port);
    defer(() => ok.destroy());
    const batches = fragmentFlood(100_000);
    batches.push(clientFrame(0, 'x', { fin: true }));
    const sending = writeAll(ok, batches);
    const echoed = ok.waitFor(() => ok.frames.items.some((f) => f.opcode === 1) || ok.bytesReceived >= 100_001, 20_000, 'echo of the 100,001-byte message');
    const rtt1 = summarize(await probe.during(echoed.catch(() => null)));
    await echoed;
    await sending;
    expect(ok.bytesReceived).toBe(100_001);

    // Over the cap.
    const raw = await upgrade(server.port);
    defer(() => raw.destroy());
    const flood = writeAll(raw, fragmentFlood(DEFAULT_MAX_FRAGMENTS + 1));
    const code = raw.closeCode(20_000);
    const rtt2 = summarize(await probe.during(code.catch(() => 0)));
    const got = await code;
    await flood;
    const after = await server.mem(true);
    const stats = await server.until({ closed: 1 }, 10_000, 'the flooding connection closed');
    console.log(
      `fragments (default cap): message echoed, then close ${got}; rtt ${JSON.stringify(rtt1)} / ${JSON.stringify(rtt2)}; rss ${(before.rss / MiB).toFixed(1)} -> peak ${(after.peakRss / MiB).toFixed(1)} MiB`,
    );
    expect(got).toBe(1009);
    expect(stats.lastCloses.at(-1)?.error).toBe('WS_ERR_TOO_MANY_FRAGMENTS');
    expect(Math.max(rtt1.max, rtt2.max)).toBeLessThan(RTT_BOUND_MS);
    expect(after.peakRss - before.rss).toBeLessThan(rssBound(48 * MiB));
  }, 90_000);
});

/** A raw DEFLATE stream (permessage-deflate payload: sync flush, tail removed) of `size` zero bytes, made without holding them. */
async function zeroBomb(size: number): Promise<Buffer> {
  const deflate = createDeflateRaw({ level: 9 });
  const out: Buffer[] = [];
  deflate.on('data', (d: Buffer) => out.push(d));
  const chunk = Buffer.alloc(MiB);
  for (let left = size; left > 0; left -= MiB) {
    if (!deflate.write(left >= MiB ? chunk : chunk.subarray(0, left))) await new Promise((resolve) => deflate.once('drain', resolve));
  }
  await new Promise<void>((resolve) => deflate.flush(zlib.Z_SYNC_FLUSH, () => resolve()));
  const all = Buffer.concat(out);
  deflate.close();
  return all.subarray(0, all.length - 4); // 00 00 ff ff
}

describe('compression bombs (perMessageDeflate: true)', () => {
  for (const { maxPayload, inflated, label } of [
    { maxPayload: MiB, inflated: 256 * MiB, label: 'maxPayload 1 MiB, 256 MiB inflated' },
    { maxPayload: undefined, inflated: 256 * MiB, label: 'default maxPayload (16 MiB), 256 MiB inflated' },
  ]) {
    it(`${label}: 1009, inflation stops at the limit, memory bounded`, async () => {
      const limit = maxPayload ?? DEFAULT_MAX_PAYLOAD;
      const server = await ServerChild.start({ perMessageDeflate: true, ...(maxPayload ? { maxPayload } : {}) }, defer);
      const probe = await prober(server.port, defer);
      const bomb = await zeroBomb(inflated);
      expect(bomb.length).toBeLessThan(limit); // the compressed message itself is within the limit
      const before = await server.mem(true);
      await server.request('reset');

      // A control first: a compressed message under the limit comes back.
      const good = await upgrade(server.port, { headers: { 'Sec-WebSocket-Extensions': 'permessage-deflate' } });
      defer(() => good.destroy());
      expect(good.head.toLowerCase()).toContain('permessage-deflate');
      good.write(clientFrame(2, await zeroBomb(1000), { rsv: 0x40 }));
      await good.waitFor(() => good.frames.items.length > 0, 5000, 'echo of a small compressed message');

      const codes: number[] = [];
      const ATTACKERS = 5;
      const attack = (async () => {
        for (let i = 0; i < ATTACKERS; i++) {
          const raw = await upgrade(server.port, { headers: { 'Sec-WebSocket-Extensions': 'permessage-deflate' } });
          raw.write(clientFrame(2, bomb, { rsv: 0x40 }));
          codes.push(await raw.closeCode(20_000).catch(() => 0));
          raw.destroy();
        }
      })();
      const rtt = summarize(await probe.during(attack));
      await attack;
      const after = await server.mem(true);
      const stats = await server.stats();
      console.log(
        `bomb (${label}, ${(bomb.length / 1024).toFixed(0)} KiB compressed) x${ATTACKERS}: codes ${codes}; rtt ${JSON.stringify(rtt)}; rss ${(before.rss / MiB).toFixed(1)} -> peak ${(after.peakRss / MiB).toFixed(1)} MiB; ${JSON.stringify(stats.lastCloses.at(-1))}`,
      );
      expect(codes).toEqual(Array(ATTACKERS).fill(1009));
      // Inflating one message may hold the limit plus one zlib chunk, and the joined output once more.
      expect(after.peakRss - before.rss, 'server RSS growth').toBeLessThan(rssBound(3 * limit + 32 * MiB));
      // Inflating up to the limit takes time on the event loop: the bound scales with the limit.
      expect(rtt.max, 'honest echo round trip (ms)').toBeLessThan(RTT_BOUND_MS);
    }, 120_000);
  }
});

describe('ping flood from a peer that does not read', () => {
  it('pongs stay bounded by maxBackpressure: the server stops reading, keeps answering others, resumes when the peer reads', async () => {
    const MAX_BACKPRESSURE = MiB;
    const server = await ServerChild.start({ maxBackpressure: MAX_BACKPRESSURE }, defer);
    const probe = await prober(server.port, defer);
    const before = await server.mem(true);
    await server.request('reset');
    const raw = await upgrade(server.port);
    defer(() => raw.destroy());
    raw.socket.pause(); // never read the pongs
    const paused = new Promise<void>((resolve) => server.once('paused', () => resolve()));

    const ping = clientFrame(9, randomBytes(125));
    const batch = Buffer.concat(Array.from({ length: 1000 }, () => ping)); // 135 KB of pings
    let stop = false;
    void paused.then(() => (stop = true));
    let batches = 0;
    const flood = (async () => {
      // Until the server pauses the connection or our own writes stall (bounded: 400 batches = 54 MB).
      while (!stop && batches < 400) {
        batches++;
        if (!raw.write(batch)) {
          const drained = await withTimeout(new Promise((resolve) => raw.socket.once('drain', resolve)), 3000, 'drain').catch(() => null);
          if (drained === null) break;
        }
      }
    })();
    const rtt = summarize(await probe.during(Promise.race([paused, flood])));
    await withTimeout(paused, 10_000, 'the server pausing the flooding connection');
    stop = true;
    await flood;
    const mem = await server.mem();
    const { amounts } = await server.request<{ amounts: number[] }>('buffered');
    const worst = Math.max(...amounts);
    console.log(
      `ping flood: ${batches * 1000} pings sent; server bufferedAmount peak ${(mem.peakBuffered / MiB).toFixed(2)} MiB, now ${(worst / MiB).toFixed(2)} MiB (limit ${MAX_BACKPRESSURE / MiB} MiB); rtt ${JSON.stringify(rtt)}; rss ${(before.rss / MiB).toFixed(1)} -> peak ${(mem.peakRss / MiB).toFixed(1)} MiB`,
    );
    // Above the limit by at most the pongs of one delivery (the native transport reads at most 256 KiB per connection and turn).
    expect(mem.peakBuffered, 'server bufferedAmount').toBeLessThan(MAX_BACKPRESSURE + 384 * 1024);
    expect(mem.peakRss - before.rss, 'server RSS growth').toBeLessThan(rssBound(32 * MiB));
    expect(rtt.max, 'honest echo round trip (ms)').toBeLessThan(RTT_BOUND_MS);
    expect(await probe.rtt()).toBeLessThan(RTT_BOUND_MS);

    // The peer reads again: pongs flow, the server reads the rest of the pings.
    const pongsBefore = raw.frames.items.length;
    raw.socket.resume();
    await raw.waitFor(() => raw.frames.items.length > pongsBefore + 1000, 20_000, 'pongs after the peer reads again');
    expect(raw.frames.items.every((f) => f.opcode === 10)).toBe(true);
  }, 90_000);
});
