/**
 * Attacks on the opening handshake and the TCP connection, against a wsbolt
 * server in a child process (server-child.cjs, the built dist/). Each test
 * checks that an honest client's echo round trip stays under RTT_BOUND_MS
 * while the attack runs, and that the server's memory stays bounded.
 *
 *   - slowloris: hundreds of connections sending the handshake one byte at a
 *     time, closed at handshakeTimeout;
 *   - malformed handshakes (>= 25 kinds), each answered with its status and a
 *     closed connection;
 *   - TCP resets (socket.resetAndDestroy()) at every stage of a connection.
 */
import * as net from 'node:net';
import { randomBytes } from 'node:crypto';
import { deflateRawSync, constants as zlib } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { clientFrame, handshakeRequest, HOST, useCleanup, withTimeout } from '../kit/index.js';
import { fdLimit, MiB, openRaw, upgrade, prober, rawRequest, rssBound, RTT_BOUND_MS, ServerChild, summarize } from './util.js';

const defer = useCleanup();

describe('slowloris: the handshake one byte at a time', () => {
  it('hundreds of connections are closed at handshakeTimeout; the server keeps answering, memory bounded', async () => {
    const HANDSHAKE_TIMEOUT = 1000;
    // Each connection costs a descriptor here and one in the server child.
    const N = Math.min(Number(process.env.ADVERSARIAL_SLOWLORIS ?? 1000), Math.floor((fdLimit() - 200) / 2));
    const server = await ServerChild.start({ handshakeTimeout: HANDSHAKE_TIMEOUT }, defer);
    const probe = await prober(server.port, defer);
    const before = await server.mem(true);
    await server.request('reset');

    const request = handshakeRequest();
    const sockets: { socket: net.Socket; sent: number; closedAt: number; answer: string }[] = [];
    const connected: Promise<void>[] = [];
    const start = performance.now();
    for (let i = 0; i < N; i++) {
      const socket = net.connect({ host: HOST, port: server.port });
      const s = { socket, sent: 0, closedAt: -1, answer: '' };
      socket.on('error', () => {});
      socket.on('data', (d: Buffer) => (s.answer += d.toString('latin1')));
      socket.on('close', () => (s.closedAt = performance.now() - start));
      connected.push(new Promise((resolve) => socket.once('connect', () => resolve()).once('close', () => resolve())));
      sockets.push(s);
      defer(() => socket.destroy());
    }
    await withTimeout(Promise.all(connected), 30_000, 'slowloris connections');
    // One byte per connection every 250 ms: the request (about 160 bytes) would take 40 s.
    const drip = setInterval(() => {
      for (const s of sockets) if (!s.socket.destroyed && s.sent < request.length - 1) s.socket.write(request[s.sent++]!);
    }, 250);
    defer(() => clearInterval(drip));

    const allClosed = Promise.all(
      sockets.map((s) => new Promise<void>((resolve) => (s.socket.destroyed ? resolve() : s.socket.once('close', () => resolve())))),
    );
    // Bound: the timeout, plus slack for closing N sockets on a loaded machine.
    const bound = HANDSHAKE_TIMEOUT + 2500;
    const settled = withTimeout(allClosed, bound, 'slowloris connections closed').catch(() => null);
    const times = await probe.during(settled);
    clearInterval(drip);
    const mem = await server.mem();
    const closed = sockets.filter((s) => s.closedAt >= 0);
    const answers = new Set(closed.map((s) => s.answer.split('\r\n')[0]));
    const rtt = summarize(times);
    console.log(
      `slowloris x${N}: ${closed.length} closed within ${bound} ms (latest ${Math.round(Math.max(0, ...closed.map((s) => s.closedAt)))} ms; answers ${[...answers].join(' | ') || '-'}); rtt ${JSON.stringify(rtt)}; rss ${(before.rss / MiB).toFixed(1)} -> peak ${(mem.peakRss / MiB).toFixed(1)} MiB`,
    );

    expect(rtt.max, 'honest echo round trip during the attack (ms)').toBeLessThan(RTT_BOUND_MS);
    expect(mem.peakRss - before.rss, 'server RSS growth').toBeLessThan(rssBound(64 * MiB));
    expect(closed.length, `slowloris connections closed within handshakeTimeout + 2.5 s (of ${N})`).toBe(N);
    for (const s of closed) expect(s.closedAt, 'not closed before handshakeTimeout').toBeGreaterThanOrEqual(HANDSHAKE_TIMEOUT * 0.9);
    expect(server.alive).toBe(true);
  }, 90_000);
});

