/**
 * RFC 6455 §5.4 on the wire: while a connection sends a fragmented message of
 * its own (`send(data, { fin: false })` … a final `fin: true`), nothing may put
 * a data frame between its fragments: not server.publish (the native direct
 * fan-out, sendFrames, a subscriber's own compressor), not a publish an adapter
 * delivers from elsewhere. Those messages arrive right after the final
 * fragment, counted against maxBackpressure meanwhile. Pings may go between.
 */
import { describe, expect, it } from 'vitest';
import { type PubSubAdapter, type ServeOptions, type WebSocket } from '../../src/index.js';
import { expectedTransport, Queue, type RawClient, rawConnect, startServer, useCleanup, withTimeout } from '../kit/index.js';

const defer = useCleanup();

const CARRIERS = {
  default: {},
  stream: { transport: 'stream' as const },
  'own compressor': { perMessageDeflate: { serverNoContextTakeover: false, threshold: 0 } },
};

async function subscribed(options: ServeOptions = {}, deflate = false) {
  const opened = new Queue<WebSocket>('open');
  let deliver: ((topic: string, data: Buffer, binary: boolean) => void) | null = null;
  const adapter: PubSubAdapter = { start: (d) => void (deliver = d), publish: () => {}, close: () => {} };
  const server = await startServer(defer, {
    ...options,
    adapter,
    open: (ws) => {
      ws.subscribe('t');
      opened.push(ws);
    },
  });
  const raw = await rawConnect(defer, server.port, deflate ? { headers: { 'Sec-WebSocket-Extensions': 'permessage-deflate' } } : {});
  const ws = await withTimeout(opened.next());
  return { server, raw, ws, deliver: (text: string) => deliver!('t', Buffer.from(text), false) };
}

/** The frames received, as [opcode, fin, payload] (a compressed payload as '<deflated>'). */
function wire(raw: RawClient): [number, boolean, string][] {
  return raw.frames.items.map((f) => [f.opcode, f.fin, f.rsv1 ? '<deflated>' : f.payload.toString()]);
}

const received = (raw: RawClient, n: number, label: string) => raw.waitFor(() => raw.frames.items.length >= n, 5000, label);

describe('a publish while the subscriber sends a fragmented message', () => {
  for (const [carrier, options] of Object.entries(CARRIERS)) {
    for (const source of ['server.publish', 'an adapter delivery'] as const) {
      it(`${carrier}, ${source}: arrives after the final fragment; only the ping goes between`, async () => {
        const deflate = carrier === 'own compressor';
        const s = await subscribed(options, deflate);
        if (carrier === 'default') expect(s.ws.transport).toBe(expectedTransport);
        const publish = (text: string) => (source === 'server.publish' ? expect(s.server.publish('t', text)).toBe(1) : s.deliver(text));

        s.ws.send('a', { fin: false });
        await received(s.raw, 1, 'first fragment');
        // A later tick, nothing of its own queued: on the native transport the direct fan-out would take it.
        publish('P');
        s.ws.ping('between');
        await received(s.raw, 2, 'ping');
        s.ws.send('b', { fin: false });
        publish('Q'); // the same tick as a fragment
        s.ws.send('c');
        await received(s.raw, 6, 'the final fragment and both publishes');
        const body = deflate ? '<deflated>' : null;
        expect(wire(s.raw)).toEqual([
          [1, false, 'a'],
          [9, true, 'between'],
          [0, false, 'b'],
          [0, true, 'c'],
          [1, true, body ?? 'P'],
          [1, true, body ?? 'Q'],
        ]);
      });
    }
  }

  it('waits counted in bufferedAmount: a publish over maxBackpressure meanwhile is missed, the final fragment is not', async () => {
    const s = await subscribed({ maxBackpressure: 1024 });
    s.ws.send('a', { fin: false });
    await received(s.raw, 1, 'first fragment');
    expect(s.server.publish('t', 'x'.repeat(2000))).toBe(1);
    expect(s.ws.bufferedAmount).toBeGreaterThanOrEqual(2000);
    expect(s.server.publish('t', 'missed')).toBe(0);
    // The final fragment is ours: what waits for it must not refuse it (they could never leave).
    expect(s.ws.send('end')).toBeTruthy();
    await received(s.raw, 3, 'final fragment and the publish');
    expect(wire(s.raw).map(([opcode, fin, payload]) => [opcode, fin, payload.length])).toEqual([
      [1, false, 1],
      [0, true, 3],
      [1, true, 2000],
    ]);
    expect(s.ws.send('after')).toBeTruthy();
    await received(s.raw, 4, 'a send after');
    expect(wire(s.raw).at(-1)).toEqual([1, true, 'after']);
  });

  it('is dropped when the connection closes before the final fragment: no data frame follows the close frame', async () => {
    const s = await subscribed();
    s.ws.send('a', { fin: false });
    await received(s.raw, 1, 'first fragment');
    s.server.publish('t', 'P');
    s.ws.close(1000);
    await s.raw.closeCode();
    s.raw.sendClose(1000);
    await withTimeout(s.raw.ended, 5000, 'server ends');
    expect(wire(s.raw).map(([opcode]) => opcode)).toEqual([1, 8]);
  });
});
