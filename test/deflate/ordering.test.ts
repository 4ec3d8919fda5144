/**
 * Ordering with permessage-deflate: 1,000 messages alternating between
 * compressible 20 KiB ones (compressed) and tiny ones (sent plain) go to our
 * echo server and come back in order and intact. The `ws` client compresses
 * on zlib's thread pool, so this also checks that nothing on our side lets a
 * plain message overtake a compressed one.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import WsClient from 'ws';
import { type WebSocket, connect } from '../../src/index.js';
import { HOST, Queue, socketOf, startServer, useCleanup, withTimeout } from '../kit/index.js'; // socketOf: Node's socket counts the bytes, so the connections measured ask for transport 'stream'
import { compressible } from './util.js';

const defer = useCleanup();
const N = 1000;

const digest = (data: Buffer | string, isBinary = Buffer.isBuffer(data)) =>
  `${isBinary ? 'binary' : 'text'} ${Buffer.byteLength(data)} ${createHash('sha1').update(data).digest('hex')}`;

/** Message i: even ones 20 KiB of compressible data (text or binary in turn), odd ones a few bytes. */
function message(i: number): string | Buffer {
  if (i % 2 === 1) return `tiny ${i}`;
  const big = compressible(20 * 1024, i);
  return i % 4 === 0 ? big.toString() : big;
}

async function echoServer() {
  const received: string[] = [];
  const sockets = new Queue<WebSocket>();
  const server = await startServer(defer, {
    transport: 'stream' as const,
    perMessageDeflate: true,
    open: (ws) => sockets.push(ws),
    message: (ws, data, isBinary) => {
      received.push(digest(data, isBinary));
      ws.send(data, { binary: isBinary });
    },
  });
  return { server, received, sockets };
}

describe('1,000 messages of alternating sizes through our echo server', () => {
  const expected = Array.from({ length: N }, (_, i) => digest(message(i)));

  it('from a ws client with compression: back in order and intact', async () => {
    const { server, received, sockets } = await echoServer();
    const c = new WsClient(`ws://${HOST}:${server.port}/`, { perMessageDeflate: true });
    defer(() => c.terminate());
    const echoed = new Queue<string>();
    c.on('message', (data: Buffer, isBinary: boolean) => echoed.push(digest(data, isBinary)));
    await withTimeout(new Promise<void>((resolve, reject) => (c.once('open', () => resolve()), c.once('error', reject))));
    expect(c.extensions).toBe('permessage-deflate');
    const ws = await sockets.next();
    const read = socketOf(ws).bytesRead;
    const written = socketOf(ws).bytesWritten;
    for (let i = 0; i < N; i++) c.send(message(i));
    expect(await echoed.take(N, 20_000, 'echoes')).toEqual(expected);
    expect(received).toEqual(expected);
    // Compression was in use both ways: 500 × 20 KiB = 10 MiB of payload crossed as far less.
    expect(socketOf(ws).bytesRead - read).toBeLessThan(2 * 1024 * 1024);
    expect(socketOf(ws).bytesWritten - written).toBeLessThan(2 * 1024 * 1024);
  });

  it('from our client with compression: back in order and intact', async () => {
    const { server, received } = await echoServer();
    const echoed = new Queue<string>();
    const ws = await withTimeout(connect(`ws://${HOST}:${server.port}/`, { message: (_ws, data, isBinary) => echoed.push(digest(data, isBinary)) }));
    defer(() => ws.terminate());
    expect(ws.deflate).not.toBeNull();
    for (let i = 0; i < N; i++) ws.send(message(i));
    expect(await echoed.take(N, 20_000, 'echoes')).toEqual(expected);
    expect(received).toEqual(expected);
  });
});
