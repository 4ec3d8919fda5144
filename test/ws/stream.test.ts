/**
 * createWebSocketStream, compared with ws: a Duplex whose writes are
 * messages and whose reads are the messages received; end() closes,
 * destroy() terminates, errors destroy the stream.
 */
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, once, withTimeout } from '../kit/index.js';
import { client, connectedPair, record, sameForAllPairs, startServer } from './util.js';

afterEach(cleanup);

describe('createWebSocketStream', () => {
  it('pipes chunks through an echo server and ends when the stream ends', async () => {
    const trace = await sameForAllPairs(async (serverImpl, clientImpl) => {
      const server = await startServer(serverImpl);
      server.wss.on('connection', (s: any) => {
        const duplex = serverImpl.createWebSocketStream(s);
        duplex.on('error', () => {});
        duplex.pipe(duplex); // echo, as a stream
      });
      const c = client(clientImpl, server.url);
      const rec = record(c);
      const duplex = clientImpl.createWebSocketStream(c); // created while CONNECTING: writes wait for open
      const received: string[] = [];
      const sink = new Writable({
        write(chunk, _enc, cb) {
          received.push(chunk.toString());
          // Every chunk is back: end the stream (which closes the WebSocket).
          if (received.join('').length === 'abcdefghi'.length) duplex.end();
          cb();
        },
      });
      duplex.pipe(sink);
      const writes: string[] = [];
      for (const chunk of ['abc', 'def', 'ghi']) duplex.write(chunk, (err?: Error | null) => writes.push(`${chunk} ${err ?? 'written'}`));
      await withTimeout(Promise.all([once(sink, 'finish'), rec.closed, once(duplex, 'close')]), 5000, 'stream');
      return {
        received: received.join(''),
        writes,
        closeEvents: rec.events.filter((e) => e.event === 'close'),
        readableEnded: duplex.readableEnded,
        destroyed: duplex.destroyed,
      };
    });
    expect(trace.received).toBe('abcdefghi');
  });

  it('readableObjectMode gives text messages as strings', async () => {
    await sameForAllPairs(async (serverImpl, clientImpl) => {
      const server = await startServer(serverImpl);
      const { c, s } = await connectedPair(server, clientImpl);
      const duplex = clientImpl.createWebSocketStream(c, { readableObjectMode: true });
      const chunks: unknown[] = [];
      duplex.on('data', (chunk: unknown) => chunks.push(typeof chunk === 'string' ? `string ${chunk}` : `buffer ${(chunk as Buffer).toString('hex')}`));
      s.send('text');
      s.send(Buffer.from([7]));
      await new Promise<void>((resolve) => duplex.on('data', () => chunks.length === 2 && resolve()));
      return chunks;
    });
  });

  it('destroy() terminates the connection (1006 on the peer); a peer close ends the stream', async () => {
    await sameForAllPairs(async (serverImpl, clientImpl) => {
      const server = await startServer(serverImpl);
      const a = await connectedPair(server, clientImpl);
      const sRec = record(a.s);
      const duplex = clientImpl.createWebSocketStream(a.c);
      const closed = once(duplex, 'close');
      duplex.destroy();
      await Promise.all([closed, sRec.closed]);

      const b = await connectedPair(server, clientImpl);
      const other = clientImpl.createWebSocketStream(b.c);
      other.resume();
      const ended = once(other, 'end');
      b.s.close(1000);
      await ended;
      return { peer: sRec.events, destroyed: duplex.destroyed, readyState: a.c.readyState };
    });
  });

  it('a protocol error destroys the stream with the error', async () => {
    const trace = await sameForAllPairs(async (serverImpl, clientImpl) => {
      const server = await startServer(serverImpl, { maxPayload: 5 });
      const { c, s } = await connectedPair(server, clientImpl);
      const duplex = serverImpl.createWebSocketStream(s);
      const failed = once(duplex, 'error');
      const closed = once(duplex, 'close');
      c.send('too long');
      const [e] = await failed;
      await closed;
      const error = { code: e.code, message: e.message };
      return { error, destroyed: duplex.destroyed };
    });
    expect(trace.error.code).toBe('WS_ERR_UNSUPPORTED_MESSAGE_LENGTH');
  });
});
