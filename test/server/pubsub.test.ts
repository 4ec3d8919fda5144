/** Topics: subscribe bookkeeping, server.publish, ws.publish (sender excluded), counts, cleanup on close. */
import { describe, expect, it } from 'vitest';
import { type Server, type WebSocket } from '../../src/index.js';
import { deferred, HOST, type OpenClient, Queue, startServer, useCleanup, withTimeout, wsConnect } from '../kit/index.js';

const defer = useCleanup();

/**
 * Clients drive their connection with text commands: "sub:<topic>",
 * "unsub:<topic>", "pub:<topic>:<text>" (ws.publish) and "mark" (a direct
 * reply). Every command is answered directly, so a client knows the server
 * has done it; and since one connection's frames stay in order, a message
 * published before a direct reply is received before it.
 */
async function pubsubServer() {
  const closes = new Queue<WebSocket>();
  const sockets: WebSocket[] = [];
  const server: Server = await startServer(defer, {
    open: (ws) => sockets.push(ws),
    message: (ws, data) => {
      const text = data.toString();
      const [cmd, topic, ...rest] = text.split(':');
      if (cmd === 'sub') ws.send(`sub ${ws.subscribe(topic!)}`);
      else if (cmd === 'unsub') ws.send(`unsub ${ws.unsubscribe(topic!)}`);
      else if (cmd === 'pub') ws.send(`pub ${ws.publish(topic!, rest.join(':'))}`);
      else if (cmd === 'is') ws.send(`is ${ws.isSubscribed(topic!)}`);
      else if (cmd === 'mark') ws.send('mark');
    },
    close: (ws) => closes.push(ws),
  });
  const clients: OpenClient[] = [];
  const add = async () => {
    const c = await wsConnect(defer, `ws://${HOST}:${server.port}/`);
    clients.push(c);
    return c;
  };
  /** Sends a command and returns the direct answer, with everything received before it. */
  const ask = async (c: OpenClient, command: string): Promise<{ answer: string; before: string[] }> => {
    c.client.send(command);
    const before: string[] = [];
    for (let i = 0; i < 100; i++) {
      const m = (await c.messages.next()).data.toString();
      const expected = command === 'mark' ? 'mark' : `${command.split(':')[0]} `;
      if (m.startsWith(expected)) return { answer: m, before };
      before.push(m);
    }
    throw new Error('no answer');
  };
  return { server, clients, sockets, add, ask, closes };
}