interface Case {
  name: string;
  request: string | Buffer;
  status: number;
  /** Extra check on the answer head. */
  head?: RegExp;
}

const key = () => randomBytes(16).toString('base64');
const b64 = (n: number) => randomBytes(n).toString('base64');

function malformed(): Case[] {
  const h = (headers: Record<string, string | null>, line = 'GET /ws HTTP/1.1', extra: string[] = []) => handshakeRequest('/', headers, line, extra);
  const k = key();
  return [
    { name: 'missing Upgrade (plain HTTP request)', request: h({ Upgrade: null }), status: 426 },
    { name: 'missing Connection (plain HTTP request)', request: h({ Connection: null }), status: 426 },
    { name: 'Connection: keep-alive (no upgrade token)', request: h({ Connection: 'keep-alive' }), status: 426 },
    { name: 'Upgrade: h2c', request: h({ Upgrade: 'h2c' }), status: 400 },
    { name: 'Upgrade: websocket2', request: h({ Upgrade: 'websocket2' }), status: 400 },
    { name: 'missing Sec-WebSocket-Version', request: h({ 'Sec-WebSocket-Version': null }), status: 400 },
    { name: 'Sec-WebSocket-Version: 8', request: h({ 'Sec-WebSocket-Version': '8' }), status: 426, head: /sec-websocket-version: 13/i },
    { name: 'Sec-WebSocket-Version: 14', request: h({ 'Sec-WebSocket-Version': '14' }), status: 426, head: /sec-websocket-version: 13/i },
    { name: 'Sec-WebSocket-Version twice', request: h({}, undefined, ['Sec-WebSocket-Version: 13']), status: 426 },
    { name: 'missing Sec-WebSocket-Key', request: h({ 'Sec-WebSocket-Key': null }), status: 400 },
    { name: 'empty Sec-WebSocket-Key', request: h({ 'Sec-WebSocket-Key': '' }), status: 400 },
    { name: 'key of 15 bytes', request: h({ 'Sec-WebSocket-Key': b64(15) }), status: 400 },
    { name: 'key of 17 bytes', request: h({ 'Sec-WebSocket-Key': b64(17) }), status: 400 },
    { name: 'key of 16 bytes without padding', request: h({ 'Sec-WebSocket-Key': b64(16).replace(/=+$/, '') }), status: 400 },
    { name: 'key that is not base64', request: h({ 'Sec-WebSocket-Key': '!!!!!!!!!!!!!!!!!!!!!!==' }), status: 400 },
    { name: 'two Sec-WebSocket-Key headers', request: h({ 'Sec-WebSocket-Key': k }, undefined, [`Sec-WebSocket-Key: ${key()}`]), status: 400 },
    { name: 'Sec-WebSocket-Protocol with a space in a token', request: h({ 'Sec-WebSocket-Protocol': 'chat v2' }), status: 400 },
    { name: 'Sec-WebSocket-Protocol with a separator character', request: h({ 'Sec-WebSocket-Protocol': 'chat@v1' }), status: 400 },
    { name: 'Sec-WebSocket-Protocol quoted', request: h({ 'Sec-WebSocket-Protocol': '"chat"' }), status: 400 },
    { name: 'Sec-WebSocket-Protocol with a duplicate', request: h({ 'Sec-WebSocket-Protocol': 'chat, chat' }), status: 400 },
    { name: 'headers over 16 KiB', request: h({ 'X-Filler': 'a'.repeat(17 * 1024) }), status: 431 },
    {
      name: 'many headers over 16 KiB in total',
      request: h(
        {},
        undefined,
        Array.from({ length: 400 }, (_, i) => `X-H${i}: ${'b'.repeat(40)}`),
      ),
      status: 431,
    },
    { name: 'POST', request: h({}, 'POST /ws HTTP/1.1'), status: 405, head: /allow: GET/i },
    { name: 'PUT', request: h({}, 'PUT /ws HTTP/1.1', ['Content-Length: 0']), status: 405 },
    { name: 'HTTP/1.0', request: h({}, 'GET /ws HTTP/1.0'), status: 400 },
    { name: 'missing Host', request: h({ Host: null }), status: 400 },
    { name: 'garbage request line', request: 'HELLO THERE\r\n\r\n', status: 400 },
    { name: 'lower-case method', request: h({}, 'get /ws HTTP/1.1'), status: 400 },
    { name: 'header line without a colon', request: h({}, undefined, ['NoColonHere']), status: 400 },
    { name: 'space in a header name', request: h({}, undefined, ['Sec WebSocket-Key: x']), status: 400 },
    { name: 'NUL in a header value', request: h({ 'X-Bad': 'a\u0000b' }), status: 400 },
    { name: 'Content-Length and Transfer-Encoding together', request: h({}, undefined, ['Content-Length: 5', 'Transfer-Encoding: chunked']), status: 400 },
    { name: 'wrong path', request: handshakeRequest('/', {}, 'GET /nope HTTP/1.1'), status: 404 },
    { name: 'Origin not allowed', request: h({ Origin: 'http://evil.example' }), status: 403 },
    // Controls: unusual but valid requests are accepted.
    { name: 'control: mixed-case tokens, extra Connection tokens', request: h({ Upgrade: 'WebSocket', Connection: 'keep-alive, Upgrade' }), status: 101 },
    {
      name: 'control: allowed Origin, malformed extension offer (ignored)',
      request: h({ Origin: 'http://good.example', 'Sec-WebSocket-Extensions': 'permessage-deflate; =; ;' }),
      status: 101,
    },
  ];
}

