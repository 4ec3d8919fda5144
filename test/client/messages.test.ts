/** Data and control frames between our client and two servers: ours (serve) and ws. */
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanup } from '../kit/index.js';
import { client, KINDS, startServer } from './util.js';

afterEach(cleanup);

describe.each(KINDS)('client ↔ %s server', (kind) => {
  it('text round-trips as text, including non-ASCII', async () => {
    const server = await startServer(kind);
    const { ws, messages } = await client(server.url);
    const peer = await server.peers.next();
    ws.send('héllo wörld ✓ 𝄞');
    const got = await peer.messages.next();
    expect(got.isBinary).toBe(false);
    expect(got.data.toString()).toBe('héllo wörld ✓ 𝄞');
    const echoed = await messages.next();
    expect(echoed.isBinary).toBe(false);
    expect(echoed.data.toString()).toBe('héllo wörld ✓ 𝄞');
  });

  it('binary round-trips as binary (Buffer, ArrayBuffer and typed-array views)', async () => {
    const server = await startServer(kind);
    const { ws, messages } = await client(server.url);
    const peer = await server.peers.next();
    const bytes = Buffer.from([0, 1, 2, 0xfe, 0xff, 0x80]);
    ws.send(bytes);
    ws.send(new Uint8Array([9, 8, 7]).buffer);
    const backing = new Uint8Array([1, 2, 3, 4, 5, 6]);
    ws.send(new Uint8Array(backing.buffer, 2, 3));
    const server1 = await peer.messages.take(3);
    expect(server1.map((m) => m.isBinary)).toEqual([true, true, true]);
    expect(server1.map((m) => m.data.toString('hex'))).toEqual(['000102feff80', '090807', '030405']);
    const echoed = await messages.take(3);
    expect(echoed.map((m) => m.isBinary)).toEqual([true, true, true]);
    expect(echoed.map((m) => m.data.toString('hex'))).toEqual(['000102feff80', '090807', '030405']);
  });

  it('sends a string as binary with { binary: true } and a buffer as text with { binary: false }', async () => {
    const server = await startServer(kind);
    const { ws } = await client(server.url);
    const peer = await server.peers.next();
    ws.send('as binary', { binary: true });
    ws.send(Buffer.from('as text'), { binary: false });
    const [a, b] = await peer.messages.take(2);
    expect(a).toMatchObject({ isBinary: true });
    expect(a!.data.toString()).toBe('as binary');
    expect(b).toMatchObject({ isBinary: false });
    expect(b!.data.toString()).toBe('as text');
  });

  it('empty text and empty binary messages', async () => {
    const server = await startServer(kind);
    const { ws, messages } = await client(server.url);
    const peer = await server.peers.next();
    ws.send('');
    ws.send(Buffer.alloc(0));
    const got = await peer.messages.take(2);
    expect(got.map((m) => [m.data.length, m.isBinary])).toEqual([
      [0, false],
      [0, true],
    ]);
    const echoed = await messages.take(2);
    expect(echoed.map((m) => [m.data.length, m.isBinary])).toEqual([
      [0, false],
      [0, true],
    ]);
  });

  it('sends a fragmented message ({ fin: false } parts) that arrives as one, with a ping between fragments', async () => {
    const server = await startServer(kind);
    const { ws, messages, pongs } = await client(server.url);
    const peer = await server.peers.next();
    ws.send('frag', { fin: false });
    ws.send('men', { fin: false });
    ws.ping('mid');
    ws.send('ted ✓', { fin: true });
    ws.send(Buffer.from([1, 2]), { fin: false });
    ws.send(Buffer.from([3]), { fin: false });
    ws.send(Buffer.alloc(0), { fin: true });
    const [text, binary] = await peer.messages.take(2);
    expect(text!.isBinary).toBe(false);
    expect(text!.data.toString()).toBe('fragmented ✓');
    expect(binary!.isBinary).toBe(true);
    expect(binary!.data.toString('hex')).toBe('010203');
    expect((await pongs.next()).toString()).toBe('mid');
    const echoed = await messages.take(2);
    expect(echoed[0]!.data.toString()).toBe('fragmented ✓');
    expect(echoed[1]!.data.toString('hex')).toBe('010203');
    expect(peer.messages.pending).toBe(0);
  });

  it('receives a message the server sends in fragments as one message', async () => {
    const server = await startServer(kind, { echo: false });
    const { messages } = await client(server.url);
    const peer = await server.peers.next();
    peer.send('one ', { fin: false });
    peer.send('two ', { fin: false });
    peer.send('three', { fin: true });
    peer.send(Buffer.from([0xaa]), { binary: true, fin: false });
    peer.send(Buffer.from([0xbb, 0xcc]), { binary: true, fin: true });
    const [text, binary] = await messages.take(2);
    expect(text).toMatchObject({ isBinary: false });
    expect(text!.data.toString()).toBe('one two three');
    expect(binary).toMatchObject({ isBinary: true });
    expect(binary!.data.toString('hex')).toBe('aabbcc');
  });

  it('1 MiB binary and text messages, both ways', async () => {
    const server = await startServer(kind);
    const { ws, messages } = await client(server.url);
    const peer = await server.peers.next();
    const big = randomBytes(1024 * 1024);
    const copy = Buffer.from(big);
    const text = 'abcdefghijklmnopqrstuvwxyz0123456789é'.repeat(Math.ceil((1024 * 1024) / 38)).slice(0, 1024 * 1024);
    ws.send(big);
    ws.send(text);
    const [got, gotText] = await peer.messages.take(2, 10_000);
    expect(got!.data.equals(big)).toBe(true);
    expect(gotText!.data.toString()).toBe(text);
    const [echoed, echoedText] = await messages.take(2, 10_000);
    expect(echoed!.isBinary).toBe(true);
    expect(echoed!.data.length).toBe(big.length);
    expect(echoed!.data.equals(big)).toBe(true);
    expect(echoedText!.isBinary).toBe(false);
    expect(echoedText!.data.toString()).toBe(text);
    expect(big.equals(copy)).toBe(true); // the user's buffer was not masked in place
  });

  it('keeps the order of many messages in both directions', async () => {
    const server = await startServer(kind);
    const { ws, messages } = await client(server.url);
    const peer = await server.peers.next();
    const n = 2000;
    for (let i = 0; i < n; i++) {
      if (i % 3 === 0) ws.send(Buffer.from(`bin-${i}`));
      else ws.send(`msg-${i}`);
    }
    const got = await peer.messages.take(n, 10_000);
    expect(got.map((m) => m.data.toString())).toEqual(Array.from({ length: n }, (_, i) => (i % 3 === 0 ? `bin-${i}` : `msg-${i}`)));
    const echoed = await messages.take(n, 10_000);
    expect(echoed.map((m) => m.data.toString())).toEqual(got.map((m) => m.data.toString()));
    expect(echoed.map((m) => m.isBinary)).toEqual(Array.from({ length: n }, (_, i) => i % 3 === 0));
  });

  it('client ping → automatic pong from the server → pong callback', async () => {
    const server = await startServer(kind);
    const { ws, pongs } = await client(server.url);
    const peer = await server.peers.next();
    ws.ping('are you there');
    ws.ping(Buffer.from([1, 2, 3]));
    ws.ping();
    expect((await peer.pings.next()).toString()).toBe('are you there');
    expect((await pongs.next()).toString()).toBe('are you there');
    expect((await pongs.next()).toString('hex')).toBe('010203');
    expect((await pongs.next()).length).toBe(0);
  });

  it('server ping → ping callback and an automatic pong with the same payload', async () => {
    const server = await startServer(kind);
    const { pings, messages, ws } = await client(server.url);
    const peer = await server.peers.next();
    peer.ping('hb-1');
    expect((await pings.next()).toString()).toBe('hb-1');
    expect((await peer.pongs.next()).toString()).toBe('hb-1');
    // The connection goes on after the ping.
    ws.send('after');
    expect((await messages.next()).data.toString()).toBe('after');
  });

  it('unsolicited pongs both ways reach the pong callbacks', async () => {
    const server = await startServer(kind);
    const { ws, pongs } = await client(server.url);
    const peer = await server.peers.next();
    peer.pong('from server');
    expect((await pongs.next()).toString()).toBe('from server');
    ws.pong('from client');
    expect((await peer.pongs.next()).toString()).toBe('from client');
  });
});
