/**
 * The EventTarget API (addEventListener, removeEventListener, on<event>
 * attributes) and its event objects, compared with ws.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, once } from '../kit/index.js';
import { client, connectedPair, type Impl, messages, sameForAllPairs, sameForBoth, startServer } from './util.js';

afterEach(cleanup);

/** An event object as plain data (its enumerable getters, target as a flag). */
function plain(event: any, socket: any) {
  const out: Record<string, unknown> = {};
  for (const key in event) {
    const value = event[key];
    if (key === 'target') out.target = value === socket ? 'the socket' : value;
    else if (key === 'error') out.error = value ? { name: value.constructor.name, message: value.message, code: value.code } : value;
    else if (Buffer.isBuffer(value)) out[key] = { buffer: value.toString('hex') };
    else out[key] = value;
  }
  return { ...out, constructor: event.constructor.name };
}

describe('EventTarget', () => {
  it('open, message (text as string, binary as Buffer), close events; once; removeEventListener', async () => {
    const trace = await sameForAllPairs(async (serverImpl, clientImpl) => {
      const server = await startServer(serverImpl);
      const next = server.nextConnection();
      const c = client(clientImpl, server.url);
      const seen: unknown[] = [];
      c.addEventListener('open', (e: any) => seen.push(plain(e, c)));
      c.addEventListener('message', (e: any) => seen.push({ once: plain(e, c) }), { once: true });
      const removed = (e: any) => seen.push({ removed: plain(e, c) });
      c.addEventListener('message', removed);
      c.removeEventListener('message', removed);
      const everyMessage = (e: any) => seen.push(plain(e, c));
      c.addEventListener('message', everyMessage);
      c.addEventListener('message', everyMessage); // a duplicate is ignored
      c.addEventListener('close', (e: any) => seen.push(plain(e, c)));
      c.addEventListener('not-an-event', () => seen.push('never'));
      const counts = { message: c.listenerCount('message'), other: c.listenerCount('not-an-event') };
      const [s] = await next;
      s.send('text');
      s.send(Buffer.from([1, 2]));
      await messages(c, 2);
      s.close(4321, 'the reason');
      await once(c, 'close');
      return { seen, counts };
    });
    expect(trace.seen[0]).toEqual({ type: 'open', target: 'the socket', constructor: 'Event' });
    expect(trace.seen.at(-1)).toEqual({ type: 'close', target: 'the socket', code: 4321, reason: 'the reason', wasClean: true, constructor: 'CloseEvent' });
  });

  it('handleEvent objects are called with themselves as this', async () => {
    await sameForAllPairs(async (serverImpl, clientImpl) => {
      const server = await startServer(serverImpl);
      const { c, s } = await connectedPair(server, clientImpl);
      const calls: unknown[] = [];
      const listener = {
        name: 'handler object',
        handleEvent(this: { name: string }, e: any) {
          calls.push({ self: this.name, type: e.type, data: e.data });
        },
      };
      c.addEventListener('message', listener);
      s.send('hi');
      await once(c, 'message');
      c.removeEventListener('message', listener);
      s.send('again');
      await once(c, 'message');
      return calls;
    });
  });

  it('on<event> attributes: set, get, replace, clear; they coexist with addEventListener', async () => {
    const trace = await sameForAllPairs(async (serverImpl, clientImpl) => {
      const server = await startServer(serverImpl);
      const next = server.nextConnection();
      const c = client(clientImpl, server.url);
      const seen: string[] = [];
      const first = (e: any) => seen.push(`first ${e.type}`);
      const second = (e: any) => seen.push(`second ${e.data}`);
      const initial = [c.onopen, c.onmessage, c.onclose, c.onerror];
      c.onopen = (e: any) => seen.push(`onopen ${e.type}`);
      c.onmessage = first;
      const got = c.onmessage === first;
      c.onmessage = second;
      const replaced = c.onmessage === second && c.listenerCount('message') === 1;
      c.addEventListener('message', second); // not the attribute's listener: added
      c.onclose = (e: any) => seen.push(`onclose ${e.code} ${e.reason} ${e.wasClean}`);
      c.onerror = 'not a function';
      const [s] = await next;
      await new Promise<void>((resolve) => (c.readyState === 1 ? resolve() : c.once('open', resolve)));
      s.send('m');
      await once(c, 'message');
      c.onmessage = null;
      const cleared = [c.onmessage, c.listenerCount('message')];
      c.close(1000, 'done');
      await once(c, 'close');
      return { initial, got, replaced, cleared, onerror: c.onerror, seen };
    });
    expect(trace.seen).toEqual(['onopen open', 'second m', 'second m', 'onclose 1000 done true']);
  });

  it('error events carry error and message', async () => {
    const trace = await sameForBoth(async (impl: Impl) => {
      const server = await startServer(impl, { verifyClient: () => false });
      const c = client(impl, server.url);
      const seen: unknown[] = [];
      c.onerror = (e: any) => seen.push(plain(e, c));
      c.onclose = (e: any) => seen.push(plain(e, c));
      await once(c, 'close');
      return seen;
    });
    expect(trace[0]).toMatchObject({ type: 'error', message: 'Unexpected server response: 401', constructor: 'ErrorEvent' });
    expect(trace[1]).toMatchObject({ type: 'close', code: 1006, wasClean: false });
  });
});