describe('malformed handshakes', () => {
  it('>= 25 kinds, each answered with its status and the connection closed; no crash', async () => {
    const server = await ServerChild.start({ path: '/ws', origins: ['http://good.example'] }, defer);
    const probe = await prober(server.port, defer, '/ws');
    const before = await server.mem(true);

    const cases = malformed();
    expect(cases.filter((c) => c.status !== 101).length).toBeGreaterThanOrEqual(25);
    const results: { name: string; status: number; expected: number; closed: boolean; head: string }[] = [];
    const attack = (async () => {
      for (const c of cases) {
        const answer = await rawRequest(server.port, c.request);
        results.push({ name: c.name, status: answer.status, expected: c.status, closed: answer.closed, head: answer.head });
      }
    })();
    const rtt = summarize(await probe.during(attack));
    await attack;
    for (const r of results) {
      const c = cases.find((x) => x.name === r.name)!;
      if (c.head && r.status === c.status) expect(r.head, c.name).toMatch(c.head);
      if (c.status === 101) expect(r.head.toLowerCase(), c.name).not.toContain('sec-websocket-extensions');
    }
    const wrong = results.filter((r) => r.status !== r.expected);
    const open = results.filter((r) => r.expected !== 101 && !r.closed);
    console.log(
      `malformed handshakes: ${results.length - wrong.length}/${results.length} as expected${wrong.length ? `; unexpected: ${wrong.map((r) => `${r.name}: ${r.status} (expected ${r.expected})`).join('; ')}` : ''}`,
    );

    // Still alive and answering: a valid handshake on /ws gets 101 and an echo.
    const ok = await rawRequest(server.port, handshakeRequest('/', {}, 'GET /ws HTTP/1.1'));
    expect(ok.status).toBe(101);
    expect(rtt.max, 'honest echo round trip during the malformed handshakes (ms)').toBeLessThan(RTT_BOUND_MS);
    expect(await probe.rtt()).toBeLessThan(RTT_BOUND_MS);
    const after = await server.mem(true);
    const stats = await server.stats();
    expect(server.alive).toBe(true);
    expect(stats.uncaught).toBe(0);
    expect(after.rss - before.rss, 'server RSS growth').toBeLessThan(rssBound(32 * MiB));
    expect(wrong, 'answers with another status than expected').toEqual([]);
    expect(
      open.map((r) => `${r.name} ${r.status}`),
      'error answers not followed by the server closing the connection',
    ).toEqual([]);
  }, 60_000);
});