describe('subscriptions', () => {
  it('subscribe / isSubscribed / unsubscribe report what changed', async () => {
    const p = await pubsubServer();
    const c = await p.add();
    expect((await p.ask(c, 'is:a')).answer).toBe('is false');
    expect((await p.ask(c, 'sub:a')).answer).toBe('sub true');
    expect((await p.ask(c, 'sub:a')).answer).toBe('sub false');
    expect((await p.ask(c, 'sub:b')).answer).toBe('sub true');
    expect((await p.ask(c, 'is:a')).answer).toBe('is true');
    expect(p.sockets[0]!.subscriptions.sort()).toEqual(['a', 'b']);
    expect(p.server.subscribers('a')).toBe(1);
    expect((await p.ask(c, 'unsub:a')).answer).toBe('unsub true');
    expect((await p.ask(c, 'unsub:a')).answer).toBe('unsub false');
    expect((await p.ask(c, 'unsub:never')).answer).toBe('unsub false');
    expect((await p.ask(c, 'is:a')).answer).toBe('is false');
    expect(p.server.subscribers('a')).toBe(0);
    expect(p.server.subscribers('b')).toBe(1);
    expect(p.sockets[0]!.subscriptions).toEqual(['b']);
  });

  it('a topic that is not a string throws a TypeError with code ERR_INVALID_ARG_TYPE, and nothing is subscribed', async () => {
    const opened = deferred<WebSocket>();
    const server = await startServer(defer, { open: (ws: WebSocket) => opened.resolve(ws) });
    await wsConnect(defer, `ws://${HOST}:${server.port}/`);
    const ws = await opened.promise;
    for (const topic of [undefined, null, 42, Symbol('t'), { toString: () => 'a' }]) {
      for (const call of [
        () => ws.subscribe(topic as string),
        () => ws.unsubscribe(topic as string),
        () => ws.publish(topic as string, 'x'),
        () => server.publish(topic as string, 'x'),
      ]) {
        expect(call).toThrow(expect.objectContaining({ name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' }));
      }
    }
    expect(ws.subscriptions).toEqual([]);
  });
});

describe('publishing', () => {
  it('server.publish reaches exactly the subscribers (3 of 5)', async () => {
    const p = await pubsubServer();
    for (let i = 0; i < 5; i++) await p.add();
    for (const i of [0, 2, 4]) await p.ask(p.clients[i]!, 'sub:news');
    expect(p.server.subscribers('news')).toBe(3);
    expect(p.server.publish('news', 'headline')).toBe(3);
    expect(p.server.publish('news', Buffer.from([1, 2]))).toBe(3);
    for (let i = 0; i < 5; i++) {
      const { before } = await p.ask(p.clients[i]!, 'mark');
      expect(before, `client ${i}`).toEqual(i % 2 === 0 ? ['headline', '\u0001\u0002'] : []);
    }
  });

  it('after unsubscribes from the middle, the start and the end of a topic, publish reaches exactly those left, once each', async () => {
    const p = await pubsubServer();
    for (let i = 0; i < 8; i++) await p.add();
    for (let i = 0; i < 8; i++) await p.ask(p.clients[i]!, 'sub:news');
    for (const i of [3, 0, 7, 4]) expect((await p.ask(p.clients[i]!, 'unsub:news')).answer).toBe('unsub true');
    await p.ask(p.clients[0]!, 'sub:news');
    expect(p.server.subscribers('news')).toBe(5);
    expect(p.server.publish('news', 'one')).toBe(5);
    expect(p.server.publish('news', 'two')).toBe(5);
    for (let i = 0; i < 8; i++) {
      const { before } = await p.ask(p.clients[i]!, 'mark');
      expect(before, `client ${i}`).toEqual([0, 1, 2, 5, 6].includes(i) ? ['one', 'two'] : []);
    }
  });

  it('published messages keep their type (text or binary)', async () => {
    const p = await pubsubServer();
    const c = await p.add();
    await p.ask(c, 'sub:t');
    p.server.publish('t', 'text');
    p.server.publish('t', Buffer.from('bin'));
    p.server.publish('t', 'forced', { binary: true });
    const got = await c.messages.take(3);
    expect(got.map((m) => [m.data.toString(), m.isBinary])).toEqual([
      ['text', false],
      ['bin', true],
      ['forced', true],
    ]);
  });

  it('ws.publish reaches the other subscribers but not the sender', async () => {
    const p = await pubsubServer();
    for (let i = 0; i < 4; i++) await p.add();
    for (const i of [0, 1, 2]) await p.ask(p.clients[i]!, 'sub:room');
    const { answer, before } = await p.ask(p.clients[0]!, 'pub:room:hi: all');
    expect(answer).toBe('pub 2');
    expect(before).toEqual([]);
    expect((await p.ask(p.clients[0]!, 'mark')).before).toEqual([]);
    expect((await p.ask(p.clients[1]!, 'mark')).before).toEqual(['hi: all']);
    expect((await p.ask(p.clients[2]!, 'mark')).before).toEqual(['hi: all']);
    expect((await p.ask(p.clients[3]!, 'mark')).before).toEqual([]);
  });

  it('a connection that is not subscribed may publish to a topic', async () => {
    const p = await pubsubServer();
    const [a, b] = [await p.add(), await p.add()];
    await p.ask(b, 'sub:x');
    expect((await p.ask(a, 'pub:x:from outside')).answer).toBe('pub 1');
    expect((await p.ask(b, 'mark')).before).toEqual(['from outside']);
  });

  it('publishing to a topic without subscribers reaches nobody', async () => {
    const p = await pubsubServer();
    await p.add();
    expect(p.server.publish('empty', 'x')).toBe(0);
    expect(p.server.subscribers('empty')).toBe(0);
  });
});

describe('closed connections', () => {
  it('are removed from every topic', async () => {
    const p = await pubsubServer();
    const [a, b, c] = [await p.add(), await p.add(), await p.add()];
    for (const x of [a, b, c]) {
      await p.ask(x, 'sub:one');
      await p.ask(x, 'sub:two');
    }
    expect([p.server.subscribers('one'), p.server.subscribers('two')]).toEqual([3, 3]);
    b.client.close(1000);
    await withTimeout(p.closes.next());
    expect([p.server.subscribers('one'), p.server.subscribers('two')]).toEqual([2, 2]);
    expect(p.sockets[1]!.subscriptions).toEqual([]);
    c.client.terminate();
    await withTimeout(p.closes.next());
    expect(p.server.subscribers('one')).toBe(1);
    expect(p.server.publish('one', 'left')).toBe(1);
    expect((await p.ask(a, 'mark')).before).toEqual(['left']);
  });

  it('a connection publishing from its close callback does not reach itself', async () => {
    const reached = deferred<number>();
    const server = await startServer(defer, {
      open: (ws) => ws.subscribe('t'),
      close: (ws) => reached.resolve(ws.publish('t', 'bye')),
    });
    const a = await wsConnect(defer, `ws://${HOST}:${server.port}/`);
    const b = await wsConnect(defer, `ws://${HOST}:${server.port}/`);
    a.client.close();
    expect(await withTimeout(reached.promise)).toBe(1);
    expect((await b.messages.next()).data.toString()).toBe('bye');
  });
});