describe('TCP resets at every stage', () => {
  it('reset during the headers, after the 101, mid-frame, mid-message, mid-close, while the server sends: server unharmed', async () => {
    const server = await ServerChild.start({ perMessageDeflate: true, maxBackpressure: 4 * MiB }, defer);
    const probe = await prober(server.port, defer);
    const before = await server.mem(true);
    const ROUNDS = Number(process.env.ADVERSARIAL_RESET_ROUNDS ?? 25);
    const stages: Record<string, number> = {};
    const count = (stage: string) => (stages[stage] = (stages[stage] ?? 0) + 1);
    const big = clientFrame(2, randomBytes(256 * 1024));
    const deflated = (() => {
      const d = deflateRawSync(Buffer.alloc(512 * 1024, 0x61), { finishFlush: zlib.Z_SYNC_FLUSH });
      return d.subarray(0, d.length - 4);
    })();

    const attack = (async () => {
      for (let round = 0; round < ROUNDS; round++) {
        // 1. During the request line / headers.
        {
          const raw = await openRaw(server.port);
          raw.write(handshakeRequest().slice(0, 10 + (round % 60)));
          raw.socket.resetAndDestroy();
          count('headers');
        }
        // 2. Full request written, reset before the answer.
        {
          const raw = await openRaw(server.port);
          raw.write(handshakeRequest());
          raw.socket.resetAndDestroy();
          count('request-sent');
        }
        // 3. Right after the 101.
        {
          const raw = await upgrade(server.port);
          raw.socket.resetAndDestroy();
          count('after-101');
        }
        // 4. Mid-frame: half of a 256 KiB frame.
        {
          const raw = await upgrade(server.port);
          raw.write(big.subarray(0, big.length >> 1));
          raw.socket.resetAndDestroy();
          count('mid-frame');
        }
        // 5. Mid-message: a first fragment, then a reset.
        {
          const raw = await upgrade(server.port);
          raw.write(clientFrame(1, 'first part', { fin: false }));
          raw.socket.resetAndDestroy();
          count('mid-message');
        }
        // 6. Mid-close: our close frame out, reset before the server's answer is read.
        {
          const raw = await upgrade(server.port);
          raw.write(clientFrame(8, Buffer.from([0x03, 0xe8])));
          raw.socket.resetAndDestroy();
          count('close-sent');
        }
        // 7. Mid-close: the server's close frame received, reset instead of the TCP close.
        {
          const raw = await upgrade(server.port);
          raw.write(clientFrame(8, Buffer.from([0x03, 0xe8])));
          await raw.closeCode(5000);
          raw.socket.resetAndDestroy();
          count('close-answered');
        }
        // 8. While the server sends: it echoes 256 KiB, we reset after the first bytes arrive.
        {
          const raw = await upgrade(server.port);
          raw.write(big);
          await raw.waitFor(() => raw.bytesReceived > 0 || raw.frames.items.length > 0 || raw.isEnded, 5000, 'echo starts').catch(() => {});
          raw.socket.resetAndDestroy();
          count('server-sending');
        }
        // 9. permessage-deflate: half of a compressed message.
        {
          const raw = await upgrade(server.port, { headers: { 'Sec-WebSocket-Extensions': 'permessage-deflate' } });
          raw.write(clientFrame(2, deflated.subarray(0, deflated.length >> 1), { fin: false, rsv: 0x40 }));
          raw.socket.resetAndDestroy();
          count('mid-deflate');
        }
      }
    })();
    const times = await probe.during(attack);
    await attack;
    // Every attacked connection goes away: only the prober remains.
    const stats = await server.until({ connections: 1 }, 15_000, 'connections back to the prober alone');
    const after = await server.mem(true);
    const rtt = summarize(times);
    console.log(
      `resets: ${JSON.stringify(stages)}; closes ${JSON.stringify(stats.closes)}; rtt ${JSON.stringify(rtt)}; rss ${(before.rss / MiB).toFixed(1)} -> ${(after.rss / MiB).toFixed(1)} MiB (peak ${(after.peakRss / MiB).toFixed(1)})`,
    );
    expect(server.alive).toBe(true);
    expect(stats.uncaught).toBe(0);
    expect(rtt.max, 'honest echo round trip during the resets (ms)').toBeLessThan(RTT_BOUND_MS);
    expect(after.rss - before.rss, 'server RSS growth after the resets').toBeLessThan(rssBound(48 * MiB));
    expect(await probe.rtt()).toBeLessThan(RTT_BOUND_MS);
  }, 120_000);
});

describe('a client streaming during a slow async upgrade hook', () => {
  const HOOK_MS = 1500;
  /** What the client tries to send before the answer (the server should stop reading long before). */
  const ATTEMPT = 256 * MiB;
  /** How late the answer may come after the hook settles. */
  const LATE_BOUND_MS = 250;
  const PAYLOAD = 64 * 1024;
  /** One masked 64 KiB binary message, written again and again: valid frames, so an accepted connection can count them. */
  const message = clientFrame(2, randomBytes(PAYLOAD));

  /**
   * Sends the handshake for `path`, then frames back to back, each write waiting for 'drain' once the socket is full,
   * until the server answers or ATTEMPT bytes went out. Returns how late the answer came after the hook's settling time.
   */
  async function streamUntilAnswer(port: number, path: string) {
    const raw = await openRaw(port);
    defer(() => raw.destroy());
    const answered = () => raw.headReceived || raw.isEnded;
    const started = performance.now();
    raw.write(handshakeRequest('/', {}, `GET ${path} HTTP/1.1`));
    let writes = 0;
    while (writes * message.length < ATTEMPT && !answered()) {
      writes++;
      if (raw.write(message)) continue;
      await new Promise<void>((resolve) => {
        const done = () => {
          raw.socket.off('drain', done);
          resolve();
        };
        raw.socket.once('drain', done);
        raw.waitFor(answered, 60_000, 'answer or drain').then(done, done);
      });
    }
    await raw.waitFor(() => raw.headReceived, HOOK_MS + 30_000, 'handshake answer');
    return { raw, writes, late: performance.now() - started - HOOK_MS };
  }

  async function attack(reject?: number) {
    const server = await ServerChild.start({ slowUpgrade: { path: '/slow', ms: HOOK_MS, reject }, echo: false }, defer);
    const before = await server.mem(true);
    await server.request('reset');
    const { raw, writes, late } = await withTimeout(streamUntilAnswer(server.port, '/slow'), 90_000, 'streaming during the hook');
    const mem = await server.mem();
    const label = reject ? `refused with ${reject}` : 'accepted';
    console.log(
      `streaming during a ${HOOK_MS} ms hook (${label}): ${((writes * message.length) / MiB).toFixed(1)} MiB written by the client; answer ${raw.status} ${Math.round(late)} ms after the hook settled; server rss ${(before.rss / MiB).toFixed(1)} -> peak ${(mem.peakRss / MiB).toFixed(1)} MiB (+${((mem.peakRss - before.rss) / MiB).toFixed(1)})`,
    );
    return { server, raw, writes, late, growth: mem.peakRss - before.rss };
  }

  it('refused: the server stops reading, the 401 comes promptly and memory stays bounded', async () => {
    const { server, raw, late, growth } = await attack(401);
    expect(raw.status).toBe(401);
    expect(growth, 'server RSS growth').toBeLessThan(rssBound(32 * MiB));
    expect(late, 'ms from the hook settling to the 401').toBeLessThan(LATE_BOUND_MS);
    await withTimeout(raw.closed, 10_000, 'the refused connection closes');
    expect((await server.stats()).opened).toBe(0);
    expect(server.alive).toBe(true);
  }, 120_000);

  it('accepted: memory stays bounded and every frame sent before the 101 is delivered, in order and whole', async () => {
    const { server, raw, writes, late, growth } = await attack();
    expect(raw.status).toBe(101);
    expect(growth, 'server RSS growth').toBeLessThan(rssBound(32 * MiB));
    expect(late, 'ms from the hook settling to the 101').toBeLessThan(LATE_BOUND_MS);
    // A close after the last frame: once it is answered, every frame before it has been processed.
    raw.write(clientFrame(8, Buffer.from([0x03, 0xe8])));
    expect(await raw.closeCode(30_000)).toBe(1000);
    const stats = await server.stats();
    expect({ messages: stats.messages, bytes: stats.messageBytes }).toEqual({ messages: writes, bytes: writes * PAYLOAD });
    expect(stats.uncaught).toBe(0);
  }, 120_000);
});
